"""Text documents of results: the tables and reports the command line prints.

Every function takes results (or the JSON-shaped documents the analysis builds) and
returns the text, ending with a newline where the command writes it as is. Nothing is
written or printed here.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from repprofile._formats.questionnaire import SjtItem
from repprofile._rendering.caution import TIED, banner_text, caution_reasons
from repprofile._rendering.tables import number, text_table
from repprofile._util import csv_number

if TYPE_CHECKING:
    from repprofile._analysis.fit import FitResult
    from repprofile._analysis.reliability import MtmmTable, ReliabilityResult, ScaleReliability
    from repprofile._analysis.scoring import Profile, ScoreResult
    from repprofile._formats.questionnaire import Questionnaire
    from repprofile._formats.role import Role

__all__ = [
    "DRAFT_KEY",
    "assessment_text",
    "fit_text",
    "profile_table",
    "provenance_line",
    "quality_json",
    "quality_text",
    "questionnaire_list",
    "questionnaire_text",
    "ranking_csv",
    "ranking_text",
    "reliability_text",
    "role_list",
    "role_text",
    "scores_csv",
    "sjt_provenance",
]


# --------------------------------------------------------------------------- questionnaires


def questionnaire_list(questionnaires: Iterable[Questionnaire]) -> str:
    """One line per questionnaire: id, version, number of scales and items, title."""
    rows = [("ID", "VERSION", "SCALES", "ITEMS", "TITLE")]
    for q in questionnaires:
        rows.append((q.id, q.version, str(len(q.scales)), str(len(q.items)), q.title))
    return text_table(rows)


def questionnaire_text(q: Questionnaire) -> str:
    """A questionnaire's answer scale, its scales (items, reversed items) and items."""
    lines = [f"{q.title}", f"id: {q.id}  version: {q.version}", ""]
    if q.description:
        lines += [q.description, ""]
    rs = q.response_scale
    labels = ", ".join(f"{k} = {v}" for k, v in sorted(rs.labels.items()))
    lines.append(f"Answers: {rs.min} to {rs.max}" + (f" ({labels})" if labels else ""))
    lines.append("")
    counts = dict(zip(q.scale_ids, q.items_per_scale.tolist(), strict=True))
    rev = dict(zip(q.scale_ids, q.reversed_per_scale.tolist(), strict=True))
    rows: list[tuple[str, ...]] = [("SCALE", "NAME", "KIND", "ITEMS", "REVERSED", "MIN_ANSWERED")]
    for j, s in enumerate(q.scales):
        rows.append(
            (s.id, s.name, s.kind, str(counts[s.id]), str(rev[s.id]), str(q.min_answered[j]))
        )
    lines.append(text_table(rows, right=(3, 4, 5)))
    rows = [("ITEM", "SCALE", "KEYED", "TEXT")]
    for it in q.items:
        if isinstance(it, SjtItem):
            scales = "/".join(it.competencies)
            rows.append((it.id, f"(sjt {it.response_format}: {scales})", "", it.scenario))
        elif it.scale is None:
            expected = "/".join(str(v) for v in it.expected or [])
            rows.append((it.id, f"({it.kind}: {expected})", "", it.text))
        else:
            rows.append((it.id, it.scale, "+" if it.keyed == 1 else "-", it.text))
    lines.append(text_table(rows))
    return "\n".join(lines)


# --------------------------------------------------------------------------- roles


def role_list(roles: Iterable[Role]) -> str:
    """One line per role: id, questionnaire, name and its three largest weights."""
    rows: list[tuple[str, ...]] = [("ID", "QUESTIONNAIRE", "NAME", "TOP WEIGHTS")]
    for r in roles:
        top = sorted(r.weights.items(), key=lambda kv: -abs(kv[1]))[:3]
        rows.append((r.id, r.questionnaire, r.name, ", ".join(f"{s} {w:+g}" for s, w in top)))
    return text_table(rows)


