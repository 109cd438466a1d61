"""Answer templates of a questionnaire: a blank answers file or a printable form.

:func:`answer_template` (``repprofile questionnaire template``) writes a blank wide-CSV
answer file (``candidate_id`` and one column per item id, in item order), or a printable
form in Markdown or self-contained HTML: title, instructions, the items numbered in
presentation order with the response labels as check boxes. Attention and infrequency
items appear as ordinary items, never marked, and no item id or scale is shown.

Only the standard library and the exception types are imported at module level (the
CLI takes the template formats from here at start-up).
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from typing import TYPE_CHECKING

from repprofile._errors import InputError

if TYPE_CHECKING:
    from repprofile._formats.questionnaire import Questionnaire

__all__ = ["TEMPLATE_FORMATS", "answer_template"]

TEMPLATE_FORMATS: tuple[str, ...] = ("csv", "md", "html", "mapping")


def _choices(q: Questionnaire) -> list[str] | None:
    """The answer options to tick, or None when the answer is a number to write in."""
    rs = q.response_scale
    if not rs.integers or rs.max - rs.min > 10:
        return None
    values = range(rs.min, rs.max + 1)
    if all(v in rs.labels for v in values):
        return [rs.labels[v] for v in values]
    return [f"{v} ({rs.labels[v]})" if v in rs.labels else str(v) for v in values]


def _default_instructions(q: Questionnaire) -> str:
    if _choices(q) is None:
        rs = q.response_scale
        return f"For each statement, write {rs.describe()} that shows how well it describes you."
    return "For each statement, tick the one answer that shows how well it describes you."


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def _md(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _template_csv(q: Questionnaire) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(["candidate_id", *q.item_ids])
    return buf.getvalue()


def _template_md(q: Questionnaire) -> str:
    choices = _choices(q)
    rs = q.response_scale
    lines = [f"# {_md(q.title)}", "", _md(q.instructions or _default_instructions(q)), ""]
    lines += ["Name or candidate ID: ______________________________", ""]
    lines += ["Date: ____________________", ""]
    for n, item in enumerate(q.items, start=1):
        marker = f"{n}. "
        indent = " " * len(marker)
        lines.append(marker + _md(item.text))
        lines.append("")
        if choices is None:
            lines.append(f"{indent}Answer ({_md(rs.describe())}): __________")
        else:
            lines += [f"{indent}- [ ] {_md(c)}" for c in choices]
        lines.append("")
    lines += ["---", "", _md(f"{q.title}, {q.id} version {q.version}"), ""]
    return "\n".join(lines)


_CSS = """\
body { font-family: Georgia, "Times New Roman", serif; max-width: 60em; margin: 2em auto;
  padding: 0 1em; color: #000; background: #fff; line-height: 1.4; }
h1 { font-size: 1.5em; margin-bottom: 0.5em; }
.fields { display: flex; gap: 3em; margin: 1.5em 0; }
.fields span { display: inline-block; min-width: 14em; border-bottom: 1px solid #000; }
table { border-collapse: collapse; width: 100%; }
thead { display: table-header-group; }
th, td { border: 1px solid #888; padding: 0.4em; vertical-align: middle; }
th { font-size: 0.85em; font-weight: normal; }
td.n { text-align: right; width: 2em; }
td.c { text-align: center; width: 6em; }
td.w { width: 12em; }
tr { page-break-inside: avoid; break-inside: avoid; }
input { width: 1.1em; height: 1.1em; margin: 0; }
footer { margin-top: 1.5em; font-size: 0.8em; color: #444; }
@page { margin: 15mm; }
@media print { body { margin: 0; max-width: none; } }
"""


def _template_html(q: Questionnaire) -> str:
    e = html.escape
    choices = _choices(q)
    rs = q.response_scale
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(q.title)}</title>",
        f"<style>\n{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{e(q.title)}</h1>",
        f"<p>{e(q.instructions or _default_instructions(q))}</p>",
        '<p class="fields"><label>Name or candidate ID: <span></span></label>'
        "<label>Date: <span></span></label></p>",
        "<form>",
        "<table>",
        "<thead><tr><th>#</th><th>Statement</th>",
    ]
    if choices is None:
        out.append(f"<th>Answer ({e(rs.describe())})</th>")
    else:
        out += [f"<th>{e(c)}</th>" for c in choices]
    out.append("</tr></thead>")
    out.append("<tbody>")
    for n, item in enumerate(q.items, start=1):
        cells = [f'<tr><td class="n">{n}</td><td>{e(item.text)}</td>']
        if choices is None:
            cells.append('<td class="w"></td>')
        else:
            for v, c in zip(range(rs.min, rs.max + 1), choices, strict=True):
                cells.append(
                    f'<td class="c"><input type="radio" name="q{n}" value="{v}" '
                    f'aria-label="{e(c)}"></td>'
                )
        cells.append("</tr>")
        out.append("".join(cells))
    out += [
        "</tbody>",
        "</table>",
        "</form>",
        f"<footer>{e(q.title)}, {e(q.id)} version {e(q.version)}</footer>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(out)


def _yaml_string(text: str) -> str:
    """``text`` as a YAML double-quoted scalar (a JSON string is one)."""
    return json.dumps(" ".join(text.split()), ensure_ascii=False)


def _template_mapping(q: Questionnaire) -> str:
    """A survey mapping skeleton: every item's text, as a survey tool would use it for
    the column header, mapped to its id; the labels of the response scale; placeholders
    for the id column and the columns to ignore, with what to check."""
    rs = q.response_scale
    out = [
        f"# Survey mapping for {q.id} version {q.version} ({' '.join(q.title.split())}).",
        "# Made by `repprofile questionnaire template "
        f"{q.id} --format mapping`; docs/answers-input.md.",
        "# Before use, check the three places marked CHECK against the export's header row.",
        f"questionnaire: {_yaml_string(q.id)}",
        "# generic (one header row, e.g. Google Forms, Microsoft Forms, Typeform),",
        "# surveymonkey (two header rows) or qualtrics (three header rows).",
        "format: generic",
        "# CHECK: the header of the column that holds each candidate's id.",
        'candidate_id: "Email Address"',
        "# CHECK: every other column that is not an item (timestamps, names, comments).",
        "ignore:",
        '  - "Timestamp"',
    ]
    out.append("# CHECK: the answer labels exactly as the survey shows them, with their numbers.")
    if rs.labels:
        out.append("labels:")
        out += [f"  {_yaml_string(label)}: {v}" for v, label in sorted(rs.labels.items())]
    else:
        out.append("labels: {}")
    out.append("# The column header (the question text as the survey shows it): the item id.")
    out.append("items:")
    out += [f"  {_yaml_string(item.text)}: {_yaml_string(item.id)}" for item in q.items]
    out.append("")
    return "\n".join(out)


def answer_template(questionnaire: Questionnaire, fmt: str = "csv") -> str:
    """A blank answer template: ``csv`` (wide answers file), ``md`` or ``html`` (forms),
    or ``mapping`` (a survey mapping skeleton with every item's text, for
    :func:`~repprofile.read_survey` and ``--mapping``).

    The CSV header is ``candidate_id`` and the item ids in item order, ready to fill and
    read with :func:`~repprofile.read_answers`. The Markdown and HTML forms show the
    title, the instructions and the items numbered in the same order (question N is
    column N + 1 of the CSV) with the answer labels as check boxes; they name no item
    id or scale and mark no attention item. The HTML is one self-contained file.
    """
    if fmt == "csv":
        return _template_csv(questionnaire)
    if fmt == "md":
        return _template_md(questionnaire)
    if fmt == "html":
        return _template_html(questionnaire)
    if fmt == "mapping":
        return _template_mapping(questionnaire)
    raise InputError(
        f"The 'fmt' parameter of answer_template must be one of "
        f"{', '.join(TEMPLATE_FORMATS)}, got {fmt!r} instead."
    )
