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
from typing import TYPE_CHECKING, cast

from repprofile._errors import InputError

if TYPE_CHECKING:
    from repprofile._formats.questionnaire import Questionnaire, ResponseScale, SjtItem

__all__ = ["TEMPLATE_FORMATS", "answer_template"]

TEMPLATE_FORMATS: tuple[str, ...] = ("csv", "md", "html", "mapping")


def _choices(q: Questionnaire) -> list[str] | None:
    """The answer options to tick, or None when the answer is a number to write in."""
    return _scale_choices(q.response_scale)


def _scale_choices(rs: ResponseScale) -> list[str] | None:
    """The answer options of a response scale to tick, or None (a number to write in)."""
    if not rs.integers or rs.max - rs.min > 10:
        return None
    values = range(rs.min, rs.max + 1)
    if all(v in rs.labels for v in values):
        return [rs.labels[v] for v in values]
    return [f"{v} ({rs.labels[v]})" if v in rs.labels else str(v) for v in values]


MOST, LEAST, BEST = "Most effective", "Least effective", "Best response"
"""The labels of the most / least / best picks (the grid rows of a survey tool)."""

_SJT_ASK = {
    "rate": "Rate how effective each response would be.",
    "most_least": "Pick the most effective and the least effective response.",
    "best": "Pick the best response.",
}


def _is_sjt(item: object) -> bool:
    return getattr(item, "kind", None) == "sjt"


def _default_instructions(q: Questionnaire) -> str:
    if q.has_sjt and not q.likert_items:
        return (
            "Each scenario describes a situation at work and possible responses. "
            "Judge the responses as each scenario asks."
        )
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
        if _is_sjt(item):
            lines += _sjt_md(q, cast("SjtItem", item), indent)
            continue
        if choices is None:
            lines.append(f"{indent}Answer ({_md(rs.describe())}): __________")
        else:
            lines += [f"{indent}- [ ] {_md(c)}" for c in choices]
        lines.append("")
    lines += ["---", "", _md(f"{q.title}, {q.id} version {q.version}"), ""]
    return "\n".join(lines)


def _sjt_md(q: Questionnaire, item: SjtItem, indent: str) -> list[str]:
    """A scenario's responses in the Markdown form: each with the rating choices
    (``rate``), or the responses to tick as most / least effective or best."""
    lines = [f"{indent}{_md(_SJT_ASK[item.response_format])}", ""]
    if item.response_format == "rate":
        rs = q.sjt_response_scale
        assert rs is not None  # an SJT item has a rating scale
        choices = _scale_choices(rs)
        for letter, opt in zip(_letters(), item.options, strict=False):
            lines.append(f"{indent}{letter}) {_md(opt.text)}")
            if choices is None:
                lines.append(f"{indent}   Rating ({_md(rs.describe())}): __________")
            else:
                lines.append(f"{indent}   " + "  ".join(f"[ ] {_md(c)}" for c in choices))
            lines.append("")
        return lines
    picks = [MOST, LEAST] if item.response_format == "most_least" else [BEST]
    for letter, opt in zip(_letters(), item.options, strict=False):
        ticks = "  ".join(f"[ ] {p.split()[0].lower()}" for p in picks)
        lines.append(f"{indent}{letter}) {_md(opt.text)}  {ticks}")
    lines.append("")
    return lines


def _letters() -> list[str]:
    return list("ABCDEFGH")


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
    width = 1 + (1 if choices is None else len(choices))
    for n, item in enumerate(q.items, start=1):
        if _is_sjt(item):
            out += _sjt_html(q, cast("SjtItem", item), n, width)
            continue
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


def _sjt_html(q: Questionnaire, item: SjtItem, n: int, width: int) -> list[str]:
    """A scenario in the HTML form: the scenario row, then one row per response with
    its rating radio buttons (``rate``) or most / least / best radio buttons."""
    e = html.escape
    out = [
        f'<tr><td class="n">{n}</td><td colspan="{width}"><strong>{e(item.scenario)}</strong>'
        f"<br><em>{e(_SJT_ASK[item.response_format])}</em></td></tr>"
    ]
    if item.response_format == "rate":
        rs = q.sjt_response_scale
        assert rs is not None
        choices = _scale_choices(rs)
        for letter, opt in zip(_letters(), item.options, strict=False):
            if choices is None:
                answer = f"Rating ({e(rs.describe())}): ________"
            else:
                answer = " ".join(
                    f'<label><input type="radio" name="q{n}{opt.id}" value="{v}"> {e(c)}</label>'
                    for v, c in zip(range(rs.min, rs.max + 1), choices, strict=True)
                )
            out.append(
                f'<tr><td class="n">{letter}</td><td>{e(opt.text)}</td>'
                f'<td colspan="{max(width - 1, 1)}">{answer}</td></tr>'
            )
        return out
    picks = [MOST, LEAST] if item.response_format == "most_least" else [BEST]
    for letter, opt in zip(_letters(), item.options, strict=False):
        answer = " ".join(
            f'<label><input type="radio" name="q{n}{p.split()[0].lower()}" value="{e(opt.id)}">'
            f" {e(p)}</label>"
            for p in picks
        )
        out.append(
            f'<tr><td class="n">{letter}</td><td>{e(opt.text)}</td>'
            f'<td colspan="{max(width - 1, 1)}">{answer}</td></tr>'
        )
    return out


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
    labels = dict(sorted(rs.labels.items())) if q.likert_items else {}
    srs = q.sjt_response_scale
    if srs is not None and any(i.response_format == "rate" for i in q.sjt_items):
        taken = set(labels.values())
        for v, label in sorted(srs.labels.items()):
            if label in taken and labels.get(v) != label:
                out.append(f"# CHECK: SJT rating label {_yaml_string(label)} = {v} clashes")
            elif label not in taken:
                labels[v] = label
    if labels:
        out.append("labels:")
        out += [f"  {_yaml_string(label)}: {v}" for v, label in labels.items()]
    else:
        out.append("labels: {}")
    out.append("# The column header (the question text as the survey shows it): the item id.")
    if q.has_sjt:
        out.append("# SJT scenarios are grid questions: Google Forms and Microsoft Forms export a")
        out.append("# grid as one column per row, headed 'Scenario text [Row text]' (rows: the")
        out.append("# responses to rate, or Most effective / Least effective).")
    out.append("items:")
    for item in q.items:
        if not _is_sjt(item):
            out.append(f"  {_yaml_string(item.text)}: {_yaml_string(item.id)}")
            continue
        sjt = cast("SjtItem", item)
        stem = " ".join(sjt.scenario.split())
        if sjt.response_format == "rate":
            heads = [f"{stem} [{' '.join(o.text.split())}]" for o in sjt.options]
        elif sjt.response_format == "most_least":
            heads = [f"{stem} [{MOST}]", f"{stem} [{LEAST}]"]
        else:
            heads = [stem]
        out += [
            f"  {_yaml_string(h)}: {_yaml_string(c)}"
            for h, c in zip(heads, sjt.columns, strict=True)
        ]
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