def role_text(role: Role) -> str:
    """A role's description, weights, minimums, targets, rationale and references."""
    lines = [
        f"{role.name} ({role.id}), for questionnaire {role.questionnaire}",
        "",
        role.description,
        "",
    ]
    rows: list[tuple[str, ...]] = [("SCALE", "WEIGHT", "MINIMUM", "TARGET")]
    for sid, w in role.weights.items():
        m = role.minimums.get(sid)
        t = role.target.get(sid)
        rows.append(
            (sid, f"{w:+g}", "-" if m is None else f"{m:g}", "-" if t is None else f"{t:g}")
        )
    lines += [text_table(rows, right=(1, 2, 3)), "Rationale:", role.rationale, ""]
    lines += [f"- {ref}" for ref in role.references]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- reliability


_SCALE_COLUMNS_AFTER_CI = (
    "STD.ALPHA",
    "G6(SMC)",
    "AVERAGE_R",
    "MEDIAN_R",
    "S/N",
    "ASE",
    "OMEGA_T",
    "MEAN",
    "SD",
)
_ITEM_COLUMNS = (
    "ITEM",
    "KEYED",
    "N",
    "MEAN",
    "SD",
    "R_RAW",
    "R_COR",
    "R_DROP",
    "ALPHA_IF_DROPPED",
    "MISSING",
)


def reliability_text(rel: ReliabilityResult) -> str:
    """The reliability report: per scale, per item, and the scale intercorrelations."""
    p = rel.provenance
    lines = [
        f"Reliability of {p.questionnaire_id} {p.questionnaire_version}: n = {rel.n_obs} "
        f"(pairwise-complete, as R psych alpha(use = 'pairwise'))",
        "",
        _scale_table(rel),
    ]
    for sid, s in rel.scales.items():
        lines.append(f"Item statistics: {sid}")
        lines.append(_item_table(s))
        for w in s.warnings:
            lines.append(f"warning: {w}")
        if s.scenario_score is not None:
            lines.append(f"Items are scenarios; item score: {s.scenario_score}")
            lines.append(
                f"Odd-even scenario split-half: r = {number(s.split_half_r)}, "
                f"Spearman-Brown = {number(s.split_half_spearman_brown)} "
                f"(n = {s.split_half_n})"
            )
            lines.append(f"note: {s.caveat}")
            lines.append("")
    lines.append("Scale intercorrelations (below the diagonal) and disattenuated by alpha (above)")
    lines.append(_correlation_table(rel))
    if rel.mtmm is not None:
        lines.append(_mtmm_text(rel.mtmm))
    return "\n".join(lines)


def _mtmm_text(m: MtmmTable) -> str:
    """The multitrait-multimethod table: self-report rows, SJT columns, n beside r."""
    rows: list[tuple[str, ...]] = [("SELF-REPORT \\ SJT", *[t.upper() for t in m.types])]
    for i, t in enumerate(m.types):
        rows.append(
            (
                t,
                *[
                    ("[" if i == j else "") + number(v) + ("]" if i == j else "")
                    for j, v in enumerate(m.r[i])
                ],
            )
        )
    ns = sorted({v for row in m.n for v in row})
    n_text = f"n = {ns[0]}" if len(ns) == 1 else f"n = {ns[0]} to {ns[-1]}"
    verdict = ", ".join(
        f"{t} {'yes' if v else 'no' if v is not None else '-'}"
        for t, v in m.exceeds_heterotrait.items()
    )
    return "\n".join(
        [
            "",
            "Multitrait-multimethod: self-report scale (pomp) x SJT type preference "
            f"({m.sjt_measure}); convergent diagonal in brackets; {n_text}",
            text_table(rows, right=tuple(range(1, len(m.types) + 1))),
            f"Convergent r above every heterotrait-heteromethod r of its row and column: {verdict}",
            f"note: {m.note}",
        ]
    )


