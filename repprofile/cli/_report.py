"""``repprofile report``: one-page candidate reports (PDF or HTML) for a role."""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import sys
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from repprofile.cli._common import (
    EXIT_OK,
    EXIT_REJECTED,
    UsageError,
    add_answers,
    add_ci,
    add_norms,
    add_questionnaire,
    fit_cut,
    positive_int,
    progress,
    run_capturing_warnings,
    warn_if_simulated,
)

if TYPE_CHECKING:
    from repprofile._analysis.fit import FitResult
    from repprofile._analysis.scoring import ScoreResult
    from repprofile._formats.role import Role
    from repprofile.cli._common import Subparsers

__all__ = ["register"]


def register(sub: Subparsers) -> None:
    """Add ``report``."""
    p = sub.add_parser("report", help="one-page candidate report (PDF or HTML) for a role")
    add_answers(p)
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--candidate", metavar="ID")
    who.add_argument("--all", action="store_true", help="every scored candidate, into -o DIR")
    p.add_argument("--role", required=True, metavar="ROLE")
    add_questionnaire(p)
    add_norms(p, "norm table: percentiles and intervals")
    add_ci(p)
    p.add_argument("--cut", type=fit_cut, default=50.0)
    p.add_argument(
        "--format",
        choices=["pdf", "html"],
        default="pdf",
        help="for --all or an -o folder (a file's extension decides otherwise)",
    )
    p.add_argument("--date", metavar="YYYY-MM-DD", help="date on the report (default today)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--jobs",
        type=positive_int,
        default=None,
        metavar="N",
        help=(
            "with --all: worker processes rendering reports (default: the number of CPUs; "
            "1 = in this process); the files are the same whatever N"
        ),
    )
    p.add_argument("-o", "--output", required=True, metavar="DIR_OR_FILE")
    p.set_defaults(func=_cmd_report)


def _cmd_report(args: argparse.Namespace) -> int:
    def run() -> int:
        from repprofile._analysis.fit import fit
        from repprofile._analysis.scoring import score
        from repprofile._formats.questionnaire import load_questionnaire
        from repprofile._formats.role import load_role
        from repprofile._rendering.report import write_report
        from repprofile.cli._common import read_cli_answers, sjt_options

        q = load_questionnaire(args.questionnaire)
        result = score(
            q, read_cli_answers(args, q), norms=args.norms, ci=args.ci, **sjt_options(args)
        )
        warn_if_simulated(result.norms)
        role = load_role(args.role, q)
        fitted = fit(result, role, cut=args.cut)
        if args.all:
            if not _report_all(args, result, role, fitted):
                return EXIT_REJECTED  # some reports failed (named on stderr); others written
        else:
            if args.candidate not in result.candidate_ids:
                raise UsageError(f"no candidate {args.candidate!r} in {args.answers}")
            out = Path(args.output)
            if out.suffix.lower() not in (".pdf", ".html", ".htm"):
                out = out / f"{args.candidate}.{args.format}"
            write_report(result, args.candidate, role, out, date=args.date, fit_result=fitted)
        return EXIT_REJECTED if not result.scored.all() else EXIT_OK

    return run_capturing_warnings(run)


def _cpu_count() -> int:
    """CPUs this process may run on (the default of ``--jobs``)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def _file_name(candidate_id: str, fmt: str) -> str:
    """A candidate's report file name: the id with anything but letters, digits, ``-``,
    ``_`` and ``.`` replaced by ``_``, and the format's extension."""
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in candidate_id)
    return f"{safe}.{fmt}"


# What a worker renders from: set once per process by `_init_worker` (the scored result,
# role and fit are pickled once per worker, not once per report).
_Batch = tuple["ScoreResult", "Role", "FitResult", Literal["pdf", "html"], str | None]
_WORKER: _Batch | None = None


