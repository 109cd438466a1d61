"""``repprofile report --all --jobs N``: the pool writes the same files as one process,
and a report that fails is named while the others are still written."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from repprofile._formats.files import bundled_dir

SAMPLE = bundled_dir() / "samples" / "rep-types-simulated.csv"
NORMS = bundled_dir() / "norms" / "rep-types-simulated.json"
CLI = [sys.executable, "-m", "repprofile.cli._main"]
LONG_ID = "X" * 300  # a file name of 304 bytes: longer than any file system allows (255)


def _answers(tmp_path: Path, n: int, long_id: bool) -> Path:
    """The first ``n`` candidates of the bundled sample; the last one renamed to an id
    too long for a file name when ``long_id``."""
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()[: n + 1]
    if long_id:
        _head, rest = lines[-1].split(",", 1)
        lines[-1] = f"{LONG_ID},{rest}"
    path = tmp_path / "answers.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _report(answers: Path, out: Path, jobs: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "report", str(answers), "--all", "--role", "escalations", "--norms", str(NORMS),
         "--date", "2026-11-22", "--jobs", str(jobs), "-o", str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def test_jobs_2_writes_the_files_of_jobs_1(tmp_path: Path) -> None:
    answers = _answers(tmp_path, 6, long_id=False)
    one = _report(answers, tmp_path / "one", 1)
    two = _report(answers, tmp_path / "two", 2)
    assert one.returncode == 0, one.stderr
    assert two.returncode == 0, two.stderr
    names = {f"SIMULATED-0{i}.pdf" for i in range(1, 7)}
    assert set(_digests(tmp_path / "one")) == names  # no temporary files left
    assert _digests(tmp_path / "two") == _digests(tmp_path / "one")
    assert "6 reports written" in two.stderr


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_failing_report_is_named_and_the_others_written(tmp_path: Path, jobs: int) -> None:
    answers = _answers(tmp_path, 5, long_id=True)
    run = _report(answers, tmp_path / "out", jobs)
    assert run.returncode == 1, run.stderr  # EXIT_REJECTED: partial output
    assert f"no report for candidate '{LONG_ID}'" in run.stderr
    assert "File name too long" in run.stderr
    assert "4 reports written" in run.stderr
    assert "1 failed" in run.stderr
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == [f"SIMULATED-0{i}.pdf" for i in range(1, 5)]