def _scale_table(rel: ReliabilityResult) -> str:
    level = next(iter(rel.scales.values())).alpha_ci_level if rel.scales else 0.95
    rows: list[tuple[str, ...]] = [
        ("SCALE", "ITEMS", "ALPHA", f"{level:.0%} CI (Feldt)", *_SCALE_COLUMNS_AFTER_CI)
    ]
    for sid, s in rel.scales.items():
        ci = "-" if s.alpha_ci is None else f"[{s.alpha_ci[0]:.2f}, {s.alpha_ci[1]:.2f}]"
        rows.append(
            (
                sid,
                str(s.n_items),
                number(s.alpha),
                ci,
                number(s.std_alpha),
                number(s.g6),
                number(s.average_r),
                number(s.median_r),
                number(s.signal_noise),
                number(s.alpha_se, 3),
                number(s.omega_total),
                number(s.mean),
                number(s.sd),
            )
        )
    return text_table(rows, right=tuple(range(1, 13)))


def _item_table(s: ScaleReliability) -> str:
    rows: list[tuple[str, ...]] = [_ITEM_COLUMNS]
    for iid, it in s.items.items():
        rows.append(
            (
                iid,
                "+" if it.keyed == 1 else "-",
                str(it.n),
                number(it.mean),
                number(it.sd),
                number(it.r_raw),
                number(it.r_cor),
                number(it.r_drop),
                number(it.alpha_if_dropped),
                f"{it.missing:.1%}",
            )
        )
    return text_table(rows, right=tuple(range(2, 10)))


def _correlation_table(rel: ReliabilityResult) -> str:
    ids = rel.scale_ids
    rows: list[tuple[str, ...]] = [("", *ids)]
    for i, a in enumerate(ids):
        cells = []
        for j in range(len(ids)):
            v = (
                rel.scale_correlations[i][j]
                if j < i
                else rel.scale_correlations_disattenuated[i][j]
            )
            cells.append("" if i == j else number(v))
        rows.append((a, *cells))
    return text_table(rows, right=tuple(range(1, len(ids) + 1)))


# --------------------------------------------------------------------------- quality


_QUALITY_INDICES = (
    "longstring",
    "irv",
    "mahalanobis_p",
    "even_odd",
    "psychsyn",
    "attention_failures",
    "seconds_per_item",
)


def _scored_rows(result: ScoreResult) -> list[int]:
    return [int(r) for r in range(len(result)) if result.scored[r]]


def quality_json(result: ScoreResult) -> str:
    """Quality indices, flags and verdict of every scored candidate, as JSON text
    (:func:`~repprofile._analysis.scoring.quality_document`)."""
    from repprofile._analysis.scoring import quality_document

    return json.dumps(quality_document(result), indent=2, allow_nan=False) + "\n"


def quality_text(result: ScoreResult) -> str:
    """A table of quality indices per scored candidate, then a summary and every flag."""
    qr = result.quality
    matrix = qr.flag_matrix()
    rows_idx = _scored_rows(result)
    ids = result.candidate_ids
    sjt = ("sjt_straightline", "seconds_per_scenario", "seconds_per_option") if qr.has_sjt else ()
    names = [*_QUALITY_INDICES, *sjt, *[f"{sid}_pomp" for sid in qr.impression]]
    table: list[tuple[str, ...]] = [("CANDIDATE", *[n.upper() for n in names], "FLAGS")]
    for r in rows_idx:
        idx = qr.indices(r)
        flags = qr.flags(r, matrix)
        table.append(
            (
                ids[r],
                *[number(idx[n], 3 if n in ("mahalanobis_p",) else 2) for n in names],
                "ok" if not flags else ", ".join(f.index for f in flags),
            )
        )
    text = text_table(table, right=tuple(range(1, len(names) + 1)))
    n_flagged = sum(1 for r in rows_idx if not qr.valid[r])
    text += f"\n{n_flagged} of {len(rows_idx)} candidates flagged. "
    text += f"Reference sample: {qr.reference_source or 'none'}.\n"
    if qr.mahalanobis_distribution is not None:
        text += (
            "Mahalanobis p against "
            f"{'the norm table' if qr.mahalanobis_reference == 'norms' else 'this batch'}: "
            f"{qr.mahalanobis_distribution}.\n"
        )
    for name, why in qr.unavailable.items():
        text += f"{name}: not computed: {why}\n"
    for r in rows_idx:
        for f in qr.flags(r, matrix):
            text += f"{ids[r]}: {f.reason}\n"
    return text