def _init_worker(
    result: ScoreResult,
    role: Role,
    fitted: FitResult,
    fmt: Literal["pdf", "html"],
    date: str | None,
    ignore_sigint: bool,
) -> None:
    """Pool initializer: keep what every report needs; a worker ignores Ctrl-C (the
    parent stops the pool, so a worker never dies half-way with a traceback)."""
    global _WORKER
    if ignore_sigint:
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER = (result, role, fitted, fmt, date)


def _render_one(candidate_id: str) -> tuple[str, bytes | None, str | None]:
    """One candidate's report bytes, or the error that stopped it (never raised: one
    failing report must not stop the others): ``(id, bytes or None, error or None)``."""
    from repprofile._rendering.report import report_bytes

    assert _WORKER is not None, "_init_worker was not called"
    result, role, fitted, fmt, date = _WORKER
    try:
        data = report_bytes(
            result, candidate_id, role, fmt, date=date, fit_result=fitted, caller="report"
        )
    except Exception as exc:
        return candidate_id, None, f"{type(exc).__name__}: {exc}"
    return candidate_id, data, None


def _rendered(
    ids: list[str], jobs: int, batch: _Batch
) -> Generator[tuple[str, bytes | None, str | None], None, None]:
    """The rendered reports as they finish: in this process (``jobs`` 1), else from a
    pool of ``jobs`` worker processes started with 'forkserver' (or 'spawn' where there
    is none; matplotlib and threads are not fork-safe), each initialised once. On
    Ctrl-C (or any error here) the pool is terminated before the exception goes on."""
    global _WORKER
    if jobs == 1:
        _init_worker(*batch, ignore_sigint=False)
        try:
            yield from map(_render_one, ids)
        finally:
            _WORKER = None
        return
    import multiprocessing

    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    ctx = multiprocessing.get_context(method)
    # `with` terminates the workers on leaving, also on KeyboardInterrupt
    with ctx.Pool(jobs, initializer=_init_worker, initargs=(*batch, True)) as pool:
        yield from pool.imap_unordered(_render_one, ids, chunksize=1)


def _report_all(
    args: argparse.Namespace, result: ScoreResult, role: Role, fitted: FitResult
) -> bool:
    """A report per scored candidate into the folder -o, named by the candidate id;
    rendered by ``--jobs`` processes, each file written atomically here as it arrives
    (temporary name, then rename: an interrupted run leaves no half-written report).
    A report that fails is named on stderr and the others are still written; returns
    whether every report was written."""
    from repprofile._io import write_atomic

    ids = [c for c, ok in zip(result.candidate_ids, result.scored, strict=True) if ok]
    folder = Path(args.output)
    fmt: Literal["pdf", "html"] = args.format
    # one date for the whole batch (and every worker): the run may pass midnight
    date = args.date if args.date is not None else _dt.date.today().isoformat()
    jobs = max(1, min(args.jobs or _cpu_count(), len(ids)))
    written = failed = 0
    rendered = _rendered(ids, jobs, (result, role, fitted, fmt, date))
    try:
        for i, (cid, data, error) in enumerate(rendered, start=1):
            if data is not None:
                try:
                    write_atomic(folder / _file_name(cid, fmt), data)
                    written += 1
                except OSError as exc:
                    error = f"{type(exc).__name__}: {exc}"
            if error is not None:
                failed += 1
                if not args.quiet and sys.stderr.isatty():
                    sys.stderr.write("\n")  # end the progress bar's line
                print(
                    f"repprofile: error: no report for candidate {cid!r}: {error}", file=sys.stderr
                )
            if not args.quiet:
                progress(i, len(ids), "reports")
    except KeyboardInterrupt:
        print(
            f"\nrepprofile: interrupted: {written} of {len(ids)} reports written to {folder}",
            file=sys.stderr,
        )
        raise
    finally:
        rendered.close()  # stops the pool now, whatever happened
    tail = f"; {failed} failed (named above)" if failed else ""
    print(f"repprofile: {written} reports written to {folder}{tail}", file=sys.stderr)
    return failed == 0
