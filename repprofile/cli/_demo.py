"""``repprofile demo``: score the bundled simulated candidates and print a table."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO

from repprofile._formats.files import bundled_dir
from repprofile._formats.questionnaire import load_questionnaire

__all__ = ["build_demo_norms", "demo_norms_path", "demo_sample_path", "run_demo"]

DEMO_ROLE = "general-frontline"
DEMO_DATE = "2026-11-22"  # fixed, so the demo output is the same on every run
DEMO_NORMS_DESCRIPTION = (
    "SIMULATED norm sample of 5,000 computer-generated respondents (not real people), "
    "for demonstrations only. Never use it to assess anyone: build norms from your own "
    "applicant pool (repprofile norms build)."
)


def demo_sample_path() -> Path:
    """The bundled CSV of simulated candidates (ids start with SIMULATED-)."""
    return bundled_dir() / "samples" / "rep-types-simulated.csv"


def demo_norms_path() -> Path:
    """The bundled simulated norm table of rep-types (labelled simulated)."""
    return bundled_dir() / "norms" / "rep-types-simulated.json"


def build_demo_norms() -> str:
    """Rebuild the bundled simulated norm table (JSON text); a test checks it is unchanged."""
    from repprofile._analysis.norms import build_norms
    from repprofile._analysis.simulate import simulate_answers

    q = load_questionnaire("rep-types")
    answers, _ = simulate_answers(q, 5000, seed=20170101, missing=0.01)
    table = build_norms(
        q, answers, description=DEMO_NORMS_DESCRIPTION, created="2026-11-22", simulated=True
    )
    return table.to_json() + "\n"


def profile_table(result: Any) -> str:
    """The scored candidates as a readable table: POMP per scale, types, quality."""
    from repprofile.cli._main import _table

    q = result.questionnaire
    names = {s.id: s.name for s in q.scales}
    traits = [s.id for s in q.scales if s.kind == "trait"]
    validity = [s.id for s in q.scales if s.kind == "validity"]
    header = [
        "CANDIDATE",
        *[names[s][:12] for s in traits],
        *[names[s].split()[0].upper()[:10] for s in validity],
        "PRIMARY",
        "SECONDARY",
        "CLARITY",
        "QUALITY",
    ]
    rows = [header]
    for p in result.profiles():
        flags = p.quality.flags if p.quality is not None else []
        rows.append(
            [
                p.candidate_id,
                *[
                    "-" if (v := p.scales[s].pomp) is None else f"{v:.0f}"
                    for s in (*traits, *validity)
                ],
                names.get(p.primary_type or "", "-"),
                names.get(p.secondary_type or "", "-"),
                p.type_clarity or "-",
                "ok" if not flags else "FLAGGED: " + ", ".join(f.index for f in flags),
            ]
        )
    return _table(rows, right=tuple(range(1, 1 + len(traits) + len(validity))))


def run_demo(out: Path | None, stdout: TextIO) -> int:
    """Score the demo sample, print a readable table, optionally write results to ``out``."""
    import csv
    import io

    from repprofile._analysis.scoring import score
    from repprofile.cli._main import write_output

    q = load_questionnaire("rep-types")
    result = score(q, demo_sample_path(), norms=demo_norms_path())
    print(
        f"repprofile demo: {len(result)} SIMULATED candidates (not real people) scored on "
        f"{q.title} ({q.id} {q.version}).\n"
        "Scores are POMP (0-100, percent of the maximum possible). The questionnaire is a\n"
        "starting point, not a validated instrument. Type clarity uses the bundled norm table,\n"
        "which is SIMULATED too: it only shows how norms work.\n",
        file=stdout,
    )
    print(profile_table(result), file=stdout, end="")
    if out is not None:
        write_output(result.to_json() + "\n", str(out / "scores.json"))
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(result.csv_header())
        w.writerows(result.csv_rows())
        write_output(buf.getvalue(), str(out / "scores.csv"))
        from repprofile._analysis.fit import fit
        from repprofile._formats.role import load_role
        from repprofile._rendering.charts import radar_chart, save_figure
        from repprofile._rendering.report import write_report

        role = load_role(DEMO_ROLE)
        fitted = fit(result, role)
        for p in result.profiles():
            ax = radar_chart(result, p.candidate_id, role=role)
            save_figure(ax.get_figure(root=True), out / "charts" / f"{p.candidate_id}.png")  # type: ignore[arg-type]
            write_report(
                result,
                p.candidate_id,
                role,
                out / "reports" / f"{p.candidate_id}.pdf",
                date=DEMO_DATE,
                fit_result=fitted,
            )
        print(
            f"\nWrote {out / 'scores.json'}, {out / 'scores.csv'}, a radar chart per candidate "
            f"in {out / 'charts'} and a report for the role {role.name!r} per candidate in "
            f"{out / 'reports'}.",
            file=stdout,
        )
    return 0
