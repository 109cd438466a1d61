"""The adverse-impact audit as documents: Markdown tables and a self-contained HTML
page with a bar chart of impact ratios."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np

from repprofile._analysis.audit import FOUR_FIFTHS, AuditResult, AuditTable

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["to_html", "to_markdown", "to_png"]


def _fmt(v: float | None, digits: int = 3) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


_TO_FOUR_FIFTHS = (
    "how many more selections the category would need for its rate to reach four-fifths "
    "of the reference's rate."
)


def _reference(t: AuditTable) -> str:
    if t.reference is None:
        return "none (no category can be one)"
    how = "chosen by you" if t.reference_source == "given" else "highest rate"
    return f"{t.reference} ({how})"


def _need(v: int | None) -> str:
    return "-" if v is None else str(v)


def to_markdown(result: AuditResult) -> str:
    """The audit as Markdown tables (one per group column and pair of columns)."""
    what = "selection rate" if result.outcome == "selected" else "scoring rate"
    lines = [
        "# Adverse-impact audit",
        "",
        f"Outcome: {what}"
        + (
            f" (score above the median, {result.median_score:g})"
            if result.median_score is not None
            else ""
        )
        + f". Candidates: {result.n}. Impact ratios below 0.8 are flagged (four-fifths rule).",
        "An impact ratio is evidence to investigate, not a legal conclusion.",
        f"To 4/5: {_TO_FOUR_FIFTHS}",
        "",
    ]
    if result.warnings:
        lines += ["**Warnings:**", "", *[f"- {w}" for w in result.warnings], ""]
    if result.exclude_small:
        lines += ["Categories under 2% of the sample are excluded from impact ratios.", ""]
    for t in result.tables:
        lines += [f"## {' x '.join(t.groups)}", "", f"Reference: {_reference(t)}.", ""]
        lines += [
            "| category | n | share | selected | rate | impact ratio | flag | z | p | Fisher p "
            "| to 4/5 |",
            "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |",
        ]
        for r in t.rows:
            flag = "excluded" if r.excluded else ("ADVERSE IMPACT" if r.adverse_impact else "")
            need = _need(r.selections_to_four_fifths)
            if r.small_sample:
                flag = (flag + " small n").strip()
            lines.append(
                f"| {r.category} | {r.n} | {r.share:.1%} | {r.selected} | {r.rate:.3f} | "
                f"{_fmt(r.impact_ratio)} | {flag} | {_fmt(r.z, 2)} | {_fmt(r.p_value, 4)} | "
                f"{_fmt(r.fisher_p, 4)} | {need} |"
            )
        lines.append("")
    for es in result.effect_sizes:
        lines += [
            f"## Effect sizes: {es.scale} by {' x '.join(es.groups)}",
            "",
            f"Cohen's d of each category against the reference ({es.reference or '-'}), "
            "pooled SD, 95% interval (Hedges & Olkin, 1985).",
            "",
            "| category | n | mean | SD | Cohen's d | 95% CI low | 95% CI high |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for er in es.rows:
            lines.append(
                f"| {er.category} | {er.n} | {_fmt(er.mean)} | {_fmt(er.sd)} | "
                f"{_fmt(er.d, 2)} | {_fmt(er.d_ci_low, 2)} | {_fmt(er.d_ci_high, 2)} |"
            )
        lines.append("")
    unknown = ", ".join(f"{g}: {n}" for g, n in result.unknown.items())
    lines += [f"Unknown category (left out of rates and ratios): {unknown}.", ""]
    return "\n".join(lines)


def _chart_figure(result: AuditResult) -> Figure:
    """A horizontal bar chart of impact ratios with the labelled 0.8 line.

    Every bar carries its value; a ratio of 0 has no bar, so it gets a marker at 0 and
    the label "0.00". The layout is constrained, so long category names and the axis
    label are never cut off.
    """
    from matplotlib.figure import Figure

    bars = [
        (f"{' x '.join(t.groups)}: {r.category}", r.impact_ratio, r.adverse_impact)
        for t in result.tables
        for r in t.rows
        if r.impact_ratio is not None
    ]
    fig = Figure(figsize=(7.5, 1.3 + 0.3 * max(1, len(bars))), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(bars))[::-1]
    values = np.array([b[1] for b in bars], dtype=float)
    colors = ["#D55E00" if b[2] else "#0072B2" for b in bars]
    ax.barh(y, values, color=colors)
    right = max(1.1, float(values.max()) * 1.15 if values.size else 1.1)
    zero = values == 0
    if zero.any():
        ax.scatter(
            np.zeros(int(zero.sum())),
            y[zero],
            marker="|",
            s=120,
            linewidths=3,
            color=[c for c, z in zip(colors, zero, strict=True) if z],
            clip_on=False,
            zorder=3,
        )
    for yi, v in zip(y, values, strict=True):
        ax.text(v + right * 0.01, yi, f"{v:.2f}", va="center", ha="left", fontsize=8)
    ax.axvline(FOUR_FIFTHS, color="black", linestyle="--", linewidth=1)
    ax.text(
        FOUR_FIFTHS,
        1.0,
        " four-fifths (0.8)",
        transform=ax.get_xaxis_transform(),
        va="bottom",
        ha="center",
        fontsize=8,
    )
    ax.set_yticks(y, [b[0] for b in bars], fontsize=8)
    ax.set_ylim(-0.6, len(bars) - 0.4)
    ax.set_xlim(0, right)
    ax.set_xlabel("impact ratio (rate / reference rate); below 0.8 is flagged")
    return fig


def _bar_chart_svg(result: AuditResult) -> str:
    """The impact-ratio chart as inline SVG."""
    from repprofile._rendering.charts import _figure_bytes, _style

    with _style():
        svg = _figure_bytes(_chart_figure(result), "svg").decode("utf-8")
    return svg[svg.find("<svg") :]


def to_png(result: AuditResult) -> bytes:
    """The impact-ratio chart as PNG bytes (fixed metadata, so the same bytes each run)."""
    from repprofile._rendering.charts import _figure_bytes, _style

    with _style():
        return _figure_bytes(_chart_figure(result), "png")


def to_html(result: AuditResult) -> str:
    """A self-contained HTML report: the tables and the impact-ratio chart (inline SVG)."""

    e = html.escape
    parts = []
    for t in result.tables:
        rows = "".join(
            f"<tr class={'bad' if r.adverse_impact else 'ok'}><td>{e(r.category)}</td>"
            f"<td>{r.n}</td><td>{r.share:.1%}</td><td>{r.selected}</td><td>{r.rate:.3f}</td>"
            f"<td>{_fmt(r.impact_ratio)}</td>"
            f"<td>{'excluded' if r.excluded else ('adverse impact' if r.adverse_impact else '')}"
            f"{' (small n)' if r.small_sample else ''}</td><td>{_fmt(r.z, 2)}</td>"
            f"<td>{_fmt(r.p_value, 4)}</td><td>{_fmt(r.fisher_p, 4)}</td>"
            f"<td>{_need(r.selections_to_four_fifths)}</td></tr>"
            for r in t.rows
        )
        parts.append(
            f"<h2>{e(' x '.join(t.groups))}</h2><p>Reference: {e(_reference(t))}.</p>"
            "<table><tr><th>category</th><th>n</th>"
            "<th>share</th><th>selected</th><th>rate</th><th>impact ratio</th><th>flag</th>"
            "<th>z</th><th>p</th><th>Fisher p</th>"
            '<th title="more selections needed to reach four-fifths">to 4/5</th></tr>'
            f"{rows}</table>"
        )
    for es in result.effect_sizes:
        rows = "".join(
            f"<tr><td>{e(er.category)}</td><td>{er.n}</td><td>{_fmt(er.mean)}</td>"
            f"<td>{_fmt(er.sd)}</td><td>{_fmt(er.d, 2)}</td><td>{_fmt(er.d_ci_low, 2)}</td>"
            f"<td>{_fmt(er.d_ci_high, 2)}</td></tr>"
            for er in es.rows
        )
        parts.append(
            f"<h2>Effect sizes: {e(es.scale)} by {e(' x '.join(es.groups))}</h2>"
            f"<p>Cohen's d of each category against the reference ({e(es.reference or '-')}), "
            "pooled SD, 95% interval (Hedges &amp; Olkin, 1985).</p>"
            "<table><tr><th>category</th><th>n</th><th>mean</th><th>SD</th>"
            "<th>Cohen's d</th><th>95% CI low</th><th>95% CI high</th></tr>"
            f"{rows}</table>"
        )
    unknown = ", ".join(f"{e(g)}: {n}" for g, n in result.unknown.items())
    warned = (
        '<div class="warnings"><p><strong>Warnings:</strong></p><ul>'
        + "".join(f"<li>{e(w)}</li>" for w in result.warnings)
        + "</ul></div>\n"
        if result.warnings
        else ""
    )
    what = (
        "selection rate"
        if result.outcome == "selected"
        else "scoring rate (score above the median)"
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Adverse-impact audit</title>
<style>
body {{ font-family: "DejaVu Sans", Arial, sans-serif; max-width: 60em; margin: 2em auto; }}
table {{ border-collapse: collapse; margin-bottom: 1em; }}
td, th {{ border-bottom: 1px solid #ddd; padding: 0.2em 0.6em; text-align: right; }}
td:first-child, th:first-child {{ text-align: left; }} tr.bad td {{ color: #a33; }}
svg {{ max-width: 100%; height: auto; }}
</style></head><body>
<h1>Adverse-impact audit</h1>
<p>Outcome: {what};
{result.n} candidates. Impact ratios below 0.8 are flagged (four-fifths rule). An impact
ratio is evidence to investigate, not a legal conclusion.
To 4/5: {_TO_FOUR_FIFTHS}</p>
{warned}{_bar_chart_svg(result)}
{"".join(parts)}
<p>Unknown category (left out of rates and ratios): {unknown}.</p>
</body></html>
"""
