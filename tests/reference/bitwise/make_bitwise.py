"""Record the digests behind ``tests/test_bitwise.py``.

The command-line outputs below are contracts: score, reliability, quality, fit, rank and
norm-table documents for the bundled 12-candidate sample and for a 600-candidate
simulated batch with about 3% missing answers (``batch600.csv``, made once by
``simulate_answers(q, 600, seed=600, missing=0.03)`` and kept as a file so that the
fixture does not depend on the simulator). A change that moves code but not numbers
leaves every digest as it is; one that changes a number, a key or a space does not.

Run from the repository root after a deliberate change of output:
``.venv/bin/python tests/reference/bitwise/make_bitwise.py``
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
SAMPLE = ROOT / "questionnaires" / "samples" / "rep-types-simulated.csv"
NORMS = ROOT / "questionnaires" / "norms" / "rep-types-simulated.json"
BATCH = HERE / "batch600.csv"
ROLES = ("escalations", "general-frontline", "complex-support")


def commands(tmp: Path) -> Iterator[tuple[str, list[str]]]:
    """(name, argv) of every output compared bit for bit."""
    for label, data in (("sample", SAMPLE), ("batch600", BATCH)):
        d = str(data)
        yield f"{label}/score.json", ["score", d, "--format", "json", "--quiet"]
        yield f"{label}/score.csv", ["score", d, "--format", "csv", "--quiet"]
        yield f"{label}/score-normed.json", ["score", d, "--norms", str(NORMS), "--quiet"]
        yield (
            f"{label}/score-normed.csv",
            [
                "score",
                d,
                "--norms",
                str(NORMS),
                "--format",
                "csv",
                "--quiet",
            ],
        )
        yield f"{label}/score.ndjson", ["score", d, "--format", "ndjson", "--quiet"]
        yield f"{label}/reliability.json", ["reliability", d, "--format", "json"]
        yield f"{label}/reliability.txt", ["reliability", d]
        yield f"{label}/quality.json", ["quality", d, "--format", "json"]
        yield (
            f"{label}/quality-normed.json",
            [
                "quality",
                d,
                "--norms",
                str(NORMS),
                "--format",
                "json",
            ],
        )
        fit = ["fit", d, "--norms", str(NORMS)]
        for role in ROLES:
            fit += ["--role", role]
        yield f"{label}/fit.json", fit
        for role in ROLES:
            for fmt in ("json", "csv", "text"):
                yield (
                    f"{label}/rank-{role}.{fmt}",
                    [
                        "rank",
                        d,
                        "--role",
                        role,
                        "--norms",
                        str(NORMS),
                        "--format",
                        fmt,
                    ],
                )
        yield (
            f"{label}/rank-top5-excl.json",
            [
                "rank",
                d,
                "--role",
                "escalations",
                "--top",
                "5",
                "--exclude-flagged",
            ],
        )
        out = tmp / f"{label}-norms.json"
        yield (
            f"{label}/norms.json",
            [
                "norms",
                "build",
                d,
                "-o",
                str(out),
                "--description",
                "bitwise fixture",
                "--date",
                "2026-01-01",
            ],
        )


def run(argv: list[str], tmp: Path) -> bytes:
    """Run one command in-process; its stdout, or the file it wrote with -o."""
    from repprofile.cli import main

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
        code = main(argv, stdout=buf)
    if code not in (0, 1):
        raise SystemExit(f"{argv} exited {code}")
    if "-o" in argv:
        return Path(argv[argv.index("-o") + 1]).read_bytes()
    return buf.getvalue().encode("utf-8")


def digests(tmp: Path) -> dict[str, str]:
    return {name: hashlib.sha256(run(argv, tmp)).hexdigest() for name, argv in commands(tmp)}


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as t:
        found = digests(Path(t))
    (HERE / "digests.json").write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")
    print(f"{len(found)} digests written", file=sys.stderr)
