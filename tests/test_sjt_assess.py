"""``repprofile assess`` with situational judgment (SJT) items (issue 16), driven
through standard input in line mode as in tests/test_assess.py."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from repprofile.cli import main

DATA = Path(__file__).parent / "data" / "sjt"


def _run(
    argv: list[str],
    lines: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> tuple[int, str]:
    """Exit status, and stdout then stderr."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(lines))
    code = main(["assess", *argv])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _read(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_rate_shows_the_scenario_then_each_response(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    q = str(DATA / "mini-rate.yaml")
    # the MIXED candidate of tests/test_sjt_scoring.py, with an invalid 7 first
    code, out = _run(
        ["-q", q, "--candidate", "ann", "--show-results"],
        "7\n5\n5\n2\n3\n4\n4\n5\n2\n\n",
        monkeypatch,
        capsys,
    )
    assert code == 0
    assert "1/8\nScenario one\n\n  Response 1 of 3: A\n\nHow effective is this response?\n" in out
    assert "7 is not an answer: answer 1 to 6" in out
    assert "8/8\nScenario three\n\n  Response 3 of 3: C\n" in out
    doc = _read(tmp_path / "ann.json")
    assert doc["answers"][0]["answers"] == {
        "s1.a": 5,
        "s1.b": 5,
        "s1.c": 2,
        "s2.a": 3,
        "s2.b": 4,
        "s3.a": 4,
        "s3.b": 5,
        "s3.c": 2,
    }
    scales = doc["profiles"][0]["scales"]
    # distance: calm 5 squared points over 91, total 8 over 150 (tests/test_sjt_scoring.py)
    assert scales["calm"]["pomp"] == pytest.approx(100 * (1 - 5 / 91))
    assert scales["total"]["pomp"] == pytest.approx(100 * (1 - 8 / 150))
    assert "Calm (skill)" in out


def test_most_least_picks_are_saved_as_option_ids_and_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    q = str(DATA / "mini-most-least.yaml")
    code, out = _run(["-q", q, "--candidate", "bo"], "1\n9\n3\nq\n", monkeypatch, capsys)
    assert code == 1  # paused
    assert "  1  A\n  2  B\n  3  C\n\nWhich response is the MOST effective?\n" in out
    assert "Which response is the LEAST effective?" in out
    assert "Keys: 1-3 choose, b back, s skip, q quit and save" in out
    assert "9 is not an answer: answer 1 to 3" in out
    progress = tmp_path / "bo.progress.json"
    saved = _read(progress)
    assert saved["answers"] == {"m1.most": "a", "m1.least": "c"}
    assert saved["position"] == 2
    # resume: back to m1.least (its answer shown as its number), keep it, then m2
    code, out = _run(["--resume", str(progress)], "b\n\n2\n1\n\n", monkeypatch, capsys)
    assert code == 0
    assert "Your answer: 3 (Enter keeps it)" in out
    doc = _read(tmp_path / "bo.json")
    assert doc["answers"][0]["answers"] == {
        "m1.most": "a",
        "m1.least": "c",
        "m2.most": "b",
        "m2.least": "a",
    }
    # keyed most / least: m1 a / c, m2 b / a: +2 per scenario, 100 x (4 + 4) / 8
    assert doc["profiles"][0]["scales"]["calm"]["pomp"] == pytest.approx(100.0)


def test_a_bad_pick_in_a_progress_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    q = str(DATA / "mini-most-least.yaml")
    _run(["-q", q, "--candidate", "cy"], "1\nq\n", monkeypatch, capsys)
    progress = tmp_path / "cy.progress.json"
    data = _read(progress)
    data["answers"]["m1.most"] = "z"
    progress.write_text(json.dumps(data), encoding="utf-8")
    code, err = _run(["--resume", str(progress)], "", monkeypatch, capsys)
    assert code == 2
    assert "'m1.most' is 'z'; expected one of the option ids a, b, c or null" in err


def test_sjt_method_is_kept_for_the_resumed_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    q = str(DATA / "mini-rate.yaml")
    argv = ["-q", q, "--candidate", "fl", "--sjt-method", "absolute"]
    _run(argv, "3\n3\n3\nq\n", monkeypatch, capsys)
    progress = tmp_path / "fl.progress.json"
    assert _read(progress)["sjt_method"] == "absolute"
    code, _ = _run(["--resume", str(progress)], "3\n3\n3\n3\n3\n\n", monkeypatch, capsys)
    assert code == 0
    doc = _read(tmp_path / "fl.json")
    assert doc["provenance"]["sjt_method"] == "absolute"
    # the flat rater, absolute, own: 1 + 2 + 0 + 3 + 2 = 8 over 21
    assert doc["profiles"][0]["scales"]["own"]["pomp"] == pytest.approx(100 * (1 - 8 / 21))