# --------------------------------------------------------------------------- ranking


def ranking_csv(doc: Mapping[str, Any], scales: Sequence[str]) -> str:
    """A ranking (the JSON document of ``rank``) as CSV, one contribution column per scale."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(
        [
            "rank",
            "candidate_id",
            "fit",
            "fit_se",
            "ci_low",
            "ci_high",
            "meets_minimums",
            "failed_minimums",
            "quality_valid",
            *[f"contribution_{s}" for s in scales],
        ]
    )
    for e in doc["ranking"]:
        w.writerow(
            [
                e["rank"],
                e["candidate_id"],
                csv_number(e["fit"]),
                csv_number(e["fit_se"]),
                csv_number(e["ci_low"]),
                csv_number(e["ci_high"]),
                str(e["meets_minimums"]).lower(),
                ";".join(e["failed_minimums"]),
                str(e["quality_valid"]).lower(),
                *[csv_number(e["contributions"][s]) for s in scales],
            ]
        )
    return buf.getvalue()


def ranking_text(doc: Mapping[str, Any], cut: float) -> str:
    """A ranking (the JSON document of ``rank``) as a table, best first."""
    role = doc["role"]
    level = role["ci_level"]
    rows: list[tuple[str, ...]] = [
        ("RANK", "CANDIDATE", "FIT", f"{level:.0%} CI", f"P(>{cut:g})", "HURDLES", "QUALITY", "WHY")
    ]
    for e in doc["ranking"]:
        ci = "-" if e["ci_low"] is None else f"{e['ci_low']:.0f}-{e['ci_high']:.0f}"
        rows.append(
            (
                str(e["rank"]),
                e["candidate_id"],
                number(e["fit"], 1),
                ci,
                number(e["p_above_cut"], 2) + (" ~cut" if e["near_cut"] else ""),
                "ok" if e["meets_minimums"] else "FAIL " + ",".join(e["failed_minimums"]),
                "ok" if e["quality_valid"] else "FLAGGED",
                e["explanation"],
            )
        )
    head = f"Ranking for {role['name']} ({role['id']}), fit 0-100, cut {cut:g}\n\n"
    return head + text_table(rows, right=(0, 2))


def fit_text(doc: Mapping[str, Any]) -> str:
    """The fit document (the JSON of ``fit``) as a table: per candidate and role the fit
    (0-100), its interval when there is one, and the candidate's rank for that role;
    then the provenance line.

    The rank is the order of ``rank``: composite descending, ties in input order, a
    candidate without a fit last (shown ``-``).
    """
    roles = doc["roles"]
    level = roles[0]["ci_level"] if roles else 0.90
    ranks: dict[tuple[str, str], int] = {}
    for role in roles:
        entries = [
            (c["candidate_id"], e["composite"])
            for c in doc["candidates"]
            for e in c["fits"]
            if e["role"] == role["id"] and e["composite"] is not None
        ]
        ordered = sorted(enumerate(entries), key=lambda t: (-t[1][1], t[0]))
        for position, (_, (cid, _)) in enumerate(ordered, start=1):
            ranks[(cid, role["id"])] = position
    rows: list[tuple[str, ...]] = [
        ("CANDIDATE", "ROLE", "FIT", f"{level:.0%} CI", "RANK", "BEST", "QUALITY")
    ]
    for c in doc["candidates"]:
        for e in c["fits"]:
            ci = "-" if e["ci_low"] is None else f"{e['ci_low']:.1f}-{e['ci_high']:.1f}"
            rank_in_role = ranks.get((c["candidate_id"], e["role"]))
            rows.append(
                (
                    c["candidate_id"],
                    e["role"],
                    number(e["fit"], 1),
                    ci,
                    "-" if rank_in_role is None else str(rank_in_role),
                    "*" if e["role"] == c["best_role"] else "",
                    "ok" if e["quality_valid"] else "FLAGGED",
                )
            )
    names = ", ".join(f"{r['name']} ({r['id']})" for r in roles)
    cut = roles[0]["cut"] if roles else 50.0
    head = f"Fit 0-100 for {names}; cut {cut:g}; rank within each role, * best role\n\n"
    rejected = len({e["candidate_id"] for e in doc["errors"]})
    tail = f"\n{rejected} candidate(s) rejected, not shown\n" if rejected else "\n"
    return head + text_table(rows, right=(2, 4)) + tail + provenance_line(doc["provenance"])


def provenance_line(prov: Mapping[str, Any]) -> str:
    """The provenance of a result document on one line (hashes shortened to 12)."""
    norms = prov.get("norms")
    if norms:
        sim = ", SIMULATED" if norms.get("simulated") else ""
        norm_text = f"norms n={norms['n']} sha256 {str(norms['sha256'])[:12]}{sim}"
    else:
        norm_text = "no norms (fit from POMP)"
    role = f"; role {prov['role']}" if prov.get("role") else ""
    return (
        f"provenance: questionnaire {prov['questionnaire_id']} "
        f"{prov['questionnaire_version']} sha256 {str(prov['questionnaire_sha256'])[:12]}; "
        f"{norm_text}; intervals {prov['ci_level']:.0%}{role}{sjt_provenance(prov)}; "
        f"repprofile {prov['repprofile_version']}\n"
    )


DRAFT_KEY = "draft key: replace with your SME key"
"""The caution every output shows when the SJT key is a draft (``sjt_key_draft``)."""


def sjt_provenance(prov: Mapping[str, Any]) -> str:
    """The SJT part of the provenance line: ``; SJT method M``, the key (its sha256 when
    an SME key file was given) and, for a draft key, the :data:`DRAFT_KEY` caution in
    capitals; empty when the questionnaire has no SJT items."""
    method = prov.get("sjt_method")
    if not method:
        return ""
    text = f"; SJT method {method}"
    if prov.get("sjt_key_sha256"):
        text += f", SME key sha256 {str(prov['sjt_key_sha256'])[:12]}"
    else:
        text += ", key of the questionnaire"
    if prov.get("sjt_key_draft"):
        text += f" (CAUTION: {DRAFT_KEY})"
    return text


# --------------------------------------------------------------------------- profiles


def scores_csv(result: ScoreResult) -> str:
    """Scores as CSV: :meth:`ScoreResult.csv_header` and one row per candidate."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(result.csv_header())
    writer.writerows(result.csv_rows())
    return buf.getvalue()


