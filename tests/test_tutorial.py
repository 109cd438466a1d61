"""docs/tutorial.md, followed end to end: every ``sh`` block's commands, in order, in a
temp folder laid out like the repository's root.

A block preceded by ``<!-- tutorial-test: skip -->`` is not run (cloning, ``make demo``,
activating the venv: the test runs the installed ``repprofile`` of this interpreter). The
terminal assessment is answered by piping one answer per line, as a candidate would type
them: the first run stops halfway (end of input, exit 1 with the resume hint), and the
``--resume`` command finishes it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "tutorial.md"
SKIP = "<!-- tutorial-test: skip -->"
# 80 answers for rep-types, as the candidate types them (fixed, so the test is repeatable)
ANSWERS = [str(1 + (7 * i + i // 5) % 5) for i in range(80)]
FIRST_SITTING = 40


def sh_blocks(text: str) -> list[list[str]]:
    """The commands of each ``sh`` block not marked skip, one string per command line."""
    blocks: list[list[str]] = []
    for match in re.finditer(r"(?P<before>[^\n]*)\n```sh\n(?P<body>.*?)```", text, re.S):
        if match["before"].strip() == SKIP:
            continue
        lines = [ln.strip() for ln in match["body"].splitlines()]
        blocks.append([ln for ln in lines if ln and not ln.startswith("#")])
    return blocks


def test_the_tutorial_has_the_blocks_this_test_expects() -> None:
    commands = [c for b in sh_blocks(TUTORIAL.read_text(encoding="utf-8")) for c in b]
    assert commands[0] == "repprofile --version"
    assert commands[1].startswith("repprofile assess --candidate anna ")
    assert commands[2] == "repprofile assess --resume results/anna.progress.json"
    assert any(c.startswith("repprofile report results/anna.json") for c in commands)
    assert any(c.startswith("repprofile convert responses.csv --mapping") for c in commands)
    assert any(c.startswith("repprofile rank answers.csv") for c in commands)
    # the skipped block is the one with git clone and make demo
    assert not any(c.startswith(("git clone", "make demo")) for c in commands)


def run(command: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["COLUMNS"] = "100"
    return subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


@pytest.mark.slow
def test_every_command_of_the_tutorial_succeeds_in_order(tmp_path: Path) -> None:
    examples = tmp_path / "docs" / "examples"
    shutil.copytree(ROOT / "docs" / "examples", examples)
    commands = [c for b in sh_blocks(TUTORIAL.read_text(encoding="utf-8")) for c in b]
    for command in commands:
        if command.startswith("repprofile assess --candidate"):
            lines = "\n".join(ANSWERS[:FIRST_SITTING]) + "\n"
            done = run(command, tmp_path, lines)
            # interrupted halfway: exit 1 and the command that resumes
            assert done.returncode == 1, (command, done.stdout[-2000:], done.stderr[-2000:])
            assert "--resume" in done.stdout + done.stderr
            assert (tmp_path / "results" / "anna.progress.json").is_file()
            continue
        if command.startswith("repprofile assess --resume"):
            lines = "\n".join(ANSWERS[FIRST_SITTING:]) + "\n\n"
            done = run(command, tmp_path, lines)
        else:
            done = run(command, tmp_path)
        assert done.returncode == 0, (command, done.stdout[-2000:], done.stderr[-2000:])

    # what the steps promise is there
    result = json.loads((tmp_path / "results" / "anna.json").read_text(encoding="utf-8"))
    assert result["profiles"][0]["candidate_id"] == "anna"
    assert (tmp_path / "results" / "anna.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "anna.pdf").read_bytes()[:5] == b"%PDF-"
    assert (tmp_path / "ana.pdf").read_bytes()[:5] == b"%PDF-"
    assert result["answers"][0]["candidate_id"] == "anna"
    assert len(result["answers"][0]["answers"]) == 80
