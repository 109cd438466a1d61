"""One-page candidate reports (PDF via matplotlib, self-contained HTML with inline SVG).

A report is built from a :class:`CandidateReport` model (all the numbers and texts),
so the PDF and the HTML say the same thing and the model can be serialised to JSON.
Interview questions come from a question bank stored as data in
``questionnaires/interview/``, never from code.
"""

from __future__ import annotations

import datetime as _dt
import functools
import html
import io
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, computed_field

from repprofile._analysis.fit import CUT, CUT_MUST, FitResult, _fit
from repprofile._analysis.scoring import ScoreResult
from repprofile._formats.files import bundled_dir, read_yaml, validate_document
from repprofile._formats.role import Role, load_role
from repprofile._rendering.caution import TIED, banner_text, caution_reasons, grey_out
from repprofile._rendering.judgement import JudgementSection, judgement_section
from repprofile._rendering.text import DRAFT_KEY, sjt_provenance
from repprofile._util import finite_or_none
from repprofile._validation import PathWithSuffix, parameter_error, validate_params
from repprofile._version import __version__

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "CandidateReport",
    "Interval",
    "InterviewQuestion",
    "QuestionBank",
    "candidate_report",
    "load_question_bank",
]

_FOOTER = (
    "This report supports, and does not replace, a structured hiring decision. The "
    "questionnaire and role weights are starting points that must be validated locally; "
    "scores carry measurement error ({error}), and a candidate is never to be "
    "rejected on this report alone."
)
FOOTER = _FOOTER.format(error="see the intervals")
"""The disclaimer of a report that shows intervals."""
FOOTER_NO_INTERVALS = _FOOTER.format(
    error="no intervals are shown: the scales' reliabilities are not known"
)
"""The disclaimer of a report that shows no interval (no reliabilities, no norms)."""

Theme = Literal[
    "taking ownership",
    "validating frustration",
    "telling the plan",
    "listening with intention",
    "apologising sincerely",
    "taking action",
    "de-escalation",
]


