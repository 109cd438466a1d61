"""The ``repprofile`` command line, run as the installed console script in real subprocesses.

Exit status contract: 0 every candidate scored, 1 some candidates rejected, 2 unusable
input or a usage error. Scores use the small questionnaire MINI (see test_answers.py for
the hand computation): alpha = a1, a2 (reverse-keyed), a3; beta = b1, b2, b3 (reverse-keyed);
answers 1-5, a reverse-keyed answer x counts as 6 - x.

Each command starts a Python process that imports numpy and pydantic, so every command of
this module is run once, concurrently, by the module fixture ``results`` (in one working
folder holding the input files, named relative to it); the tests then check the outputs.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import repprofile

from .conftest import MINI_YAML

SCRIPT = Path(sys.executable).parent / "repprofile"


# c1: alpha 5 + (6-1) + 4 = 14 over 3; beta 2 + (6-3) = 5 over 2 -> mean 2.5, pomp 37.5
# c2: alpha 2 + (6-4) + 3 = 7 over 3; beta 4 + 5 + (6-1) = 14 over 3
GOOD_CSV = "candidate_id,a1,a2,a3,b1,b2,b3\nc1,5,1,4,2,,3\nc2,2,4,3,4,5,1\n"
# "bad" answers 7 to a3: outside 1-5, rejected; c1 and c2 are still scored
BAD_CSV = GOOD_CSV + "bad,3,3,7,3,3,3\n"
GOOD_JSON = json.dumps(
    [
        {"candidate_id": "c1", "answers": {"a1": 5, "a2": 1, "a3": 4, "b1": 2, "b3": 3}},
        {"candidate_id": "c2", "answers": {"a1": 2, "a2": 4, "a3": 3, "b1": 4, "b2": 5, "b3": 1}},
    ]
)
# rep-types controller items ctl01 (+), ctl02 (+), ctl03 (-), ctl04 (+), ctl05 (+)
ONE_REP_JSON = json.dumps(
    [
        {
            "candidate_id": "r1",
            "answers": {"ctl01": 5, "ctl02": 4, "ctl03": 2, "ctl04": 3, "ctl05": 5},
        }
    ]
)

FILES = {
    "own.yaml": MINI_YAML,
    "bad.yaml": MINI_YAML.replace("keyed: -1}", "keyed: 2}", 1),  # items[1].keyed: 2
    "answers.csv": GOOD_CSV,
    "rejects.csv": BAD_CSV,
    "noid.csv": "id,a1,a2,a3,b1,b2,b3\nc1,5,1,4,2,,3\n",
    "object.json": '{"a1": 3}',
    "one.json": ONE_REP_JSON,
    "extra.csv": "candidate_id,a1,a2,a3,b1,b2,b3,notes\nc1,5,1,4,2,,3,x\nc2,2,4,3,4,5,1,y\n",
}

# name -> (arguments, stdin)
COMMANDS: dict[str, tuple[tuple[str, ...], str]] = {
    "version": (("--version",), ""),
    "no-answers": (("score",), ""),
    "bad-format": (("score", "answers.csv", "--format", "xml"), ""),
    "unknown-command": (("frobnicate",), ""),
    "bare": ((), ""),
    "questionnaire-bare": (("questionnaire",), ""),
    "list": (("questionnaire", "list"), ""),
    "show-json": (("questionnaire", "show", "rep-types", "--format", "json"), ""),
    "show-text": (("questionnaire", "show", "own.yaml"), ""),
    "validate-ok": (("questionnaire", "validate", "own.yaml"), ""),
    "validate-bad": (("questionnaire", "validate", "bad.yaml"), ""),
    "validate-absent": (("questionnaire", "validate", "absent.yaml"), ""),
    "schema": (("questionnaire", "schema"), ""),
    "schema-file": (("questionnaire", "schema", "-o", "schema.json"), ""),
    "score": (("score", "answers.csv", "--questionnaire", "own.yaml"), ""),
    "score-bundled": (("score", "one.json"), ""),
    "score-rejects": (("score", "rejects.csv", "-q", "own.yaml"), ""),
    "score-absent": (("score", "absent.csv", "-q", "own.yaml"), ""),
    "score-noid": (("score", "noid.csv", "-q", "own.yaml"), ""),
    "score-object": (("score", "object.json", "-q", "own.yaml"), ""),
    "score-unknown-q": (("score", "answers.csv", "-q", "no-such-id"), ""),
    "stdin-csv": (("score", "-", "-q", "own.yaml"), GOOD_CSV),
    "stdin-json": (("score", "-", "-q", "own.yaml"), GOOD_JSON),
    "csv": (("score", "rejects.csv", "-q", "own.yaml", "--format", "csv"), ""),
    "csv-file": (
        ("score", "rejects.csv", "-q", "own.yaml", "--format", "csv", "-o", "out.csv"),
        "",
    ),
    "json-file": (("score", "answers.csv", "-q", "own.yaml", "-o", "new/scores.json"), ""),
    "extra-column": (("score", "extra.csv", "-q", "own.yaml"), ""),
    "demo": (("demo",), ""),
    "demo-out": (("demo", "--out", "demo-out"), ""),
}

Results = dict[str, subprocess.CompletedProcess[str]]


def run(args: tuple[str, ...], stdin: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli")
    for name, text in FILES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def results(workdir: Path) -> Results:
    assert SCRIPT.is_file(), f"console script not installed at {SCRIPT}"
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {
            name: pool.submit(run, args, stdin, workdir) for name, (args, stdin) in COMMANDS.items()
        }
        return {name: future.result() for name, future in futures.items()}


def check_good_scores(doc: dict[str, Any]) -> None:
    """The hand-computed scores of c1 and c2 (module comment)."""
    profiles = {p["candidate_id"]: p for p in doc["profiles"]}
    assert list(profiles) == ["c1", "c2"]
    c1, c2 = profiles["c1"]["scales"], profiles["c2"]["scales"]
    assert (c1["alpha"]["raw"], c1["alpha"]["n_answered"]) == (14.0, 3)
    assert (c1["beta"]["raw"], c1["beta"]["mean"], c1["beta"]["pomp"]) == (5.0, 2.5, 37.5)
    assert (c2["alpha"]["raw"], c2["beta"]["raw"]) == (7.0, 14.0)
    assert c2["alpha"]["pomp"] == pytest.approx(100 / 3, rel=1e-12)  # 100 * (7/3 - 1) / 4
    assert (profiles["c1"]["primary_type"], profiles["c1"]["secondary_type"]) == ("alpha", "beta")
    assert (profiles["c2"]["primary_type"], profiles["c2"]["secondary_type"]) == ("beta", "alpha")
    assert doc["provenance"]["questionnaire_id"] == "mini"


# --------------------------------------------------------------------------- general


def test_version(results: Results) -> None:
    proc = results["version"]
    assert proc.returncode == 0
    assert proc.stdout == f"repprofile {repprofile.__version__}\n"
    assert repprofile.__version__ == "0.1.0"


def test_usage_errors_exit_2(results: Results) -> None:
    no_answers = results["no-answers"]
    assert no_answers.returncode == 2
    assert "the following arguments are required: ANSWERS" in no_answers.stderr
    assert no_answers.stdout == ""
    bad_format = results["bad-format"]
    assert bad_format.returncode == 2
    assert "invalid choice: 'xml'" in bad_format.stderr
    unknown = results["unknown-command"]
    assert unknown.returncode == 2
    assert "repprofile: error:" in unknown.stderr


def test_no_command_or_action_prints_help_and_exits_2(results: Results) -> None:
    bare = results["bare"]
    assert bare.returncode == 2
    assert "usage: repprofile" in bare.stderr
    no_action = results["questionnaire-bare"]
    assert no_action.returncode == 2
    assert "usage: repprofile questionnaire" in no_action.stderr


# --------------------------------------------------------------------------- questionnaire


def test_questionnaire_list(results: Results) -> None:
    proc = results["list"]
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["ID", "VERSION", "SCALES", "ITEMS", "TITLE"]
    row = next(line.split() for line in lines if line.startswith("rep-types "))
    assert row[:4] == ["rep-types", "1.1.0", "8", "80"]


def test_questionnaire_show_json(results: Results) -> None:
    proc = results["show-json"]
    assert proc.returncode == 0
    doc = json.loads(proc.stdout)
    assert set(doc) >= {
        "id",
        "version",
        "title",
        "description",
        "instructions",
        "response_scale",
        "scales",
        "items",
        "references",
    }
    assert doc["id"] == "rep-types"
    assert [s["id"] for s in doc["scales"]] == [
        "accommodator",
        "competitor",
        "controller",
        "empathizer",
        "hard_worker",
        "innovator",
        "rock",
        "impression",
    ]
    assert set(doc["items"][0]) >= {"id", "text", "scale", "keyed"}
    assert (doc["response_scale"]["min"], doc["response_scale"]["max"]) == (1, 5)


def test_questionnaire_show_text_of_own_file(results: Results) -> None:
    proc = results["show-text"]
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    assert lines[0] == "Mini"
    assert lines[1] == "id: mini  version: 1.0"
    # alpha: 3 items, 1 reversed, min_answered ceil(3/2) = 2
    alpha = next(line.split() for line in lines if line.startswith("alpha "))
    assert alpha == ["alpha", "Alpha", "trait", "3", "1", "2"]
    a2 = next(line.split() for line in lines if line.startswith("a2 "))
    assert a2 == ["a2", "alpha", "-", "A2"]


def test_questionnaire_validate_ok(results: Results) -> None:
    proc = results["validate-ok"]
    assert proc.returncode == 0
    assert proc.stdout == "own.yaml: valid questionnaire 'mini' version 1.0: 2 scales, 6 items\n"


def test_questionnaire_validate_bad_file(results: Results) -> None:
    proc = results["validate-bad"]
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == (
        "repprofile: error: bad.yaml: items[1].keyed: Input should be 1 or -1, got 2 instead\n"
    )


def test_questionnaire_validate_missing_file(results: Results) -> None:
    proc = results["validate-absent"]
    assert proc.returncode == 2
    assert proc.stderr == "repprofile: error: absent.yaml: no such questionnaire file\n"


def test_questionnaire_schema(results: Results, workdir: Path) -> None:
    proc = results["schema"]
    assert proc.returncode == 0
    schema = json.loads(proc.stdout)
    assert {"id", "version", "title", "response_scale", "scales", "items"} <= set(
        schema["properties"]
    )
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    to_file = results["schema-file"]
    assert to_file.returncode == 0
    assert to_file.stdout == ""
    assert json.loads((workdir / "schema.json").read_text(encoding="utf-8")) == schema


# --------------------------------------------------------------------------- score


def test_score_file_exit_0(results: Results) -> None:
    proc = results["score"]
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    check_good_scores(doc)
    assert doc["errors"] == []
    assert proc.stderr == ""


def test_score_with_bundled_questionnaire_by_default(results: Results) -> None:
    # controller: 5 of 10 items answered, min_answered ceil(10/2) = 5.
    # raw = 5 + 4 + (6-2) + 3 + 5 = 21, mean 21/5 = 4.2, pomp 100 * 3.2 / 4 = 80
    proc = results["score-bundled"]
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    controller = doc["profiles"][0]["scales"]["controller"]
    assert (controller["raw"], controller["n_answered"]) == (21.0, 5)
    assert controller["mean"] == pytest.approx(4.2, rel=1e-12)
    assert controller["pomp"] == pytest.approx(80.0, rel=1e-12)
    assert doc["profiles"][0]["primary_type"] == "controller"
    assert doc["profiles"][0]["secondary_type"] is None  # no other scale reaches 5 answers
    assert doc["provenance"]["questionnaire_id"] == "rep-types"


def test_score_one_bad_candidate_exit_1(results: Results) -> None:
    proc = results["score-rejects"]
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    check_good_scores(doc)  # the others are still scored
    assert doc["errors"] == [
        {
            "candidate_id": "bad",
            "item_id": "a3",
            "value": 7,
            "message": "answer 7 is outside the response scale; "
            "expected a whole number from 1 to 5",
        }
    ]
    assert "1 of 3 candidates rejected" in proc.stderr


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("score-absent", "absent.csv: no such answers file"),
        ("score-noid", "noid.csv: the CSV header has no 'candidate_id' column"),
        ("score-object", "object.json: JSON answers must be a list"),
        (
            "score-unknown-q",
            "got 'no-such-id' instead. Bundled ids: rep-hiring, rep-types, service-recovery.",
        ),
    ],
)
def test_score_unusable_input_exit_2(results: Results, name: str, message: str) -> None:
    proc = results[name]
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("repprofile: error: ")
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("name", ["stdin-csv", "stdin-json"])
def test_score_stdin(results: Results, name: str) -> None:
    proc = results[name]
    assert proc.returncode == 0, proc.stderr
    check_good_scores(json.loads(proc.stdout))


def test_score_csv_format(results: Results) -> None:
    proc = results["csv"]
    assert proc.returncode == 1
    rows = list(csv.reader(io.StringIO(proc.stdout)))
    assert rows[0] == [
        "candidate_id",
        "alpha_mean",
        "alpha_pomp",
        "beta_mean",
        "beta_pomp",
        "primary_type",
        "secondary_type",
        "quality_valid",
        "quality_flags",
    ]
    assert [r[0] for r in rows[1:]] == ["c1", "c2"]  # the rejected candidate has no row
    assert rows[1][3:7] == ["2.5", "37.5", "alpha", "beta"]  # c1 beta: 5 / 2, 100 * 1.5 / 4
    assert rows[2][1] == "2.3333"  # 7 / 3 rounded to 4 places (docs/scoring.md, Precision)
    # the rejection is reported on stderr, since CSV has no errors section
    assert "candidate 'bad' rejected: answer 7 is outside the response scale" in proc.stderr


def test_score_output_file(results: Results, workdir: Path) -> None:
    proc = results["json-file"]
    assert proc.returncode == 0
    assert proc.stdout == ""
    out = workdir / "new" / "scores.json"
    check_good_scores(json.loads(out.read_text(encoding="utf-8")))
    assert sorted(p.name for p in out.parent.iterdir()) == ["scores.json"]  # no temp file left


def test_score_output_file_is_identical_to_stdout(results: Results, workdir: Path) -> None:
    to_file, to_stdout = results["csv-file"], results["csv"]  # the same input, rejects.csv
    assert (to_file.returncode, to_stdout.returncode) == (1, 1)
    assert to_file.stdout == ""
    assert (workdir / "out.csv").read_text(encoding="utf-8") == to_stdout.stdout
    assert to_stdout.stdout.startswith("candidate_id,alpha_mean,alpha_pomp,")
    assert to_file.stderr == to_stdout.stderr  # the rejection is still reported


def test_score_warning_for_extra_column_goes_to_stderr(results: Results) -> None:
    proc = results["extra-column"]
    assert proc.returncode == 0
    check_good_scores(json.loads(proc.stdout))
    assert proc.stderr == (
        "repprofile: warning: extra.csv: columns that are not items of 'mini' were "
        "ignored: 'notes'\n"
    )


# --------------------------------------------------------------------------- demo


def test_demo_prints_simulated_table(results: Results) -> None:
    proc = results["demo"]
    assert proc.returncode == 0
    assert "SIMULATED" in proc.stdout
    assert "not a validated instrument" in proc.stdout
    header = next(line for line in proc.stdout.splitlines() if line.startswith("CANDIDATE"))
    assert "Accommodator" in header
    assert "PRIMARY" in header


def test_demo_out_writes_json_and_csv(results: Results, workdir: Path) -> None:
    proc = results["demo-out"]
    assert proc.returncode == 0
    out = workdir / "demo-out"
    doc = json.loads((out / "scores.json").read_text(encoding="utf-8"))
    rows = list(csv.reader(io.StringIO((out / "scores.csv").read_text(encoding="utf-8"))))
    assert rows[0][:3] == ["candidate_id", "accommodator_mean", "accommodator_pomp"]
    assert rows[0][-4:] == ["primary_type", "secondary_type", "quality_valid", "quality_flags"]
    # every scale has its _mean and _pomp columns, in scale order (norms may add more)
    scales = ["accommodator", "competitor", "controller", "empathizer", "hard_worker"]
    scales += ["innovator", "rock"]
    positions = [rows[0].index(f"{sid}_{m}") for sid in scales for m in ("mean", "pomp")]
    assert positions == sorted(positions)
    ids = [p["candidate_id"] for p in doc["profiles"]]
    assert ids == [r[0] for r in rows[1:]]
    assert ids
    assert all(cid.startswith("SIMULATED-") for cid in ids)
    assert doc["provenance"]["questionnaire_id"] == "rep-types"
    # the printed table has one line per candidate, and names the files written
    for cid in ids:
        assert f"\n{cid} " in proc.stdout
    assert "Wrote demo-out/scores.json, demo-out/scores.csv" in proc.stdout
    # issue 6: a radar chart and a report per demo candidate
    assert sorted(p.name for p in (out / "charts").iterdir()) == [f"{c}.png" for c in ids]
    assert sorted(p.name for p in (out / "reports").iterdir()) == [f"{c}.pdf" for c in ids]
    # the same candidates as the demo without --out
    assert proc.stdout.startswith(results["demo"].stdout)
