"""NDJSON streaming, --strict and start-up imports, through real subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from repprofile._formats.files import bundled_dir

CLI = Path(sys.executable).parent / "repprofile"
SAMPLE = bundled_dir() / "samples" / "rep-types-simulated.csv"


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), *args], input=stdin, capture_output=True, text=True, check=False
    )


def test_ndjson_equals_the_json_profiles(tmp_path: Path) -> None:
    whole = json.loads(run("score", str(SAMPLE)).stdout)
    lines = [
        json.loads(x) for x in run("score", str(SAMPLE), "--format", "ndjson").stdout.splitlines()
    ]
    assert lines[:-1] == whole["profiles"]
    assert lines[-1]["summary"] == {"scored": 12, "rejected": 0, "chunk_rows": 10000}
    assert lines[-1]["provenance"]["questionnaire_id"] == "rep-types"


def test_ndjson_chunks_and_repeated_ids_across_chunks(tmp_path: Path) -> None:
    from repprofile import load_questionnaire
    from repprofile._analysis.stream import stream_score

    text = SAMPLE.read_text(encoding="utf-8").splitlines()
    # the last row repeats the first candidate's id: both rows are rejected, in
    # different chunks of 5 rows
    dup = text[1]
    path = tmp_path / "a.csv"
    path.write_text("\n".join([*text, dup]) + "\n", encoding="utf-8")
    import io

    out = io.StringIO()
    scored, rejected = stream_score(path, load_questionnaire("rep-types"), out, chunk_rows=5)
    lines = [json.loads(x) for x in out.getvalue().splitlines()]
    # counted in candidates: the id on two rows is one rejected candidate (issue 14)
    assert (scored, rejected) == (11, 1)
    assert lines[-1]["summary"]["rejected"] == 1
    errors = [x["error"] for x in lines if "error" in x]
    assert [e["candidate_id"] for e in errors] == ["SIMULATED-01", "SIMULATED-01"]
    assert "appears 2 times (rows 2, 14)" in errors[0]["message"]
    profiles = [x for x in lines if "candidate_id" in x]
    assert [p["candidate_id"] for p in profiles] == [f"SIMULATED-{i:02d}" for i in range(2, 13)]


def test_ndjson_from_stdin_and_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "o.ndjson"
    proc = run("score", "-", "--format", "ndjson", "-o", str(out), stdin=SAMPLE.read_text())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert len(out.read_text(encoding="utf-8").splitlines()) == 13
    assert [p.name for p in tmp_path.iterdir()] == ["o.ndjson"]  # no temporary left


def test_strict_makes_a_rejection_fatal(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    cells = lines[2].split(",")
    cells[1] = "9"  # out of the 1-5 scale
    bad.write_text("\n".join([lines[0], lines[1], ",".join(cells)]) + "\n", encoding="utf-8")
    lenient = run("score", str(bad), "-o", str(tmp_path / "a.json"))
    assert lenient.returncode == 1
    strict = run("score", str(bad), "--strict", "-o", str(tmp_path / "b.json"))
    assert strict.returncode == 2
    assert "--strict: 1 candidate(s) rejected; nothing was written" in strict.stderr
    assert not (tmp_path / "b.json").exists()
    streamed = run("score", str(bad), "--format", "ndjson", "--strict", "-o", str(tmp_path / "c"))
    assert streamed.returncode == 2
    assert not (tmp_path / "c").exists()


def test_help_does_not_import_the_heavy_libraries() -> None:
    code = (
        "import sys\n"
        "from repprofile.cli import build_parser\n"
        "build_parser()\n"
        "heavy = [m for m in ('numpy', 'scipy', 'matplotlib', 'pydantic', 'yaml') "
        "if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_score_as_a_readable_table() -> None:
    proc = run("score", str(SAMPLE), "--format", "table")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:3] == ["CANDIDATE", "Accommodator", "Competitor"]
    whole = json.loads(run("score", str(SAMPLE)).stdout)
    first = whole["profiles"][0]
    cells = lines[1].split()
    assert cells[0] == first["candidate_id"]
    # POMP of the first scale, rounded as printed
    assert cells[1] == f"{first['scales']['accommodator']['pomp']:.0f}"
    assert lines[-1].startswith("Scores are POMP")