def profile_table(result: ScoreResult) -> str:
    """The scored candidates as a readable table: POMP per scale, types, quality."""
    q = result.questionnaire
    names = {s.id: s.name for s in q.scales}
    traits = [s.id for s in q.scales if s.kind in ("trait", "skill")]
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
                TIED if p.type_tied else names.get(p.primary_type or "", "-"),
                TIED if p.type_tied else names.get(p.secondary_type or "", "-"),
                p.type_clarity or "-",
                "ok" if not flags else "FLAGGED: " + ", ".join(f.index for f in flags),
            ]
        )
    return text_table(rows, right=tuple(range(1, 1 + len(traits) + len(validity))))


def assessment_text(result: ScoreResult, fitted: FitResult | None) -> str:
    """One candidate's profile after ``repprofile assess``: scales, types, quality, fit."""
    q = result.questionnaire
    p = result.profiles()[0]
    names = {s.id: s.name for s in q.scales}
    lines = [f"Profile of {p.candidate_id} ({q.title}, version {q.version})", ""]
    caution = banner_text(
        caution_reasons(
            quality_valid=p.quality is None or p.quality.valid,
            quality_flags=[f.reason for f in p.quality.flags] if p.quality is not None else [],
            type_tied=p.type_tied,
        )
    )
    if caution:
        lines += ["CAUTION: " + caution, ""]
    prov = result.provenance.model_dump(mode="json")
    if prov.get("sjt_key_draft"):
        lines += [f"CAUTION: SJT {DRAFT_KEY} (the skill scores use a draft key).", ""]
    lines.append(_assessment_scales(result, p))
    for s in q.scales:
        reason = p.scales[s.id].reason
        if reason:
            lines.append(f"{s.name}: no score, {reason}.")
    lines.append("POMP: percent of the maximum possible score (0-100).")
    if q.has_sjt:
        lines.append(
            f"Skill scales: situational judgment, scored by the {prov.get('sjt_method')} "
            "method; ANSWERED counts scenarios answered."
        )
    if result.norms is not None:
        simulated = "a SIMULATED sample, not real people: " if result.norms.simulated else ""
        lines.append(
            f"T and percentile: against the norm table ({simulated}{result.norms.description})."
        )
    lines.append("")
    primary = TIED if p.type_tied else names.get(p.primary_type or "", "none")
    secondary = TIED if p.type_tied else names.get(p.secondary_type or "", "none")
    lines.append(f"Primary type: {primary}; secondary type: {secondary}.")
    if p.type_clarity is not None:
        lines.append(
            f"Type clarity: {p.type_clarity}"
            + (" (the two types cannot be told apart)" if p.type_clarity == "mixed" else "")
            + "."
        )
    quality = p.quality
    if quality is not None:
        if quality.valid:
            lines.append("Response quality: no flags.")
        else:
            lines.append("Response quality: FLAGGED.")
            lines += [f"  - {f.reason}" for f in quality.flags]
    if fitted is not None:
        lines += _assessment_fit(fitted, names)
    lines.append("")
    return "\n".join(lines) + "\n"


