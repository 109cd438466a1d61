"""The ``repprofile`` command line.

Exit status: 0 every candidate was scored; 1 some candidates were rejected (they are
listed in the output's ``errors``); 2 unusable input or a usage error.

Only the standard library and the version are imported at start-up; numpy, pydantic
and the rest are imported inside the commands that need them, so ``--help`` is fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from repprofile._version import __version__

__all__ = ["build_parser", "main"]

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_USAGE = 2
EXIT_ADVERSE_IMPACT = 3


class _UsageError(Exception):
    """A problem the user must fix; printed without a traceback, exit status 2."""


def write_output(text: str, output: str | None) -> None:
    """Write ``text`` to stdout, or atomically to a file (temp file + rename)."""
    if output is None or output == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    from repprofile._io import write_atomic

    write_atomic(output, text.encode("utf-8"))


def _warn(message: str) -> None:
    print(f"repprofile: warning: {message}", file=sys.stderr)


def _warn_if_simulated(norms: Any) -> None:
    """Every command that uses a simulated norm table says so on stderr."""
    if norms is not None and norms.simulated:
        _warn(f"the norm table is SIMULATED, not real people: {norms.description}")


def _run_capturing_warnings(fn: Callable[[], int]) -> int:
    import warnings

    from repprofile._input.answers import RepprofileWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RepprofileWarning)
        code = fn()
    for w in caught:
        if issubclass(w.category, RepprofileWarning):
            _warn(str(w.message))
        else:  # pragma: no cover - library warnings outside our own category
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    return code


# --------------------------------------------------------------------------- questionnaire


def _cmd_questionnaire_list(args: argparse.Namespace) -> int:
    from repprofile._formats.questionnaire import list_questionnaires

    rows = [("ID", "VERSION", "SCALES", "ITEMS", "TITLE")]
    for q in list_questionnaires():
        rows.append((q.id, q.version, str(len(q.scales)), str(len(q.items)), q.title))
    write_output(_table(rows), None)
    return EXIT_OK


def _table(rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for r in rows:
        cells = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


def _cmd_questionnaire_show(args: argparse.Namespace) -> int:
    import json

    from repprofile._formats.questionnaire import load_questionnaire

    q = load_questionnaire(args.questionnaire)
    if args.format == "json":
        write_output(
            json.dumps(q.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n", None
        )
        return EXIT_OK
    lines = [f"{q.title}", f"id: {q.id}  version: {q.version}", ""]
    if q.description:
        lines += [q.description, ""]
    rs = q.response_scale
    labels = ", ".join(f"{k} = {v}" for k, v in sorted(rs.labels.items()))
    lines.append(f"Answers: {rs.min} to {rs.max}" + (f" ({labels})" if labels else ""))
    lines.append("")
    counts = {s.id: 0 for s in q.scales}
    rev = {s.id: 0 for s in q.scales}
    for it in q.items:
        if it.scale is not None:
            counts[it.scale] += 1
            rev[it.scale] += it.keyed == -1
    rows: list[tuple[str, ...]] = [("SCALE", "NAME", "KIND", "ITEMS", "REVERSED", "MIN_ANSWERED")]
    for j, s in enumerate(q.scales):
        rows.append(
            (s.id, s.name, s.kind, str(counts[s.id]), str(rev[s.id]), str(q.min_answered[j]))
        )
    lines.append(_table(rows, right=(3, 4, 5)))
    rows = [("ITEM", "SCALE", "KEYED", "TEXT")]
    for it in q.items:
        if it.scale is None:
            expected = "/".join(str(v) for v in it.expected or [])
            rows.append((it.id, f"({it.kind}: {expected})", "", it.text))
        else:
            rows.append((it.id, it.scale, "+" if it.keyed == 1 else "-", it.text))
    lines.append(_table(rows))
    write_output("\n".join(lines), None)
    return EXIT_OK


def _cmd_questionnaire_validate(args: argparse.Namespace) -> int:
    from repprofile._formats.questionnaire import load_questionnaire

    q = load_questionnaire(Path(args.file))
    print(
        f"{args.file}: valid questionnaire {q.id!r} version {q.version}: "
        f"{len(q.scales)} scales, {len(q.items)} items"
    )
    return EXIT_OK


def _cmd_questionnaire_schema(args: argparse.Namespace) -> int:
    import json

    from repprofile._formats.questionnaire import Questionnaire

    schema = Questionnaire.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://repprofile.invalid/schema/questionnaire-{__version__}.json"
    write_output(json.dumps(schema, indent=2) + "\n", args.output)
    return EXIT_OK


# --------------------------------------------------------------------------- score


def _cmd_score(args: argparse.Namespace) -> int:
    def run() -> int:
        import csv
        import io

        from repprofile._analysis.scoring import score
        from repprofile._formats.questionnaire import load_questionnaire

        q = load_questionnaire(args.questionnaire)
        if args.format == "ndjson" and not args.mapping:
            return _score_ndjson(args, q)
        from repprofile._input.survey import read_cli_answers

        answers = read_cli_answers(args, q)
        result = score(q, answers, norms=args.norms, ci=args.ci, reliability=args.reliability)
        if args.strict and not result.scored.all():
            for e in result.errors:
                _warn(f"candidate {e.candidate_id!r} rejected: {e.message}")
            raise _UsageError(
                f"--strict: {len(result) - int(result.scored.sum())} candidate(s) rejected; "
                "nothing was written"
            )
        _warn_if_simulated(result.norms)
        if args.format == "table":
            from repprofile.cli._demo import profile_table

            note = "Scores are POMP (0-100)."
            if result.norms is not None:
                note += f" Norms: {result.norms.description}"
            write_output(profile_table(result) + "\n" + note + "\n", args.output)
            for e in result.errors:
                _warn(f"candidate {e.candidate_id!r} rejected: {e.message}")
        elif args.format == "csv":
            buf = io.StringIO()
            writer = csv.writer(buf, lineterminator="\n")
            writer.writerow(result.csv_header())
            writer.writerows(result.csv_rows())
            write_output(buf.getvalue(), args.output)
            for e in result.errors:
                _warn(f"candidate {e.candidate_id!r} rejected: {e.message}")
        else:
            write_output(result.to_json() + "\n", args.output)
        n_bad = len(result) - int(result.scored.sum())
        if n_bad:
            print(
                f"repprofile: {n_bad} of {len(result)} candidates rejected; see 'errors'",
                file=sys.stderr,
            )
            return EXIT_REJECTED
        return EXIT_OK

    return _run_capturing_warnings(run)


def _cmd_reliability(args: argparse.Namespace) -> int:
    def run() -> int:
        from repprofile._analysis.reliability import reliability
        from repprofile._formats.questionnaire import load_questionnaire
        from repprofile._input.answers import read_answers

        q = load_questionnaire(args.questionnaire)
        rel = reliability(q, read_answers(args.answers, q), ci=args.ci)
        if args.format == "json":
            write_output(rel.to_json() + "\n", args.output)
        else:
            write_output(_reliability_text(rel), args.output)
        return EXIT_OK

    return _run_capturing_warnings(run)


def _num(v: float | None, digits: int = 2) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def _reliability_text(rel: Any) -> str:
    p = rel.provenance
    lines = [
        f"Reliability of {p.questionnaire_id} {p.questionnaire_version}: n = {rel.n_obs} "
        f"(pairwise-complete, as R psych alpha(use = 'pairwise'))",
        "",
    ]
    level = next(iter(rel.scales.values())).alpha_ci_level if rel.scales else 0.95
    rows: list[tuple[str, ...]] = [
        (
            "SCALE",
            "ITEMS",
            "ALPHA",
            f"{level:.0%} CI (Feldt)",
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
    ]
    for sid, s in rel.scales.items():
        ci = "-" if s.alpha_ci is None else f"[{s.alpha_ci[0]:.2f}, {s.alpha_ci[1]:.2f}]"
        rows.append(
            (
                sid,
                str(s.n_items),
                _num(s.alpha),
                ci,
                _num(s.std_alpha),
                _num(s.g6),
                _num(s.average_r),
                _num(s.median_r),
                _num(s.signal_noise),
                _num(s.alpha_se, 3),
                _num(s.omega_total),
                _num(s.mean),
                _num(s.sd),
            )
        )
    lines.append(_table(rows, right=tuple(range(1, 13))))
    for sid, s in rel.scales.items():
        lines.append(f"Item statistics: {sid}")
        rows = [
            (
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
        ]
        for iid, it in s.items.items():
            rows.append(
                (
                    iid,
                    "+" if it.keyed == 1 else "-",
                    str(it.n),
                    _num(it.mean),
                    _num(it.sd),
                    _num(it.r_raw),
                    _num(it.r_cor),
                    _num(it.r_drop),
                    _num(it.alpha_if_dropped),
                    f"{it.missing:.1%}",
                )
            )
        lines.append(_table(rows, right=tuple(range(2, 10))))
        for w in s.warnings:
            lines.append(f"warning: {w}")
    lines.append("Scale intercorrelations (below the diagonal) and disattenuated by alpha (above)")
    ids = rel.scale_ids
    rows = [("", *ids)]
    for i, a in enumerate(ids):
        cells = []
        for j in range(len(ids)):
            v = (
                rel.scale_correlations[i][j]
                if j < i
                else rel.scale_correlations_disattenuated[i][j]
            )
            cells.append("" if i == j else _num(v))
        rows.append((a, *cells))
    lines.append(_table(rows, right=tuple(range(1, len(ids) + 1))))
    return "\n".join(lines)


def _cmd_quality(args: argparse.Namespace) -> int:
    def run() -> int:
        import json

        from repprofile._analysis.scoring import score
        from repprofile._formats.questionnaire import load_questionnaire
        from repprofile._input.answers import read_answers

        q = load_questionnaire(args.questionnaire)
        result = score(q, read_answers(args.answers, q), norms=args.norms)
        qr = result.quality
        matrix = qr.flag_matrix()
        valid = qr.valid
        rows_idx = [int(r) for r in range(len(result)) if result.scored[r]]
        ids = result.candidate_ids
        if args.format == "json":
            doc = {
                "candidates": [
                    {
                        "candidate_id": ids[r],
                        "indices": qr.indices(r),
                        "flags": [f.model_dump() for f in qr.flags(r, matrix)],
                        "valid": bool(valid[r]),
                    }
                    for r in rows_idx
                ],
                "reference": qr.reference_source,
                "unavailable": qr.unavailable,
                "settings": qr.settings.model_dump(),
                "provenance": result.provenance.model_dump(mode="json"),
            }
            write_output(json.dumps(doc, indent=2) + "\n", args.output)
        else:
            names = [
                "longstring",
                "irv",
                "mahalanobis_p",
                "even_odd",
                "psychsyn",
                "attention_failures",
                "seconds_per_item",
            ]
            names += [f"{sid}_pomp" for sid in qr.impression]
            table: list[tuple[str, ...]] = [("CANDIDATE", *[n.upper() for n in names], "FLAGS")]
            for r in rows_idx:
                idx = qr.indices(r)
                flags = qr.flags(r, matrix)
                table.append(
                    (
                        ids[r],
                        *[_num(idx[n], 3 if n in ("mahalanobis_p",) else 2) for n in names],
                        "ok" if not flags else ", ".join(f.index for f in flags),
                    )
                )
            text = _table(table, right=tuple(range(1, len(names) + 1)))
            n_flagged = sum(1 for r in rows_idx if not valid[r])
            text += f"\n{n_flagged} of {len(rows_idx)} candidates flagged. "
            text += f"Reference sample: {qr.reference_source or 'none'}.\n"
            for name, why in qr.unavailable.items():
                text += f"{name}: not computed: {why}\n"
            for r in rows_idx:
                for f in qr.flags(r, matrix):
                    text += f"{ids[r]}: {f.reason}\n"
            write_output(text, args.output)
        n_bad = len(result) - int(result.scored.sum())
        return EXIT_REJECTED if n_bad else EXIT_OK

    return _run_capturing_warnings(run)


def _cmd_norms_build(args: argparse.Namespace) -> int:
    def run() -> int:
        from repprofile._analysis.norms import build_norms
        from repprofile._formats.questionnaire import load_questionnaire
        from repprofile._input.answers import read_answers

        q = load_questionnaire(args.questionnaire)
        table = build_norms(
            q,
            read_answers(args.answers, q),
            description=args.description,
            created=args.date,
            simulated=args.simulated,
        )
        write_output(table.to_json() + "\n", args.output)
        print(
            f"repprofile: norm table for {q.id} {q.version} from {table.n} candidates "
            f"written to {args.output}",
            file=sys.stderr,
        )
        return EXIT_OK

    return _run_capturing_warnings(run)


def _cmd_roles_list(args: argparse.Namespace) -> int:
    from repprofile._formats.role import list_roles

    rows: list[tuple[str, ...]] = [("ID", "QUESTIONNAIRE", "NAME", "TOP WEIGHTS")]
    for r in list_roles():
        top = sorted(r.weights.items(), key=lambda kv: -abs(kv[1]))[:3]
        rows.append((r.id, r.questionnaire, r.name, ", ".join(f"{s} {w:+g}" for s, w in top)))
    write_output(_table(rows), None)
    return EXIT_OK


def _cmd_roles_show(args: argparse.Namespace) -> int:
    import json

    from repprofile._formats.role import load_role

    role = load_role(args.role)
    if args.format == "json":
        write_output(json.dumps(role.model_dump(mode="json"), indent=2) + "\n", None)
        return EXIT_OK
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
    lines += [_table(rows, right=(1, 2, 3)), "Rationale:", role.rationale, ""]
    lines += [f"- {ref}" for ref in role.references]
    write_output("\n".join(lines) + "\n", None)
    return EXIT_OK


def _cmd_roles_validate(args: argparse.Namespace) -> int:
    from repprofile._formats.questionnaire import load_questionnaire
    from repprofile._formats.role import load_role

    q = load_questionnaire(args.questionnaire) if args.questionnaire else None
    role = load_role(Path(args.file), q)
    print(f"{args.file}: valid role {role.id!r} for questionnaire {role.questionnaire!r}")
    return EXIT_OK


def _score_for_fit(args: argparse.Namespace) -> Any:
    from repprofile._analysis.scoring import score
    from repprofile._formats.questionnaire import load_questionnaire
    from repprofile._formats.role import load_role
    from repprofile._input.answers import read_answers

    if args.questionnaire:
        q = load_questionnaire(args.questionnaire)
        roles = [load_role(r, q) for r in args.role]
    else:
        roles = [load_role(r) for r in args.role]
        q = load_questionnaire(roles[0].questionnaire)
        for r in roles:
            r.check_against(q)
    result = score(q, read_answers(args.answers, q), norms=args.norms, ci=args.ci)
    _warn_if_simulated(result.norms)
    return result, roles


def _cmd_fit(args: argparse.Namespace) -> int:
    def run() -> int:
        import json

        from repprofile._analysis.fit import fit, fit_report

        result, roles = _score_for_fit(args)
        doc = fit_report(result, [fit(result, r, cut=args.cut) for r in roles])
        write_output(json.dumps(doc, indent=2) + "\n", args.output)
        return EXIT_REJECTED if not result.scored.all() else EXIT_OK

    return _run_capturing_warnings(run)


def _cmd_rank(args: argparse.Namespace) -> int:
    def run() -> int:
        import csv
        import io
        import json

        from repprofile._analysis.fit import fit, rank

        if len(args.role) != 1:
            raise _UsageError("rank takes one --role")
        result, roles = _score_for_fit(args)
        doc = rank(
            fit(result, roles[0], cut=args.cut), top=args.top, exclude_flagged=args.exclude_flagged
        )
        if args.format == "json":
            write_output(json.dumps(doc, indent=2) + "\n", args.output)
        elif args.format == "csv":
            buf = io.StringIO()
            w = csv.writer(buf, lineterminator="\n")
            scales = list(roles[0].weights)
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
                        _csv(e["fit"]),
                        _csv(e["fit_se"]),
                        _csv(e["ci_low"]),
                        _csv(e["ci_high"]),
                        str(e["meets_minimums"]).lower(),
                        ";".join(e["failed_minimums"]),
                        str(e["quality_valid"]).lower(),
                        *[_csv(e["contributions"][s]) for s in scales],
                    ]
                )
            write_output(buf.getvalue(), args.output)
        else:
            role = doc["role"]
            level = role["ci_level"]
            rows: list[tuple[str, ...]] = [
                (
                    "RANK",
                    "CANDIDATE",
                    "FIT",
                    f"{level:.0%} CI",
                    f"P(>{args.cut:g})",
                    "HURDLES",
                    "QUALITY",
                    "WHY",
                )
            ]
            for e in doc["ranking"]:
                ci = "-" if e["ci_low"] is None else f"{e['ci_low']:.0f}-{e['ci_high']:.0f}"
                rows.append(
                    (
                        str(e["rank"]),
                        e["candidate_id"],
                        _num(e["fit"], 1),
                        ci,
                        _num(e["p_above_cut"], 2) + (" ~cut" if e["near_cut"] else ""),
                        "ok" if e["meets_minimums"] else "FAIL " + ",".join(e["failed_minimums"]),
                        "ok" if e["quality_valid"] else "FLAGGED",
                        e["explanation"],
                    )
                )
            head = f"Ranking for {role['name']} ({role['id']}), fit 0-100, cut {args.cut:g}\n\n"
            write_output(head + _table(rows, right=(0, 2)), args.output)
        return EXIT_REJECTED if not result.scored.all() else EXIT_OK

    return _run_capturing_warnings(run)


def _csv(v: float | None) -> str:
    return "" if v is None else repr(v)


def _progress(done: int, total: int, label: str) -> None:
    """A progress bar on stderr, only when stderr is a terminal."""
    if not sys.stderr.isatty():
        return
    width = 30
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\r{label} [{'#' * filled}{' ' * (width - filled)}] {done}/{total}")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def _cmd_chart(args: argparse.Namespace) -> int:
    def run() -> int:
        from repprofile._analysis.scoring import score
        from repprofile._formats.questionnaire import load_questionnaire
        from repprofile._formats.role import load_role
        from repprofile._input.answers import read_answers
        from repprofile._rendering.charts import radar_chart, radar_grid, save_figure

        q = load_questionnaire(args.questionnaire)
        result = score(q, read_answers(args.answers, q), norms=args.norms, ci=args.ci)
        role = load_role(args.role, q) if args.role else None
        ids = [args.candidate]
        if args.compare:
            ids += [c.strip() for c in args.compare.split(",") if c.strip()]
        missing = [c for c in ids if c not in result.candidate_ids]
        if missing:
            raise _UsageError(f"no candidate {', '.join(map(repr, missing))} in {args.answers}")
        if len(ids) > 5:
            save_figure(radar_grid(result, ids, role=role), args.output)
        else:
            ax = radar_chart(result, ids if len(ids) > 1 else ids[0], role=role)
            save_figure(ax.get_figure(root=True), args.output)  # type: ignore[arg-type]
        return EXIT_OK

    return _run_capturing_warnings(run)


def _cmd_report(args: argparse.Namespace) -> int:
    def run() -> int:
        from repprofile._analysis.fit import fit
        from repprofile._analysis.scoring import score
        from repprofile._formats.questionnaire import load_questionnaire
        from repprofile._formats.role import load_role
        from repprofile._input.answers import read_answers
        from repprofile._rendering.report import write_report

        q = load_questionnaire(args.questionnaire)
        result = score(q, read_answers(args.answers, q), norms=args.norms, ci=args.ci)
        _warn_if_simulated(result.norms)
        role = load_role(args.role, q)
        fitted = fit(result, role, cut=args.cut)
        if args.all:
            ids = [c for c, ok in zip(result.candidate_ids, result.scored, strict=True) if ok]
            folder = Path(args.output)
            for i, cid in enumerate(ids, start=1):
                safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in cid)
                write_report(
                    result,
                    cid,
                    role,
                    folder / f"{safe}.{args.format}",
                    date=args.date,
                    fit_result=fitted,
                )
                if not args.quiet:
                    _progress(i, len(ids), "reports")
            print(f"repprofile: {len(ids)} reports written to {folder}", file=sys.stderr)
        else:
            if args.candidate not in result.candidate_ids:
                raise _UsageError(f"no candidate {args.candidate!r} in {args.answers}")
            out = Path(args.output)
            if out.suffix.lower() not in (".pdf", ".html", ".htm"):
                out = out / f"{args.candidate}.{args.format}"
            write_report(result, args.candidate, role, out, date=args.date, fit_result=fitted)
        return EXIT_REJECTED if not result.scored.all() else EXIT_OK

    return _run_capturing_warnings(run)


def _cmd_calibrate(args: argparse.Namespace) -> int:
    def run() -> int:
        from repprofile._analysis.calibrate import calibrate, read_performance, role_yaml
        from repprofile._analysis.scoring import score
        from repprofile._formats.questionnaire import load_questionnaire
        from repprofile._input.answers import read_answers

        q = load_questionnaire(args.questionnaire)
        result = score(q, read_answers(args.answers, q), norms=args.norms)
        perf = read_performance(args.performance, args.column)
        cal = calibrate(
            result,
            perf,
            criterion=args.column,
            role_id=args.id,
            folds=args.folds,
            bootstrap=args.bootstrap,
            seed=args.seed,
            created=args.date,
        )
        write_output(role_yaml(cal.role), args.output)
        lo, hi = cal.validity_ci
        print(
            f"repprofile: calibrated on {cal.n} candidates: cross-validated validity "
            f"r = {cal.validity:.3f} ({cal.validity_ci_level:.0%} CI {lo:.3f} to {hi:.3f}); "
            f"role written to {args.output}",
            file=sys.stderr,
        )
        for sid, w in cal.weights.items():
            a, b = cal.weights_ci[sid]
            print(f"  {sid:14s} {w:+.3f}  [{a:+.3f}, {b:+.3f}]", file=sys.stderr)
        return EXIT_OK

    return _run_capturing_warnings(run)


def _number(text: str, kind: type[float] | type[int], example: str) -> float:
    """Parse a CLI number, or a usage error (exit status 2) that shows an example."""
    try:
        return kind(text)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise argparse.ArgumentTypeError(
            f"must be {what} such as {example}, got {text!r}"
        ) from None


def _fit_cut(text: str) -> float:
    v = _number(text, float, "50")
    if not 0.0 < v < 100.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 100 (exclusive), got {text!r}")
    return v


def _positive_int(text: str) -> int:
    v = int(_number(text, int, "10"))
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text!r}")
    return v


def _cmd_audit(args: argparse.Namespace) -> int:
    from repprofile._analysis.audit import audit
    from repprofile._rendering.audit import to_html, to_markdown

    result = audit(
        args.file,
        groups=args.group,
        selected=args.selected,
        score=args.score,
        unknown=args.unknown or (),
        exclude_small=args.exclude_small,
        scales=args.scale or (),
    )
    if args.format == "md":
        write_output(to_markdown(result), args.output)
    elif args.format == "html":
        write_output(to_html(result), args.output)
    else:
        write_output(result.model_dump_json(indent=2) + "\n", args.output)
    if args.fail_on_adverse_impact and result.adverse_impact:
        print("repprofile: adverse impact found (impact ratio below 0.8)", file=sys.stderr)
        return EXIT_ADVERSE_IMPACT
    return EXIT_OK


def _port(text: str) -> int:
    v = int(_number(text, int, "8000"))
    if not 0 <= v <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 0 to 65535, got {text!r}")
    return v


def _ci_level(text: str) -> float:
    v = _number(text, float, "0.90")
    if 50.0 <= v < 100.0:  # a percentage such as 90 or 95
        v /= 100.0
    if not 0.0 < v < 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (e.g. 0.90), got {text!r}")
    return v


def _score_ndjson(args: argparse.Namespace, q: Any) -> int:
    """Stream NDJSON (memory stays flat); a file output is written atomically."""
    from repprofile._analysis.stream import stream_score
    from repprofile._formats.norms import load_norms
    from repprofile._io import atomic_text

    table = load_norms(args.norms) if args.norms else None
    _warn_if_simulated(table)

    def progress(done: int) -> None:
        if not args.quiet and sys.stderr.isatty():
            sys.stderr.write(f"\rscored {done:,} candidates")
            sys.stderr.flush()

    def run(out: TextIO) -> tuple[int, int]:
        return stream_score(
            args.answers,
            q,
            out,
            norms=table,
            ci=args.ci,
            reliability=args.reliability,
            progress=progress,
        )

    if args.output and args.output != "-":
        with atomic_text(args.output) as fh:
            scored, rejected = run(fh)
            if args.strict and rejected:
                raise _UsageError(
                    f"--strict: {rejected} candidate(s) rejected; nothing was written"
                )
    else:
        scored, rejected = run(sys.stdout)
        sys.stdout.flush()
        if args.strict and rejected:
            raise _UsageError(f"--strict: {rejected} candidate(s) rejected (see the error lines)")
    if not args.quiet and sys.stderr.isatty():
        sys.stderr.write("\n")
    if rejected:
        print(
            f"repprofile: {rejected} of {scored + rejected} candidates rejected; see the "
            "error lines",
            file=sys.stderr,
        )
        return EXIT_REJECTED
    return EXIT_OK


def _cmd_serve(args: argparse.Namespace) -> int:
    """Run the HTTP API under uvicorn (options reach every worker as environment)."""
    import os

    try:
        import uvicorn
        from uvicorn.config import LOGGING_CONFIG

        from repprofile.server._app import ServerSettings
    except ImportError as exc:
        raise _UsageError(
            f"repprofile serve needs the server extra ({exc.name} is not installed): "
            "pip install 'repprofile[server]'"
        ) from None
    base = ServerSettings.from_env()
    update: dict[str, Any] = {}
    if args.key_file:
        update["key_file"] = Path(args.key_file)
    if args.max_body_bytes is not None:
        update["max_body_bytes"] = args.max_body_bytes
    if args.max_candidates is not None:
        update["max_candidates"] = args.max_candidates
    if args.cors_origin:
        update["cors_origins"] = tuple(args.cors_origin)
    if args.no_docs:
        update["docs"] = False
    if args.public_docs:
        update["public_docs"] = True
    settings = ServerSettings.model_validate(base.model_dump() | update)
    settings.key_digests()  # no key, an unreadable key file or a short key: exit 2 now
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        _warn(
            f"listening on {args.host}, not only on this machine: put the API behind a reverse "
            "proxy that terminates TLS (docs/server.md)"
        )
    os.environ.update(settings.to_env())
    log_config = {**LOGGING_CONFIG, "loggers": dict(LOGGING_CONFIG["loggers"])}
    log_config["loggers"]["repprofile"] = {
        "handlers": ["default"],
        "level": args.log_level.upper(),
        "propagate": False,
    }
    uvicorn.run(
        "repprofile.server._app:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        log_config=log_config,
        root_path=args.root_path,
        limit_concurrency=args.limit_concurrency,
        access_log=args.log_level in ("info", "debug"),  # method, path, status: no bodies
        server_header=False,
    )
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    from repprofile.cli._demo import run_demo

    return run_demo(Path(args.out) if args.out else None, sys.stdout)


# --------------------------------------------------------------------------- parser


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse's own exit status 2, our prefix
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"repprofile: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (also used to generate the CLI reference page)."""
    parser = _Parser(
        prog="repprofile",
        description=(
            "Score customer-service rep candidates on the seven rep types, with the "
            "statistics to judge the scores. Exit status: 0 ok, 1 some candidates "
            "rejected, 2 usage or input error."
        ),
    )
    parser.add_argument("--version", action="version", version=f"repprofile {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    qp = sub.add_parser("questionnaire", help="list, show, validate questionnaires")
    qsub = qp.add_subparsers(dest="qcommand", metavar="ACTION", parser_class=_Parser)
    p = qsub.add_parser("list", help="list the bundled questionnaires")
    p.set_defaults(func=_cmd_questionnaire_list)
    p = qsub.add_parser("show", help="show a questionnaire's scales and items")
    p.add_argument("questionnaire", metavar="ID_OR_FILE", help="bundled id or questionnaire file")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(func=_cmd_questionnaire_show)
    p = qsub.add_parser("validate", help="check a questionnaire file against the format")
    p.add_argument("file", metavar="FILE")
    p.set_defaults(func=_cmd_questionnaire_validate)
    p = qsub.add_parser("schema", help="print the JSON Schema of the questionnaire format")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    p.set_defaults(func=_cmd_questionnaire_schema)
    from repprofile._input.survey import (  # standard library at load
        add_survey_options,
        add_template_parser,
    )

    add_template_parser(qsub)
    qp.set_defaults(func=lambda a: _missing_action(qp))

    p = sub.add_parser("score", help="score answers on every scale")
    p.add_argument("answers", metavar="ANSWERS", help="CSV or JSON answers file, or - for stdin")
    p.add_argument(
        "-q",
        "--questionnaire",
        default="rep-types",
        metavar="ID_OR_FILE",
        help="bundled questionnaire id or questionnaire file (default: rep-types)",
    )
    p.add_argument(
        "--format",
        choices=["json", "csv", "ndjson", "table"],
        default="json",
        help="json (one document), csv, ndjson (one line per candidate, streamed) or table",
    )
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    p.add_argument(
        "--norms", metavar="FILE", help="norm table (repprofile norms build): z, T, percentiles"
    )
    p.add_argument(
        "--strict", action="store_true", help="any rejected candidate is fatal (exit status 2)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.add_argument(
        "--ci",
        type=_ci_level,
        default=0.90,
        metavar="LEVEL",
        help="confidence level of score intervals (default 0.90)",
    )
    p.add_argument(
        "--reliability",
        choices=["alpha", "omega_total"],
        default="alpha",
        help="reliability estimate of the norm table for the SEM (default alpha)",
    )
    add_survey_options(p)
    p.set_defaults(func=_cmd_score)

    p = sub.add_parser("reliability", help="reliability and item analysis of every scale")
    p.add_argument("answers", metavar="ANSWERS", help="CSV or JSON answers file, or - for stdin")
    p.add_argument("-q", "--questionnaire", default="rep-types", metavar="ID_OR_FILE")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument(
        "--ci",
        type=_ci_level,
        default=0.95,
        metavar="LEVEL",
        help="level of the Feldt interval for alpha (default 0.95, as R psych)",
    )
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    p.set_defaults(func=_cmd_reliability)

    p = sub.add_parser("quality", help="response-quality indices and flags per candidate")
    p.add_argument("answers", metavar="ANSWERS", help="CSV or JSON answers file, or - for stdin")
    p.add_argument("-q", "--questionnaire", default="rep-types", metavar="ID_OR_FILE")
    p.add_argument("--norms", metavar="FILE", help="norm table: reference sample for small batches")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    p.set_defaults(func=_cmd_quality)

    rp = sub.add_parser("roles", help="list, show, validate role files")
    rsub = rp.add_subparsers(dest="rcommand", metavar="ACTION", parser_class=_Parser)
    p = rsub.add_parser("list", help="list the bundled roles")
    p.set_defaults(func=_cmd_roles_list)
    p = rsub.add_parser("show", help="show a role's weights, hurdles and rationale")
    p.add_argument("role", metavar="ID_OR_FILE", help="bundled role id or role file")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(func=_cmd_roles_show)
    p = rsub.add_parser(
        "validate", help="check a role file against the format and its questionnaire"
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument(
        "-q", "--questionnaire", metavar="ID_OR_FILE", help="questionnaire (default: the role's)"
    )
    p.set_defaults(func=_cmd_roles_validate)
    rp.set_defaults(func=lambda a: _missing_action(rp))

    for name, helptext in (
        ("fit", "fit of each candidate for one or more roles (and the best-fit role)"),
        ("rank", "rank candidates for a role, best first"),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument(
            "answers", metavar="ANSWERS", help="CSV or JSON answers file, or - for stdin"
        )
        p.add_argument(
            "--role",
            action="append",
            required=True,
            metavar="ROLE",
            help="bundled role id or role file"
            + (" (repeat for several)" if name == "fit" else ""),
        )
        p.add_argument(
            "-q",
            "--questionnaire",
            metavar="ID_OR_FILE",
            help="questionnaire (default: the role's)",
        )
        p.add_argument("--norms", metavar="FILE", help="norm table: z scores and SEMs from norms")
        p.add_argument(
            "--cut", type=_fit_cut, default=50.0, help="fit cut for P(fit > cut) (default 50)"
        )
        p.add_argument(
            "--ci",
            type=_ci_level,
            default=0.90,
            metavar="LEVEL",
            help="confidence level of fit intervals (default 0.90)",
        )
        p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
        if name == "rank":
            p.add_argument("--top", type=_positive_int, metavar="K", help="only the best K")
            p.add_argument(
                "--exclude-flagged",
                action="store_true",
                help="leave out candidates with quality flags",
            )
            p.add_argument("--format", choices=["json", "csv", "text"], default="json")
            p.set_defaults(func=_cmd_rank)
        else:
            p.set_defaults(func=_cmd_fit)

    p = sub.add_parser("chart", help="radar chart of a candidate (PNG, SVG or PDF by extension)")
    p.add_argument("answers", metavar="ANSWERS", help="CSV or JSON answers file, or - for stdin")
    p.add_argument("--candidate", required=True, metavar="ID")
    p.add_argument("--compare", metavar="ID,ID,...", help="overlay (up to 5) or a grid of more")
    p.add_argument("--role", metavar="ROLE", help="overlay the role's target or weights")
    p.add_argument("-q", "--questionnaire", default="rep-types", metavar="ID_OR_FILE")
    p.add_argument("--norms", metavar="FILE", help="norm table: percentiles instead of POMP")
    p.add_argument("--ci", type=_ci_level, default=0.90, metavar="LEVEL")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help=".png, .svg or .pdf")
    p.set_defaults(func=_cmd_chart)

    p = sub.add_parser("report", help="one-page candidate report (PDF or HTML) for a role")
    p.add_argument("answers", metavar="ANSWERS", help="CSV or JSON answers file, or - for stdin")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--candidate", metavar="ID")
    who.add_argument("--all", action="store_true", help="every scored candidate, into -o DIR")
    p.add_argument("--role", required=True, metavar="ROLE")
    p.add_argument("-q", "--questionnaire", default="rep-types", metavar="ID_OR_FILE")
    p.add_argument("--norms", metavar="FILE", help="norm table: percentiles and intervals")
    p.add_argument("--ci", type=_ci_level, default=0.90, metavar="LEVEL")
    p.add_argument("--cut", type=_fit_cut, default=50.0)
    p.add_argument(
        "--format",
        choices=["pdf", "html"],
        default="pdf",
        help="for --all or an -o folder (a file's extension decides otherwise)",
    )
    p.add_argument("--date", metavar="YYYY-MM-DD", help="date on the report (default today)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("-o", "--output", required=True, metavar="DIR_OR_FILE")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("calibrate", help="learn role weights from performance data")
    p.add_argument("answers", metavar="ANSWERS", help="CSV or JSON answers file")
    p.add_argument(
        "--performance",
        required=True,
        metavar="FILE",
        help="CSV with candidate_id and the criterion column",
    )
    p.add_argument(
        "--column", required=True, metavar="NAME", help="criterion column, e.g. qa_score"
    )
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="role YAML to write")
    p.add_argument("-q", "--questionnaire", default="rep-types", metavar="ID_OR_FILE")
    p.add_argument("--norms", metavar="FILE", help="norm table: standardize with norms")
    p.add_argument(
        "--id", metavar="ROLE_ID", help="id of the role written (default calibrated-COLUMN)"
    )
    p.add_argument(
        "--folds", type=_positive_int, default=10, help="k of k-fold cross-validation (default 10)"
    )
    p.add_argument(
        "--bootstrap", type=_positive_int, default=1000, help="bootstrap resamples (default 1000)"
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--date", metavar="YYYY-MM-DD", help="date to record (default today)")
    p.set_defaults(func=_cmd_calibrate)

    np_ = sub.add_parser("norms", help="build norm tables")
    nsub = np_.add_subparsers(dest="ncommand", metavar="ACTION", parser_class=_Parser)
    p = nsub.add_parser("build", help="build a norm table from a sample of answers")
    p.add_argument("answers", metavar="ANSWERS", help="CSV or JSON answers file, or - for stdin")
    p.add_argument("-q", "--questionnaire", default="rep-types", metavar="ID_OR_FILE")
    p.add_argument("-o", "--output", metavar="FILE", required=True, help="norm table JSON to write")
    p.add_argument(
        "--description",
        required=True,
        help="who the sample is: population, period, selection (shown with every use)",
    )
    p.add_argument("--date", metavar="YYYY-MM-DD", help="date to record (default today)")
    p.add_argument("--simulated", action="store_true", help="mark a simulated norm sample")
    p.set_defaults(func=_cmd_norms_build)
    np_.set_defaults(func=lambda a: _missing_action(np_))

    from repprofile.cli._assess import (
        add_parser as _add_assess,  # the standard library only at load
    )

    _add_assess(sub)

    p = sub.add_parser(
        "audit", help="adverse-impact audit: four-fifths rule and LL144 bias-audit tables"
    )
    p.add_argument("file", metavar="FILE", help="CSV: candidate_id, group columns, outcome")
    p.add_argument(
        "--group",
        action="append",
        required=True,
        metavar="COL",
        help="demographic column (repeat for several; pairs give intersections)",
    )
    outcome = p.add_mutually_exclusive_group(required=True)
    outcome.add_argument("--selected", metavar="COL", help="0/1 selection outcome column")
    outcome.add_argument(
        "--score", metavar="COL", help="score column: scoring rate = share above the sample median"
    )
    p.add_argument(
        "--unknown",
        action="append",
        metavar="VALUE",
        help="another value meaning 'unknown' (blank and 'unknown' always do)",
    )
    p.add_argument(
        "--exclude-small",
        action="store_true",
        help="leave categories under 2%% of the sample out of impact ratios",
    )
    p.add_argument(
        "--scale",
        action="append",
        metavar="COL",
        help="scale score column for standardized mean differences (repeat)",
    )
    p.add_argument("--format", choices=["json", "md", "html"], default="json")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    p.add_argument(
        "--fail-on-adverse-impact",
        action="store_true",
        help="exit with status 3 when any impact ratio is below 0.8",
    )
    p.set_defaults(func=_cmd_audit)

    p = sub.add_parser(
        "serve",
        help="run the HTTP API (needs repprofile[server])",
        description=(
            "Run the HTTP scoring API under uvicorn. API keys come from REPPROFILE_API_KEYS "
            "(comma-separated) or --key-file, never from the command line. See docs/server.md."
        ),
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=_port, default=8000, help="port (default 8000)")
    p.add_argument("--workers", type=_positive_int, default=1, help="worker processes (default 1)")
    p.add_argument("--key-file", metavar="FILE", help="API keys, one per line (# comments)")
    p.add_argument(
        "--max-body-bytes",
        type=_positive_int,
        metavar="N",
        help="largest request body (default 5000000; 413 above)",
    )
    p.add_argument(
        "--max-candidates",
        type=_positive_int,
        metavar="N",
        help="largest batch per request (default 10000; 413 above)",
    )
    p.add_argument(
        "--cors-origin",
        action="append",
        metavar="ORIGIN",
        help="allow browser calls from ORIGIN (repeatable; default: CORS off)",
    )
    p.add_argument("--root-path", default="", help="path prefix set by a reverse proxy")
    p.add_argument("--no-docs", action="store_true", help="serve neither /docs nor /openapi.json")
    p.add_argument(
        "--public-docs",
        action="store_true",
        help="serve /docs and /openapi.json without a key (default: they need one)",
    )
    p.add_argument(
        "--limit-concurrency",
        type=_positive_int,
        metavar="N",
        help="answer 503 beyond N requests in progress per worker (default: no limit)",
    )
    p.add_argument(
        "--log-level",
        choices=["critical", "error", "warning", "info", "debug"],
        default="info",
        help="log level (debug adds candidate ids; answers and scores are never logged)",
    )
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser("demo", help="score the bundled simulated candidates")
    p.add_argument("--out", metavar="DIR", help="also write the results into DIR")
    p.set_defaults(func=_cmd_demo)
    _fill_help(parser)
    return parser


_COMMON_HELP = {
    "questionnaire": "bundled questionnaire id or questionnaire file",
    "format": "output format",
    "ci": "confidence level of the intervals, e.g. 0.90 or 90",
    "cut": "fit cut (0-100) for P(fit > cut) and 'near cut' (default 50)",
    "candidate": "candidate id",
    "role": "bundled role id or role file",
    "output": "output file (or folder), written atomically",
    "file": "file to check",
    "answers": "CSV or JSON answers file, or - for stdin",
}


def _fill_help(parser: argparse.ArgumentParser) -> None:
    """Give every argument without its own help the common one for its name."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _fill_help(sub)
        elif action.help is None and action.dest in _COMMON_HELP:
            action.help = _COMMON_HELP[action.dest]


def _missing_action(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None) -> int:
    """Run the CLI; returns the exit status (the console script exits with it)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        code: int = args.func(args)
    except _UsageError as exc:
        print(f"repprofile: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # e.g. piped into head
        sys.stderr.close()
        return EXIT_OK
    except Exception as exc:
        from repprofile._errors import RepprofileError

        if isinstance(exc, RepprofileError):
            print(f"repprofile: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        raise
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
