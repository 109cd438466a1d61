"""``--sjt-method`` and ``--sjt-key`` on the commands that score answers (issue 16).

The candidates are those of tests/test_sjt_scoring.py (mini-rate.yaml, keys s1 = (6, 4, 1),
s2 = (2, 5), s3 = (3, 6, 1)); the expected scores are worked by hand there and here.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from repprofile._formats.questionnaire import SJT_METHODS
from repprofile.cli._common import SJT_METHOD_CHOICES
from repprofile.cli._main import build_parser, main

DATA = Path(__file__).parent / "data" / "sjt"
MINI = str(DATA / "mini-rate.yaml")
ROWS = """candidate_id,s1.a,s1.b,s1.c,s2.a,s2.b,s3.a,s3.b,s3.c
perfect,6,4,1,2,5,3,6,1
reversed,1,3,6,5,2,4,1,6
flat,3,3,3,3,3,3,3,3
mixed,5,5,2,3,4,4,5,2
"""


@pytest.fixture
def answers(tmp_path: Path) -> Path:
    p = tmp_path / "rate.csv"
    p.write_text(ROWS, encoding="utf-8")
    return p


def _csv(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, str]]:
    assert main(argv) == 0
    rows = csv.DictReader(io.StringIO(capsys.readouterr().out))
    return {r["candidate_id"]: r for r in rows}


def test_choices_are_the_scoring_methods() -> None:
    assert tuple(SJT_METHODS) == SJT_METHOD_CHOICES


def test_every_scoring_command_has_the_options_and_convert_has_not() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command" or a.choices)
    choices = sub.choices
    assert isinstance(choices, dict)

    def options(*path: str) -> set[str]:
        p = choices[path[0]]
        for name in path[1:]:
            p = next(a for a in p._actions if a.choices and name in a.choices).choices[name]
        return {s for a in p._actions for s in a.option_strings}

    for cmd in (
        ("score",),
        ("rank",),
        ("fit",),
        ("quality",),
        ("report",),
        ("chart",),
        ("reliability",),
        ("norms", "build"),
        ("calibrate",),
    ):
        assert {"--sjt-method", "--sjt-key"} <= options(*cmd), cmd
    assert "--sjt-method" not in options("convert")


def test_score_distance_by_hand(answers: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["score", str(answers), "-q", MINI, "--format", "csv", "--sjt-method", "distance"]
    rows = _csv(argv, capsys)
    # calm = s1 + s2: worst squared distances 25 + 9 + 25 + 16 + 16 = 91;
    # reversed 69, flat 19, mixed 5 (tests/test_sjt_scoring.py)
    assert float(rows["perfect"]["calm_pomp"]) == 100.0
    assert float(rows["reversed"]["calm_pomp"]) == pytest.approx(100 * (1 - 69 / 91), abs=1e-4)
    assert float(rows["flat"]["calm_pomp"]) == pytest.approx(100 * (1 - 19 / 91), abs=1e-4)
    assert float(rows["mixed"]["calm_pomp"]) == pytest.approx(100 * (1 - 5 / 91), abs=1e-4)
    # total, mixed: eight squared distances of 1 over 150
    assert float(rows["mixed"]["total_pomp"]) == pytest.approx(100 * (1 - 8 / 150), abs=1e-4)


def test_method_changes_the_score_and_provenance(
    answers: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # absolute, own = s2 + s3: worst 4 + 4 + 3 + 5 + 5 = 21; reversed 17, flat 8
    rows = _csv(
        ["score", str(answers), "-q", MINI, "--format", "csv", "--sjt-method", "absolute"], capsys
    )
    assert float(rows["reversed"]["own_pomp"]) == pytest.approx(100 * (1 - 17 / 21), abs=1e-4)
    assert float(rows["flat"]["own_pomp"]) == pytest.approx(100 * (1 - 8 / 21), abs=1e-4)
    assert main(["score", str(answers), "-q", MINI, "--sjt-method", "standardized"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["provenance"]["sjt_method"] == "standardized"
    by_id = {p["candidate_id"]: p for p in doc["profiles"]}
    # standardized total = 100 (1 + r) / 2: perfect r = 1, reversed r = -1
    assert by_id["perfect"]["scales"]["total"]["pomp"] == pytest.approx(100.0)
    assert by_id["reversed"]["scales"]["total"]["pomp"] == pytest.approx(0.0, abs=1e-9)
    # the flat rater has no variance: null with a reason, never a number
    assert by_id["flat"]["scales"]["total"]["pomp"] is None


def test_default_is_the_questionnaire_method(
    answers: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["score", str(answers), "-q", MINI]) == 0
    assert json.loads(capsys.readouterr().out)["provenance"]["sjt_method"] == "distance"


def test_ndjson_stream_takes_the_method(answers: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["score", str(answers), "-q", MINI, "--format", "ndjson", "--sjt-method", "absolute"]
    assert main(argv) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.strip()]
    flat = next(x for x in lines if x.get("candidate_id") == "flat")
    assert flat["scales"]["own"]["pomp"] == pytest.approx(100 * (1 - 8 / 21), abs=1e-9)


def test_mode_without_a_key_is_a_usage_error(
    answers: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["score", str(answers), "-q", MINI, "--sjt-method", "mode"])
    err = capsys.readouterr().err
    assert code == 2
    assert "mode" in err
    assert "key" in err


def test_a_bad_method_is_refused(answers: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["score", str(answers), "-q", MINI, "--sjt-method", "median"])
    assert e.value.code == 2
    assert "invalid choice: 'median'" in capsys.readouterr().err