def _assessment_scales(result: ScoreResult, p: Profile) -> str:
    """A candidate's scales: POMP with a bar, items answered, T and percentile."""
    q = result.questionnaire
    has_norms = result.norms is not None
    rows: list[tuple[str, ...]] = [
        ("SCALE", "POMP", "", "ANSWERED", *(("T", "PERCENTILE") if has_norms else ()))
    ]
    n_items = dict(zip(q.scale_ids, q.items_per_scale.tolist(), strict=True))
    for s in q.scales:
        sc = p.scales[s.id]
        name = s.name + {"validity": " (validity)", "skill": " (skill)"}.get(s.kind, "")
        bar = "" if sc.pomp is None else "#" * round(sc.pomp / 5) + "." * (20 - round(sc.pomp / 5))
        extra: tuple[str, ...] = ()
        if has_norms:
            extra = (number(sc.t, 0), number(sc.percentile, 0))
        rows.append((name, number(sc.pomp, 1), bar, f"{sc.n_answered}/{n_items[s.id]}", *extra))
    return text_table(rows, right=(1, *range(4, len(rows[0]))))


def _assessment_fit(fitted: FitResult, names: Mapping[str, str]) -> list[str]:
    """The first candidate's fit for the role: value, interval, why, minimums."""
    row = fitted.row(0)
    role = fitted.role
    lines = [""]
    if row["fit"] is None:
        lines.append(f"Fit for {role.name} ({role.id}): {row['explanation']}.")
    else:
        ci = ""
        if row["ci_low"] is not None:
            level = fitted.scores.normed.level
            ci = f" ({level:.0%} CI {row['ci_low']:.0f} to {row['ci_high']:.0f})"
        lines.append(f"Fit for {role.name} ({role.id}): {row['fit']:.0f} of 100{ci}.")
        lines.append(f"Why: {row['explanation']}.")
    if role.minimums:
        if row["meets_minimums"]:
            lines.append("Minimums: all met.")
        else:
            failed = ", ".join(names[s] for s in row["failed_minimums"])
            lines.append(f"Minimums: not met on {failed}.")
    return lines