class InterviewQuestion(BaseModel):
    """A behavioural interview question and the scales it probes when they are low."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9-]+$")
    theme: Theme
    scales: list[str] = Field(min_length=1, max_length=3)
    text: str
    listen_for: str


class QuestionBank(BaseModel):
    """A bank of interview questions (``questionnaires/interview/*.yaml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    version: str
    title: str
    description: str
    questions: list[InterviewQuestion] = Field(min_length=3)


@functools.lru_cache(maxsize=8)
def load_question_bank(path: Path | None = None) -> QuestionBank:
    """The bundled service-recovery question bank, or a bank file in the same format."""
    source = path or bundled_dir() / "interview" / "service-recovery-questions.yaml"
    return validate_document(QuestionBank, read_yaml(source), str(source))


class Interval(BaseModel):
    """An interval as an object (the same numbers as a ``[low, high]`` pair)."""

    model_config = ConfigDict(frozen=True)

    low: float
    high: float


def _bounds(pair: tuple[float, float] | None) -> Interval | None:
    return None if pair is None else Interval(low=pair[0], high=pair[1])


class ScaleLine(BaseModel):
    """One row of the report's score table."""

    model_config = ConfigDict(frozen=True)

    scale: str
    name: str
    pomp: float | None
    percentile: float | None
    interval: tuple[float, float] | None
    interval_metric: Literal["percentile", "pomp"] | None

    @computed_field(  # type: ignore[prop-decorator]
        description="'interval' as an object {low, high}, for clients without tuples."
    )
    @property
    def interval_bounds(self) -> Interval | None:
        return _bounds(self.interval)


class CandidateReport(BaseModel):
    """Everything a candidate report shows (the PDF and HTML render this model)."""

    model_config = ConfigDict(frozen=True)

    candidate_id: str
    date: str | None = Field(
        description=(
            "ISO date on the report: the one asked for; null when none was (the HTTP API "
            "never dates a report by its own clock, so a request gives the same report on "
            "any day)."
        )
    )
    questionnaire: str
    role_id: str
    role_name: str
    norms: str | None
    norms_simulated: bool
    ci_level: float
    scales: list[ScaleLine]
    primary_type: str | None
    secondary_type: str | None
    type_clarity: str | None
    type_tied: bool = False
    fit: float | None
    fit_ci: tuple[float, float] | None
    p_above_cut: float | None
    cut: float
    explanation: str
    meets_minimums: bool
    failed_minimums: list[str]
    quality_valid: bool
    quality_flags: list[str]
    caution: list[str] = Field(
        default=[],
        description="Why these results may not describe the candidate (empty: no caution).",
    )
    questions: list[InterviewQuestion]
    judgement: JudgementSection | None = Field(
        default=None,
        description=(
            "The 'Service recovery judgement' section: competency scores and interview "
            "probes from the SJT scenarios (null without SJT items)."
        ),
    )
    question_bank: str
    footer: str
    provenance: dict[str, Any]

    @computed_field(  # type: ignore[prop-decorator]
        description="'fit_ci' as an object {low, high}, for clients without tuples."
    )
    @property
    def fit_ci_bounds(self) -> Interval | None:
        return _bounds(self.fit_ci)


def choose_questions(
    fit_result: FitResult, row: int, bank: QuestionBank, *, n: int = 4
) -> list[InterviewQuestion]:
    """3-5 questions for the candidate's weakest areas for the role.

    The weakest areas are the role's positively weighted scales, ordered by their
    contribution to the fit (lowest first); questions probing them are taken in bank
    order, one theme at most twice, until ``n`` (3 to 5) are chosen. Deterministic.
    """
    n = min(5, max(3, n))
    contrib = fit_result.contributions[row]
    weights = fit_result.role.weights
    ordered = sorted(
        (c if math.isfinite(c) else -math.inf, s)
        for s, c in zip(fit_result.scale_ids, contrib, strict=True)
        if weights[s] > 0
    )
    weak = [s for _, s in ordered] or list(fit_result.scale_ids)
    chosen: list[InterviewQuestion] = []
    themes: dict[str, int] = {}
    for scale in weak:
        for q in bank.questions:
            if len(chosen) >= n:
                return chosen
            if scale in q.scales and q not in chosen and themes.get(q.theme, 0) < 2:
                chosen.append(q)
                themes[q.theme] = themes.get(q.theme, 0) + 1
                break  # one question per weak area first
    for q in bank.questions:  # then fill up from the weakest areas' remaining questions
        if len(chosen) >= n:
            break
        if q not in chosen and any(s in q.scales for s in weak[:3]):
            chosen.append(q)
    return chosen


_REPORT_PARAMS: dict[str, Sequence[object]] = {
    "scores": [ScoreResult],
    "candidate_id": [str],
    "role": [str, os.PathLike, Role],
    "date": [str, _dt.date, None],
    "cut": CUT,
    "fit_result": [FitResult, None],
}


@validate_params(_REPORT_PARAMS | {"bank": [QuestionBank, None]}, must={"cut": CUT_MUST})
def candidate_report(
    scores: ScoreResult,
    candidate_id: str,
    role: str | Path | Role,
    *,
    date: str | _dt.date | None = None,
    cut: float = 50.0,
    fit_result: FitResult | None = None,
    bank: QuestionBank | None = None,
) -> CandidateReport:
    """Assemble the report model of one candidate for one role.

    Pass ``fit_result`` to reuse a fit computed for many candidates (``--all``): it
    must be ``fit(scores, role)`` for this ``scores`` and this ``role`` (its own cut is
    used), else the report would show one role's fit under another's name.

    Raises
    ------
    UnknownCandidateError
        An unknown or rejected candidate.
    InvalidParameterError
        An argument of the wrong type or value, or a ``fit_result`` for another role
        or another result.
    """
    return _candidate_report(
        scores,
        candidate_id,
        load_role(role, scores.questionnaire),
        date=date,
        cut=cut,
        fit_result=fit_result,
        bank=bank,
        caller="candidate_report",
    )


def _report_fit(
    scores: ScoreResult, role: Role, cut: float, fit_result: FitResult | None, caller: str
) -> FitResult:
    """``fit_result``, when it is the fit of ``scores`` for ``role``; else a new fit."""
    if fit_result is None:
        return _fit(scores, role, cut)
    if fit_result.scores is not scores:
        raise parameter_error(
            caller,
            "fit_result",
            "must be a fit of the 'scores' given",
            fit_result,
            got="a fit of another ScoreResult",
        )
    other = fit_result.role
    if other is not role and other.model_dump() != role.model_dump():
        same_id = " (the same id, other contents)" if other.id == role.id else ""
        raise parameter_error(
            caller,
            "fit_result",
            f"must be the fit for the report's role {role.id!r}",
            fit_result,
            got=f"the fit for role {other.id!r}{same_id}",
            hint=f"Pass fit_result=fit(scores, {role.id!r}), or leave it out.",
        )
    return fit_result


def _candidate_report(
    scores: ScoreResult,
    candidate_id: str,
    role_obj: Role,
    *,
    date: str | _dt.date | None,
    cut: float,
    fit_result: FitResult | None,
    bank: QuestionBank | None,
    caller: str,
) -> CandidateReport:
    """:func:`candidate_report` of a loaded role, without the parameter checks."""
    q = scores.questionnaire
    row = scores._candidate_row(candidate_id)
    fr = _report_fit(scores, role_obj, cut, fit_result, caller)
    profile = next(iter(scores._rows([row])))
    nd = scores.normed
    lo, hi = q.response_scale.min, q.response_scale.max
    lines = []
    for j, s in enumerate(q.scales):
        if s.kind != "trait":
            continue
        if nd.has_norms:
            interval = (nd.percentile_ci_low[row, j], nd.percentile_ci_high[row, j])
            metric: Literal["percentile", "pomp"] = "percentile"
        else:
            interval = tuple(
                float(np.clip(100.0 * (v - lo) / (hi - lo), 0.0, 100.0))
                for v in (nd.ci_low[row, j], nd.ci_high[row, j])
            )  # type: ignore[assignment]
            metric = "pomp"
        known = all(math.isfinite(v) for v in interval)
        lines.append(
            ScaleLine(
                scale=s.id,
                name=s.name,
                pomp=finite_or_none(scores.pomp[row, j]),
                percentile=finite_or_none(nd.percentile[row, j]) if nd.has_norms else None,
                interval=(float(interval[0]), float(interval[1])) if known else None,
                interval_metric=metric if known else None,
            )
        )
    flags = [f["reason"] for f in profile["quality"]["flags"]]
    fit_row = fr.row(row)
    when = date if date is not None else _dt.date.today()
    bank = bank or load_question_bank()
    return CandidateReport(
        candidate_id=candidate_id,
        date=when.isoformat() if isinstance(when, _dt.date) else str(when),
        questionnaire=f"{q.title} ({q.id} {q.version})",
        role_id=role_obj.id,
        role_name=role_obj.name,
        norms=scores.norms.description if scores.norms is not None else None,
        norms_simulated=bool(scores.norms is not None and scores.norms.simulated),
        ci_level=nd.level,
        scales=lines,
        primary_type=profile["primary_type"],
        secondary_type=profile["secondary_type"],
        type_clarity=profile["type_clarity"],
        type_tied=profile["type_tied"],
        fit=fit_row["fit"],
        fit_ci=((fit_row["ci_low"], fit_row["ci_high"]) if fit_row["ci_low"] is not None else None),
        p_above_cut=fit_row["p_above_cut"],
        cut=fr.cut,
        explanation=fit_row["explanation"],
        meets_minimums=fit_row["meets_minimums"],
        failed_minimums=fit_row["failed_minimums"],
        quality_valid=profile["quality"]["valid"],
        quality_flags=flags,
        caution=caution_reasons(
            quality_valid=profile["quality"]["valid"],
            quality_flags=flags,
            type_tied=profile["type_tied"],
        ),
        questions=choose_questions(fr, row, bank),
        judgement=judgement_section(scores, row),
        question_bank=f"{bank.title} ({bank.id} {bank.version})",
        footer=FOOTER
        if fit_row["ci_low"] is not None or any(line.interval for line in lines)
        else FOOTER_NO_INTERVALS,
        provenance=fr.provenance.model_dump(mode="json"),
    )


# --------------------------------------------------------------------------- rendering


def _pct(v: float | None, digits: int = 0) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def _names(report: CandidateReport) -> dict[str, str]:
    return {line.scale: line.name for line in report.scales}


def _summary_lines(report: CandidateReport) -> list[str]:
    names = _names(report)
    primary = TIED if report.type_tied else names.get(report.primary_type or "", "-")
    secondary = TIED if report.type_tied else names.get(report.secondary_type or "", "-")
    clarity = (
        "none (the highest scores tie)"
        if report.type_tied
        else report.type_clarity or "unknown (needs norms and reliabilities)"
    )
    lines = [f"Primary type: {primary}; secondary: {secondary}; type clarity: {clarity}."]
    level = f"{report.ci_level:.0%}"
    if report.fit is None:
        lines.append(f"Fit for {report.role_name}: not available ({report.explanation}).")
    else:
        ci = (
            f" ({level} interval {report.fit_ci[0]:.0f} to {report.fit_ci[1]:.0f})"
            if report.fit_ci is not None
            else " (no interval: reliabilities unknown)"
        )
        p = (
            f"; probability above {report.cut:g}: {report.p_above_cut:.2f}"
            if report.p_above_cut is not None
            else ""
        )
        lines.append(f"Fit for {report.role_name}: {report.fit:.0f} of 100{ci}{p}.")
        lines.append(f"Why: {report.explanation}.")
    if report.meets_minimums:
        lines.append("Minimum scores of the role: met.")
    else:
        failed = ", ".join(names.get(s, s) for s in report.failed_minimums)
        lines.append(f"Minimum scores of the role: NOT met on {failed}.")
    return lines


def to_html(report: CandidateReport, chart_svg: str) -> str:
    """A self-contained HTML page (inline CSS and SVG, no external resources)."""
    e = html.escape
    dated = f"{e(report.date)} &middot; " if report.date is not None else ""
    rows = []
    for line in report.scales:
        interval = (
            f"{line.interval[0]:.0f} to {line.interval[1]:.0f} ({line.interval_metric})"
            if line.interval is not None
            else "-"
        )
        rows.append(
            f"<tr><td>{e(line.name)}</td><td>{_pct(line.pomp)}</td>"
            f"<td>{_pct(line.percentile)}</td><td>{e(interval)}</td></tr>"
        )
    flags = (
        "<p class=ok>No response-quality flags.</p>"
        if report.quality_valid
        else "<ul class=flags>"
        + "".join(f"<li>{e(f)}</li>" for f in report.quality_flags)
        + "</ul>"
    )
    questions = "".join(
        f"<li><b>{e(q.text)}</b><br><span class=theme>{e(q.theme)}</span> "
        f"&middot; listen for: {e(q.listen_for)}</li>"
        for q in report.questions
    )
    norms = (
        f"Norms: {e(report.norms)}" + (" <b>(SIMULATED)</b>" if report.norms_simulated else "")
        if report.norms
        else "No norms applied: scores are POMP (percent of maximum possible)."
    )
    svg_start = chart_svg.find("<svg")
    svg = chart_svg[svg_start:] if svg_start >= 0 else chart_svg
    summary = "".join(f"<p>{e(s)}</p>" for s in _summary_lines(report))
    caution = banner_text(report.caution)
    banner = f'<p class=caution role="alert">{e(caution)}</p>\n' if caution else ""
    prov = report.provenance
    judgement = _judgement_html(report.judgement)
    sjt = e(sjt_provenance(prov))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Candidate report {e(report.candidate_id)}</title>
<style>
body {{ font-family: "DejaVu Sans", Arial, sans-serif; max-width: 48em; margin: 2em auto;
       color: #222; line-height: 1.4; }}
h1 {{ font-size: 1.4em; margin-bottom: 0.2em; }} h2 {{ font-size: 1.1em; margin-top: 1.2em; }}
.meta {{ color: #555; font-size: 0.9em; }} table {{ border-collapse: collapse; }}
td, th {{ border-bottom: 1px solid #ddd; padding: 0.2em 0.8em; text-align: left; }}
.chart svg {{ width: 100%; max-width: 30em; height: auto; }}
.caution {{ border: 2px solid #8a1010; background: #fbe3e3; color: #8a1010;
           font-weight: bold; padding: 0.6em 0.8em; border-radius: 4px; }}
.flags li {{ color: #a33; }} .ok {{ color: #2a7; }} .theme {{ color: #555; font-size: 0.9em; }}
footer {{ margin-top: 2em; border-top: 1px solid #aaa; font-size: 0.85em; color: #444; }}
</style></head><body>
<h1>Candidate report: {e(report.candidate_id)}</h1>
<p class=meta>{dated}{e(report.questionnaire)}
&middot; role: {e(report.role_name)} &middot; {norms}</p>
{banner}<div class=chart>{svg}</div>
<h2>Scores</h2>
<table><tr><th>Scale</th><th>POMP</th><th>Percentile</th>
<th>{report.ci_level:.0%} interval</th></tr>
{"".join(rows)}</table>
<h2>Type and fit</h2>{summary}
<h2>Response quality</h2>{flags}{judgement}
<h2>Interview questions</h2>
<ol>{questions}</ol>
<p class=meta>From: {e(report.question_bank)}</p>
<footer><p>{e(report.footer)}</p>
<p>repprofile {e(str(prov.get("repprofile_version", __version__)))}; questionnaire sha256
{e(str(prov.get("questionnaire_sha256", ""))[:12])}; role {e(report.role_id)}{sjt}.</p></footer>
</body></html>
"""


def _skill_rows(section: JudgementSection) -> list[tuple[str, str, str]]:
    """Name, POMP and scenarios answered of each competency (the total last)."""
    return [
        (
            line.name + (" (total)" if line.total and "total" not in line.name.lower() else ""),
            _pct(line.pomp),
            f"{line.n_answered} of {line.n_scenarios}",
        )
        for line in section.skills
    ]


def _judgement_notes(section: JudgementSection) -> list[str]:
    """What the judgement scores are, the key, and the draft caution (first)."""
    notes = []
    if section.key_draft:
        notes.append(f"CAUTION: {DRAFT_KEY}. " + (section.key_note or ""))
    notes.append(
        "Skill scores (0-100) from situational judgment scenarios, scored by the "
        f"{section.method} method against the key (docs/sjt.md)."
    )
    return [n.strip() for n in notes]


def _judgement_html(section: JudgementSection | None) -> str:
    """The judgement section of the HTML report (empty without SJT items)."""
    if section is None:
        return ""
    e = html.escape
    notes = _judgement_notes(section)
    draft = f'<p class=caution role="note">{e(notes.pop(0))}</p>\n' if section.key_draft else ""
    rows = "".join(
        f"<tr><td>{e(n)}</td><td>{p}</td><td>{e(a)}</td></tr>" for n, p, a in _skill_rows(section)
    )
    probes = "".join(
        '<li style="margin: 0.4em 0 0.8em 0">'
        f"<b>{e(p.competency_name)}</b>: {e(p.scenario)}<br>"
        f"Candidate's choice: {e(p.chosen_text or 'no answer')}<br>"
        f"Keyed best: {e(p.keyed_text)}<br><i>{e(p.ask)}</i></li>"
        for p in section.probes
    )
    heading = (
        '<h3 style="font-size: 1em">Interview probes (weakest competencies)</h3>' if probes else ""
    )
    return (
        f"\n<h2>{e(section.title)}</h2>\n{draft}<p class=meta>{e(notes[0])}</p>\n"
        "<table><tr><th>Competency</th><th>POMP</th><th>Scenarios answered</th></tr>"
        f"{rows}</table>\n{heading}<ul>{probes}</ul>"
    )


_PAGE_POINTS = 11.69 * 72  # A4 height in points: converts point spacing to fractions
_BOTTOM = 0.082  # the lowest y body text may reach: the footer starts at 0.075
_TOP = 0.95  # where the body starts on a continuation page


_SPACING = 1.6  # line spacing of the body text, in font sizes


def _block_height(lines: Sequence[str], size: float, spacing: float = _SPACING) -> float:
    """Height (figure fraction) of a multi-line text: its lines at ``spacing`` x size."""
    return len(lines) * size * spacing / _PAGE_POINTS + 0.004


def _pdf_block(
    fig: Figure, y: float, lines: list[str], size: float, color: str, indent: float
) -> float:
    """One multi-line text at y (a single artist: fewer to lay out); returns the y below it.
    The colour ``mono`` sets the lines in a monospaced font (a small table)."""
    spacing = _SPACING
    extra: dict[str, Any] = {}
    if color == "mono":
        color, extra = "#222", {"family": "DejaVu Sans Mono"}
    fig.text(
        indent,
        y,
        "\n".join(lines),
        fontsize=size,
        va="top",
        color=color,
        linespacing=spacing,
        **extra,
    )
    return y - _block_height(lines, size, spacing)


def _pdf_header(fig: Figure, report: CandidateReport) -> float:
    """Title, date, questionnaire, role and norms; returns the y below them."""
    import textwrap

    from repprofile._rendering.charts import drawable

    fig.text(
        0.06,
        0.965,
        f"Candidate report: {drawable(report.candidate_id)}",
        fontsize=15,
        weight="bold",
        va="top",
    )
    dated = f"{report.date}  |  " if report.date is not None else ""
    meta = f"{dated}{report.questionnaire}  |  role: {report.role_name}"
    fig.text(0.06, 0.938, meta, fontsize=8, color="#444", va="top")
    norms = (
        f"Norms: {report.norms}" + ("  (SIMULATED)" if report.norms_simulated else "")
        if report.norms
        else "No norms applied: scores are POMP (percent of maximum possible)."
    )
    norm_lines = textwrap.wrap(norms, 120)
    fig.text(0.06, 0.922, "\n".join(norm_lines), fontsize=7, color="#444", va="top")
    return 0.922 - len(norm_lines) * 7 * 1.2 / _PAGE_POINTS  # the y below the header


def _pdf_banner(fig: Figure, report: CandidateReport, top: float) -> float:
    """The caution banner under the header (when needed); returns how far the chart,
    the score table and the sections move down to make room for it."""
    import textwrap

    text = banner_text(report.caution)
    if not text:
        return 0.0
    lines = textwrap.wrap(text, 118)
    y = top - 0.012  # below the header, clear of the banner box's padding
    fig.text(
        0.06,
        y,
        "\n".join(lines),
        fontsize=8,
        va="top",
        color="#8a1010",
        weight="bold",
        linespacing=1.5,
        bbox={"facecolor": "#fbe3e3", "edgecolor": "#8a1010", "boxstyle": "round,pad=0.4"},
    )
    # the chart's top label and the table's heading reach up to 0.895: move them
    # below the banner's box (its padding included)
    return max(0.0, 0.895 - (y - _block_height(lines, 8, 1.5) - 0.012))


def _pdf_chart(
    fig: Figure, report: CandidateReport, scores: ScoreResult, role: Role, shift: float
) -> None:
    """The radar chart, without its own title (the header names the candidate,
    questionnaire and norms), its legend set compactly under it; greyed out when the
    report needs a caution."""
    from repprofile._rendering.charts import radar_chart

    ax = fig.add_axes((0.13, 0.625 - shift, 0.34, 0.24), projection="polar")
    radar_chart(scores, report.candidate_id, role=role, ax=ax)
    if report.caution:
        grey_out(ax)
    ax.set_title("")
    for artist in list(ax.texts):
        artist.remove()
    legend = ax.get_legend()
    if legend is not None:
        handles = [h for h in legend.legend_handles if h is not None]
        labels = [t.get_text() for t in legend.get_texts()]
        legend.remove()
        fig.legend(
            handles,
            labels,
            loc="upper left",
            bbox_to_anchor=(0.06, 0.585 - shift),
            ncols=2,
            fontsize=7,
            frameon=False,
            handlelength=2.4,
        )


def _pdf_scores(fig: Figure, report: CandidateReport, shift: float) -> None:
    """The score table: one multi-line text per column."""
    y = 0.87 - shift
    fig.text(0.60, y, "Scores", fontsize=10, weight="bold", va="top")
    y -= 0.025
    columns: dict[float, list[str]] = {
        0.60: ["Scale"],
        0.76: ["POMP"],
        0.83: ["Pctl"],
        0.89: [f"{report.ci_level:.0%} interval"],
    }
    for row in report.scales:
        interval = (
            f"{row.interval[0]:.0f}-{row.interval[1]:.0f}" if row.interval is not None else "-"
        )
        for x, cell in zip(
            columns, (row.name, _pct(row.pomp), _pct(row.percentile), interval), strict=True
        ):
            columns[x].append(cell)
    for x, cells in columns.items():
        fig.text(x, y, "\n".join(cells), fontsize=7.5, va="top", linespacing=2.0)


# One unit of the flowing part of the page: (lines, font size, colour, indent); a
# section heading is a unit of one line at size 10 (kept with the unit after it).
_Unit = tuple[list[str], float, str, float]


def _pdf_units(report: CandidateReport) -> list[list[_Unit]]:
    """Type and fit, response quality and the interview questions, as groups of units
    that are never split across pages (a heading stays with its first unit)."""
    import textwrap

    def heading(text: str) -> _Unit:
        return ([text], 10.0, "bold", 0.06)

    summary = [w for text in _summary_lines(report) for w in textwrap.wrap(text, 110)]
    quality = report.quality_flags if not report.quality_valid else ["No flags."]
    colour = "#a33" if not report.quality_valid else "#2a7"
    flag_units: list[_Unit] = [(textwrap.wrap(text, 110), 8, colour, 0.06) for text in quality]
    groups: list[list[_Unit]] = [
        [heading("Type and fit"), (summary, 8, "#222", 0.06)],
        [heading("Response quality"), flag_units[0]],
        *([u] for u in flag_units[1:]),
        *_judgement_units(report.judgement, heading),
    ]
    for i, q in enumerate(report.questions, start=1):
        wrapped = textwrap.wrap(f"{i}. {q.text}", 105)
        listen = textwrap.wrap(f"{q.theme}; listen for: {q.listen_for}", 115)
        units: list[_Unit] = [
            ([wrapped[0], *("   " + w for w in wrapped[1:])], 8, "#222", 0.06),
            (listen, 6.8, "#555", 0.075),
        ]
        if i == 1:
            units.insert(0, heading("Interview questions (weakest areas for the role)"))
        groups.append(units)
    return groups


def _judgement_units(section: JudgementSection | None, heading: Any) -> list[list[_Unit]]:
    """The judgement section as PDF unit groups: heading, the draft caution, the
    competency scores (one line each) and a probe per weak competency."""
    import textwrap

    if section is None:
        return []
    notes = _judgement_notes(section)
    first: list[_Unit] = [heading(section.title)]
    if section.key_draft:
        first.append((textwrap.wrap(notes.pop(0), 110), 8, "#8a1010", 0.06))
    first.append((textwrap.wrap(notes[0], 115), 7, "#555", 0.06))
    rows = _skill_rows(section)
    width = max(len(n) for n, _, _ in rows)
    table = [f"{'Competency':<{width}}  POMP  scenarios answered"]
    table += [f"{n:<{width}}  {p:>4}  {a}" for n, p, a in rows]
    first.append((table, 7.5, "mono", 0.06))
    groups = [first]
    for i, p in enumerate(section.probes):
        lines = textwrap.wrap(f"{p.competency_name}: {p.scenario}", 110)
        lines += textwrap.wrap(f"Candidate's choice: {p.chosen_text or 'no answer'}", 110)
        lines += textwrap.wrap(f"Keyed best: {p.keyed_text}", 110)
        units: list[_Unit] = [
            (lines, 8, "#222", 0.06),
            (textwrap.wrap(p.ask, 115), 7.5, "#555", 0.075),
        ]
        if i == 0:
            units.insert(0, (["Interview probes (weakest competencies)"], 8.5, "#222", 0.06))
        groups.append(units)
    return groups


def _group_bottom(group: list[_Unit], y: float) -> float:
    """The lowest y the ink of a group of units reaches when set from ``y``: the units
    advance as :func:`_pdf_sections` sets them, the last one by the height of its
    lines (line spacing between lines, about 1.3 x the font size for the last)."""
    for lines, size, colour, _ in group[:-1]:
        y -= (0.015 if y < _TOP else 0.0) + 0.02 if colour == "bold" else _block_height(lines, size)
    lines, size, _, _ = group[-1]
    return y - ((len(lines) - 1) * _SPACING + 1.3) * size / _PAGE_POINTS


def _pdf_sections(fig: Figure, report: CandidateReport, y: float, new_page: Any) -> None:
    """Type and fit, response quality and the interview questions, top to bottom,
    continuing on a new page (``new_page()`` returns its figure) instead of running
    into the footer."""
    for group in _pdf_units(report):
        if _group_bottom(group, y) < _BOTTOM:
            fig = new_page()
            y = _TOP
        for unit in group:
            lines, size, colour, indent = unit
            if colour == "bold":
                if y < _TOP:  # space above a heading, except at the top of a page
                    y -= 0.015
                fig.text(indent, y, lines[0], fontsize=size, weight="bold", va="top")
                y -= 0.02
            else:
                y = _pdf_block(fig, y, lines, size, colour, indent)


def _pdf_footer(fig: Figure, report: CandidateReport, page: int | None = None) -> None:
    """The footer and the provenance line (and the page number of a multi-page report)."""
    import textwrap

    fig.text(0.06, 0.075, textwrap.fill(report.footer, 125), fontsize=7, color="#333", va="top")
    prov = report.provenance
    line = (
        f"repprofile {prov.get('repprofile_version', __version__)}; questionnaire sha256 "
        f"{str(prov.get('questionnaire_sha256', ''))[:12]}; role {report.role_id}"
        f"{sjt_provenance(prov)}; questions: {report.question_bank}"
    )  # wrapped: a long question-bank title must not run off the page
    fig.text(0.06, 0.034, textwrap.fill(line, 150), fontsize=6, color="#777", va="top")
    if page is not None:
        fig.text(0.94, 0.01, f"page {page}", fontsize=6, color="#777", ha="right")


def render_pdf(report: CandidateReport, scores: ScoreResult, role: Role) -> bytes:
    """The A4 PDF (matplotlib's PDF backend; byte-identical for the same input): one
    page, or more when the sections do not fit above the footer."""
    import matplotlib
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure

    from repprofile._rendering.charts import _style, drawable

    with _style():
        first = Figure(figsize=(8.27, 11.69))
        pages = [first]

        def new_page() -> Figure:
            fig = Figure(figsize=(8.27, 11.69))
            fig.text(
                0.06,
                0.975,
                f"Candidate report: {drawable(report.candidate_id)} (continued)",
                fontsize=9,
                color="#444",
                va="top",
            )
            pages.append(fig)
            return fig

        shift = _pdf_banner(first, report, _pdf_header(first, report))
        _pdf_chart(first, report, scores, role, shift)
        _pdf_scores(first, report, shift)
        _pdf_sections(first, report, 0.535 - shift, new_page)
        for number, fig in enumerate(pages, start=1):
            _pdf_footer(fig, report, number if len(pages) > 1 else None)
        # Type 3 fonts (matplotlib's own subsetting): byte-identical like TrueType
        # embedding, and three times faster, since fontTools' subsetter is not needed.
        buf = io.BytesIO()
        with matplotlib.rc_context({"pdf.fonttype": 3}):
            if len(pages) == 1:
                first.savefig(buf, format="pdf", metadata={"CreationDate": None}, facecolor="white")
            else:
                with PdfPages(buf, metadata={"CreationDate": None}) as pdf:
                    for fig in pages:
                        pdf.savefig(fig, facecolor="white")
        return buf.getvalue()


def render_html(report: CandidateReport, scores: ScoreResult, role: Role) -> str:
    """The self-contained HTML report (chart inline as SVG)."""
    from repprofile._rendering.charts import _figure_bytes, _style, radar_chart

    with _style():
        ax = radar_chart(scores, report.candidate_id, role=role)
        if report.caution:
            grey_out(ax)
        svg = _figure_bytes(ax.figure, "svg").decode("utf-8")  # type: ignore[arg-type]
    return to_html(report, svg)


@validate_params(
    _REPORT_PARAMS | {"path": [PathWithSuffix(".pdf", ".html", ".htm")]},
    must={"cut": CUT_MUST, "path": "must end in .pdf or .html"},
)
def write_report(
    scores: ScoreResult,
    candidate_id: str,
    role: str | Path | Role,
    path: str | Path,
    *,
    date: str | _dt.date | None = None,
    cut: float = 50.0,
    fit_result: FitResult | None = None,
) -> Path:
    """Write one candidate's report: PDF or self-contained HTML, by the file extension.

    The file is written atomically (temporary file, then rename). ``fit_result`` is
    as for :func:`candidate_report`.
    """
    from repprofile._io import write_atomic

    out = Path(path)
    fmt: Literal["pdf", "html"] = "pdf" if out.suffix.lower() == ".pdf" else "html"
    data = report_bytes(
        scores,
        candidate_id,
        load_role(role, scores.questionnaire),
        fmt,
        date=date,
        cut=cut,
        fit_result=fit_result,
        caller="write_report",
    )
    write_atomic(out, data)
    return out


def report_bytes(
    scores: ScoreResult,
    candidate_id: str,
    role: Role,
    fmt: Literal["pdf", "html"],
    *,
    date: str | _dt.date | None,
    cut: float = 50.0,
    fit_result: FitResult | None = None,
    caller: str = "write_report",
) -> bytes:
    """One candidate's report as PDF or HTML (UTF-8) bytes, for a loaded role and
    without the parameter checks: what :func:`write_report` writes, and what the
    workers of ``repprofile report --all --jobs N`` send back to be written."""
    report = _candidate_report(
        scores,
        candidate_id,
        role,
        date=date,
        cut=cut,
        fit_result=fit_result,
        bank=None,
        caller=caller,
    )
    if fmt == "pdf":
        return render_pdf(report, scores, role)
    return render_html(report, scores, role).encode("utf-8")
