"""``repprofile assess``: the interactive assessment, end to end.

Sessions run the installed console script in a pseudo-terminal (pexpect), as a
candidate would, or with standard input piped (line mode, for scripts). The small
questionnaire MINI has 2 scales of 3 items (a2 and b3 reverse-keyed) on a 1-5 scale
labelled only at 1 and 5.

The story (module fixture ``story``), in one output folder: session 1 answers a1 = 5
and a2 = 2, goes back twice, changes a1 to 4, keeps a2 with Enter, skips a3 and is
interrupted with Ctrl-C; session 2 resumes, answers b1 = 5 and quits with q; session 3
resumes, answers b2 = 3 and its terminal is closed (SIGHUP); session 4 resumes,
answers b3 = 1 and finishes. The progress file is read after every step. Its result
must equal that of one uninterrupted session with the same answers.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import repprofile

pexpect = pytest.importorskip("pexpect")

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX terminal")

SCRIPT = Path(sys.executable).parent / "repprofile"

MINI_YAML = """\
id: mini
version: "1.0"
title: Mini check
instructions: Answer honestly, please.
response_scale: {min: 1, max: 5, labels: {1: Never, 5: Always}}
scales:
  - {id: alpha, name: Alpha}
  - {id: beta, name: Beta}
items:
  - {id: a1, text: I like apples., scale: alpha}
  - {id: a2, text: I dislike apples., scale: alpha, keyed: -1}
  - {id: a3, text: Apples are good., scale: alpha}
  - {id: b1, text: I like bananas., scale: beta}
  - {id: b2, text: Bananas are good., scale: beta}
  - {id: b3, text: I dislike bananas., scale: beta, keyed: -1}
"""

FINAL: dict[str, int | None] = {"a1": 4, "a2": 2, "a3": None, "b1": 5, "b2": 3, "b3": 1}
TIMESTAMPS = ("started", "updated", "completed")


def spawn(*args: str, cwd: Path) -> Any:
    return pexpect.spawn(
        str(SCRIPT),
        ["assess", *args],
        cwd=str(cwd),
        encoding="utf-8",
        timeout=30,
        dimensions=(60, 100),
    )


def ended(child: Any) -> tuple[int | None, str]:
    """Wait for the session to end: its exit status and the rest of its output."""
    child.expect(pexpect.EOF)
    rest: str = child.before
    child.close()
    return child.exitstatus, rest


def read(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def state(path: Path) -> tuple[dict[str, Any], int]:
    d = read(path)
    return d["answers"], d["position"]


def run_lines(*args: str, cwd: Path, lines: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), "assess", *args],
        cwd=cwd,
        input=lines,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    d = tmp_path_factory.mktemp("assess")
    (d / "mini.yaml").write_text(MINI_YAML, encoding="utf-8")
    args = ("-q", "mini.yaml", "--candidate", "c1", "--out", "out", "--show-results")
    progress = d / "out" / "c1.progress.json"
    snaps: dict[str, Any] = {}
    out: dict[str, Any] = {"dir": d, "progress": progress, "snaps": snaps}

    # session 1: answer, go back and change, keep with Enter, skip, Ctrl-C
    child = spawn(*args, cwd=d)
    child.logfile_read = transcript = io.StringIO()
    child.expect_exact("Keys: 1-5 answer, b back, s skip, q quit and save")
    out["first_screen"] = transcript.getvalue()
    snaps["start"] = state(progress)
    child.send("7")
    child.expect_exact("7 is not an answer")
    snaps["invalid"] = state(progress)
    for key, screen, name in [
        ("5", "2/6", "a1"),
        ("2", "3/6", "a2"),
        ("b", "2/6", "back1"),
        ("b", "1/6", "back2"),
        ("4", "2/6", "changed"),
        ("\r", "3/6", "kept"),
        ("s", "4/6", "skipped"),
    ]:
        child.send(key)
        child.expect_exact(screen)
        if name.startswith("back"):
            child.expect_exact("Your answer: ")
            child.expect(r"\d")
            snaps[name + "_shown"] = child.after
        snaps[name] = state(progress)
    child.sendintr()
    out["s1"] = ended(child)
    snaps["interrupted"] = state(progress)

    # session 2: resume, answer, q
    child = spawn("--resume", str(progress), cwd=d)
    child.expect_exact("4/6")
    child.expect_exact("I like bananas.")
    child.expect_exact("Welcome back: carrying on at item 4 of 6.")
    child.send("5")
    child.expect_exact("5/6")
    snaps["resumed"] = state(progress)
    child.send("q")
    out["s2"] = ended(child)
    snaps["quit"] = state(progress)

    # session 3: resume, answer, the terminal is closed
    child = spawn("--resume", "out/c1.progress.json", cwd=d)
    child.expect_exact("5/6")
    child.send("3")
    child.expect_exact("6/6")
    snaps["b2"] = state(progress)
    child.kill(signal.SIGHUP)
    out["s3"] = ended(child)
    snaps["hangup"] = state(progress)

    # session 4: resume, answer the last item, finish
    child = spawn("--resume", str(progress), cwd=d)
    child.expect_exact("6/6")
    child.send("1")
    child.expect_exact("All 6 items done; 1 skipped (item 3).")
    snaps["last"] = state(progress)
    out["last_completed"] = read(progress)["completed"]
    child.send("\r")
    out["s4"] = ended(child)
    out["progress_done"] = read(progress)

    # the same answers in one uninterrupted session, in line mode (stdin piped), with
    # an invalid entry, a step back and Enter to keep an answer on the way
    lines = "4\n9\n2\nb\n\ns\n5\n3\n1\n"
    out["line"] = run_lines(
        "-q",
        "mini.yaml",
        "--candidate",
        "c1",
        "--out",
        "line",
        "--show-results",
        cwd=d,
        lines=lines,
    )
    return out


def test_first_screen_shows_title_instructions_counter_text_and_labels(
    story: dict[str, Any],
) -> None:
    screen = story["first_screen"]
    lines = [line.rstrip() for line in screen.replace("\r\n", "\n").split("\n")]
    assert lines[0].endswith("Mini check")  # after the escape codes that clear the screen
    assert "Answer honestly, please." in lines
    assert lines.index("Answer honestly, please.") < lines.index("1/6")
    assert lines[lines.index("1/6") + 1] == "I like apples."
    values = lines[lines.index("1/6") + 3 : lines.index("1/6") + 8]
    assert values == ["  1  Never", "  2", "  3", "  4", "  5  Always"]


def test_progress_is_saved_after_every_key(story: dict[str, Any]) -> None:
    s = story["snaps"]
    assert s["start"] == ({}, 0)  # saved before the first question
    assert s["invalid"] == ({}, 0)  # an invalid key changes nothing
    assert s["a1"] == ({"a1": 5}, 1)
    assert s["a2"] == ({"a1": 5, "a2": 2}, 2)
    assert s["back1"] == ({"a1": 5, "a2": 2}, 1)  # back keeps the answers
    assert s["back1_shown"] == "2"
    assert s["back2"] == ({"a1": 5, "a2": 2}, 0)
    assert s["back2_shown"] == "5"
    assert s["changed"] == ({"a1": 4, "a2": 2}, 1)
    assert s["kept"] == ({"a1": 4, "a2": 2}, 2)  # Enter keeps a given answer
    assert s["skipped"] == ({"a1": 4, "a2": 2, "a3": None}, 3)
    assert s["interrupted"] == s["skipped"]
    assert s["resumed"] == ({"a1": 4, "a2": 2, "a3": None, "b1": 5}, 4)
    assert s["quit"] == s["resumed"]
    assert s["b2"] == ({"a1": 4, "a2": 2, "a3": None, "b1": 5, "b2": 3}, 5)
    assert s["hangup"] == s["b2"]
    assert s["last"] == (FINAL, 6)
    assert story["last_completed"] is None


def test_interruptions_exit_with_a_resume_hint(story: dict[str, Any]) -> None:
    hint = "repprofile assess --resume out/c1.progress.json"
    code, text = story["s1"]
    assert code == 130
    assert "Interrupted" in text
    assert hint in text
    code, text = story["s2"]
    assert code == 1
    assert "Paused" in text
    assert f"repprofile assess --resume {story['progress']}" in text  # as it was given
    code, _ = story["s3"]
    assert code == 129  # terminal closed: saved, nobody to tell


def test_progress_file_contents(story: dict[str, Any]) -> None:
    d = story["progress_done"]
    assert d["format"] == "repprofile-assess-progress"
    assert d["questionnaire_id"] == "mini"
    assert d["questionnaire_version"] == "1.0"
    assert d["questionnaire"] == str((story["dir"] / "mini.yaml").resolve())
    assert d["candidate_id"] == "c1"
    assert d["role"] is None
    assert d["answers"] == FINAL
    assert list(d["answers"]) == list(FINAL)  # item order
    assert d["position"] == 6
    for key in TIMESTAMPS:
        assert d[key].endswith("Z")
    assert d["started"] <= d["updated"]


def test_finished_session_prints_and_writes_the_profile(story: dict[str, Any]) -> None:
    code, text = story["s4"]
    assert code == 0
    assert "Profile of c1 (Mini check, version 1.0)" in text
    # alpha: 4, 6 - 2 = 4 (a3 skipped) -> mean 4, pomp 75; beta: 5, 3, 6 - 1 -> pomp 83.3
    assert "Alpha  75.0" in text
    assert "Beta   83.3" in text
    assert "Primary type: Beta; secondary type: Alpha." in text
    assert "Response quality:" in text
    assert "No radar chart" in text  # 2 trait scales: a radar chart needs 3
    doc = read(story["dir"] / "out" / "c1.json")
    assert set(doc) == {"profiles", "errors", "provenance", "answers"}
    # the raw answers, so the file is an answers file (a3 was skipped: missing)
    assert doc["answers"][0]["candidate_id"] == "c1"
    assert doc["answers"][0]["answers"]["a3"] is None
    scales = doc["profiles"][0]["scales"]
    assert scales["alpha"]["pomp"] == 75.0
    assert scales["alpha"]["n_answered"] == 2
    assert not (story["dir"] / "out" / "c1.png").exists()


def without_times(doc: dict[str, Any]) -> dict[str, Any]:
    """A result without what depends on answering times (a terminal session records
    them, piped input does not): item_seconds and the quality check."""
    doc = json.loads(json.dumps(doc))
    for record in doc["answers"]:
        record.pop("item_seconds", None)
    for profile in doc["profiles"]:
        profile.pop("quality")
    doc.pop("quality", None)
    return doc


def test_resumed_result_equals_an_uninterrupted_run(story: dict[str, Any]) -> None:
    line = story["line"]
    assert line.returncode == 0, line.stderr
    d = story["dir"]
    assert without_times(read(d / "out" / "c1.json")) == without_times(read(d / "line" / "c1.json"))
    a, b = read(d / "out" / "c1.progress.json"), read(d / "line" / "c1.progress.json")
    for key in (*TIMESTAMPS, "item_seconds"):
        a.pop(key), b.pop(key)
    assert a == b
    # and both equal the library's scoring of the same answers
    q = repprofile.load_questionnaire(d / "mini.yaml")
    expected = repprofile.score(q, [{"candidate_id": "c1", "answers": FINAL}]).to_dict()
    written = read(d / "line" / "c1.json")
    assert written.pop("answers") == [
        {"candidate_id": "c1", "answers": {i: FINAL.get(i) for i in q.item_ids}}
    ]
    assert written == json.loads(json.dumps(expected))


def test_line_mode_messages(story: dict[str, Any]) -> None:
    out = story["line"].stdout
    assert out.startswith("Mini check\n")
    assert "9 is not an answer: answer 1 to 5" in out
    assert "Your answer: 2 (Enter keeps it)" in out
    assert "Profile of c1" in out


def test_fresh_start_over_an_existing_session_is_refused(story: dict[str, Any]) -> None:
    proc = run_lines(
        "-q", "mini.yaml", "--candidate", "c1", "--out", "out", cwd=story["dir"], lines=""
    )
    assert proc.returncode == 2
    assert "already exists" in proc.stderr
    assert "--resume out/c1.progress.json" in proc.stderr


def test_line_mode_pause_version_refusal_and_resume(story: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / "mini.yaml").write_text(MINI_YAML, encoding="utf-8")
    progress = tmp_path / "c1.progress.json"
    args = ("-q", "mini.yaml", "--candidate", "c1")
    # the end of input before the last item pauses
    proc = run_lines(*args, cwd=tmp_path, lines="4\n2\n")
    assert proc.returncode == 1, proc.stderr
    assert "Resume with: repprofile assess --resume c1.progress.json" in proc.stderr
    assert state(progress) == ({"a1": 4, "a2": 2}, 2)
    saved = progress.read_bytes()

    # a progress file for another questionnaire version is refused, and left alone
    (tmp_path / "mini2.yaml").write_text(
        MINI_YAML.replace('version: "1.0"', 'version: "2.0"'), encoding="utf-8"
    )
    proc = run_lines("--resume", "c1.progress.json", "-q", "mini2.yaml", cwd=tmp_path, lines="3\n")
    assert proc.returncode == 2
    assert "saved for questionnaire 'mini' version 1.0" in proc.stderr
    assert "is 'mini' version 2.0" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert progress.read_bytes() == saved

    # resumed with the same version (the saved questionnaire path), it finishes
    proc = run_lines("--resume", str(progress), cwd=tmp_path, lines="s\n5\n3\n1\n")
    assert proc.returncode == 0, proc.stderr
    assert read(tmp_path / "c1.json") == read(story["dir"] / "line" / "c1.json")


def test_rep_types_with_a_role_in_a_terminal(tmp_path: Path) -> None:
    """The candidate-facing default: a thank-you screen, results only in the file, and
    the per-item times of keys typed ahead flag the session as too fast."""
    q = repprofile.load_questionnaire("rep-types")
    answers = {it.id: 1 + (i * 3) % 5 for i, it in enumerate(q.items)}
    child = spawn("--role", "general-frontline", "--candidate", "r1", cwd=tmp_path)
    child.expect_exact(q.title)
    child.expect_exact(f"1/{len(q.items)}")
    child.expect_exact("Strongly disagree")
    child.send("".join(str(v) for v in answers.values()))  # typed ahead, one key each
    child.expect_exact(f"All {len(q.items)} items done.")
    child.expect_exact("Press Enter to finish, b to go back, q to quit.")
    child.send("\r")
    child.expect_exact("Thank you. You have finished Service Rep Types Inventory: 80 of 80")
    code, text = ended(child)
    assert code == 0
    assert "Your answers are saved. You can close this window now." in text
    for hidden in ("Fit for", "Why: ", "Profile of", "Response quality", "Primary type"):
        assert hidden not in text
    assert "Results written to r1.json and r1.png." in text
    doc = read(tmp_path / "r1.json")
    (record,) = doc["answers"]
    assert set(record["item_seconds"]) == set(q.item_ids)
    total = sum(record["item_seconds"].values())
    assert 0 <= total < 2.0 * len(q.item_ids)  # typed ahead: far below 2 s an item
    quality = doc["profiles"][0]["quality"]
    assert "seconds_per_item" in [f["index"] for f in quality["flags"]]
    assert quality["indices"]["seconds_per_item"] == pytest.approx(total / len(q.item_ids))
    result = repprofile.score(q, [record])
    fitted = repprofile.fit(result, "general-frontline")
    row = fitted.row(0)
    assert doc["fit"]["fit"] == pytest.approx(row["fit"])
    assert doc["fit"]["explanation"] == row["explanation"]
    assert doc["fit"]["role"]["id"] == "general-frontline"
    doc.pop("fit")
    assert doc.pop("answers") == [record]
    assert record["answers"] == answers
    assert doc == json.loads(result.to_json())
    assert (tmp_path / "r1.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert read(tmp_path / "r1.progress.json")["role"] == "general-frontline"


class _Keys:
    """Scripted keys; each key takes ``per_key`` seconds on a fake clock."""

    def __init__(self, keys: list[str], per_key: float) -> None:
        self.keys = keys
        self.per_key = per_key
        self.now = 1000.0

    def clock(self) -> float:
        return self.now

    def read(self, number: bool) -> str | None:
        if not self.keys:
            return None
        self.now += self.per_key
        return self.keys.pop(0)


def _session(tmp_path: Path, keys: list[str], per_key: float) -> Any:
    from repprofile.cli._assess import _interact, _Progress, _Screen

    q = repprofile.load_questionnaire(tmp_path / "mini.yaml")
    progress = _Progress(
        path=tmp_path / "c1.progress.json",
        questionnaire=str(tmp_path / "mini.yaml"),
        questionnaire_id="mini",
        questionnaire_version="1.0",
        candidate_id="c1",
        role=None,
        norms=None,
        started="2026-12-04T00:00:00Z",
    )
    inp = _Keys(keys, per_key)
    screen = _Screen(q, io.StringIO(), redraw=False)
    outcome = _interact(progress, q, inp, screen, eof_finishes=False, clock=inp.clock)
    return q, progress, outcome


def test_item_times_add_up_per_item_across_visits(tmp_path: Path) -> None:
    (tmp_path / "mini.yaml").write_text(MINI_YAML, encoding="utf-8")
    # a1: 4 (3 s), a2: 2 (3 s), b at a3 (3 s, counted for no item), back on a2: Enter
    # keeps 2 (3 s more), a3: invalid 9 (3 s) then s (3 s), b1..b3, then Enter finishes
    keys = ["4", "2", "b", "", "9", "s", "5", "3", "1", ""]
    q, progress, outcome = _session(tmp_path, keys, 3.0)
    assert outcome == "finish"
    assert progress.item_seconds == {
        "a1": 3.0,
        "a2": 6.0,
        "a3": 6.0,
        "b1": 3.0,
        "b2": 3.0,
        "b3": 3.0,
    }
    saved = read(tmp_path / "c1.progress.json")
    assert saved["item_seconds"] == progress.item_seconds
    # read back as an answers file: 24 s over 5 answered items = 4.8 s an item
    with pytest.warns(repprofile.RepprofileWarning, match=r"not finished \(5 of 6 items"):
        answers = repprofile.read_answers(tmp_path / "c1.progress.json", q)
    assert answers.seconds is not None
    assert answers.seconds.tolist() == [24.0]


@pytest.mark.parametrize(("per_key", "flagged"), [(0.25, True), (3.0, False)])
def test_a_quarter_second_an_item_is_flagged_too_fast(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], per_key: float, flagged: bool
) -> None:
    from repprofile.cli._assess import _finish

    (tmp_path / "mini.yaml").write_text(MINI_YAML, encoding="utf-8")
    q, progress, _ = _session(tmp_path, ["4", "2", "3", "5", "3", "1", ""], per_key)
    assert sum(progress.item_seconds.values()) == pytest.approx(6 * per_key)
    assert _finish(progress, q, None, None, tmp_path) == 0
    out = capsys.readouterr().out
    assert "Thank you. You have finished Mini check: 6 of 6 statements answered." in out
    assert "Profile of" not in out
    doc = read(tmp_path / "c1.json")
    quality = doc["profiles"][0]["quality"]
    assert quality["indices"]["seconds_per_item"] == pytest.approx(per_key)
    assert ("seconds_per_item" in [f["index"] for f in quality["flags"]]) is flagged
    assert doc["answers"][0]["item_seconds"] == progress.item_seconds


def test_piped_input_records_no_times_and_hides_results_by_default(tmp_path: Path) -> None:
    (tmp_path / "mini.yaml").write_text(MINI_YAML, encoding="utf-8")
    proc = run_lines(
        "-q", "mini.yaml", "--candidate", "c9", cwd=tmp_path, lines="4\n2\n3\n5\n3\n1\n\n"
    )
    assert proc.returncode == 0, proc.stderr
    assert "Press Enter to finish, b to go back, q to quit." in proc.stdout
    assert "Thank you. You have finished Mini check: 6 of 6 statements answered." in proc.stdout
    assert "Profile of" not in proc.stdout
    doc = read(tmp_path / "c9.json")
    assert "item_seconds" not in doc["answers"][0]
    # alpha: 4 + (6 - 2) + 3 = 11, mean 11/3, POMP 100 (11/3 - 1) / 4
    assert doc["profiles"][0]["scales"]["alpha"]["pomp"] == pytest.approx(200 / 3, rel=1e-12)
    assert read(tmp_path / "c9.progress.json")["item_seconds"] == {}
    # --show-results on resume of the finished session prints the profile
    proc = run_lines("--resume", "c9.progress.json", "--show-results", cwd=tmp_path, lines="")
    assert proc.returncode == 0, proc.stderr
    assert "Profile of c9" in proc.stdout


# --------------------------------------------------------------------------- in process


def test_unusable_progress_files_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from repprofile.cli import main

    bad = tmp_path / "bad.progress.json"
    for content, message in [
        ("{", "not valid JSON"),
        ('{"format": "other"}', "'format' must be"),
    ]:
        bad.write_text(content, encoding="utf-8")
        assert main(["assess", "--resume", str(bad)]) == 2
        assert message in capsys.readouterr().err
    assert main(["assess", "--resume", str(tmp_path / "missing.json")]) == 2
    assert "no such progress file" in capsys.readouterr().err


def raw_pty() -> tuple[int, int]:
    """A pseudo-terminal whose slave end is raw (no line buffering, no signal keys), with
    reads that give up after 1 second instead of blocking a test forever."""
    import pty
    import termios
    import tty

    master, slave = pty.openpty()
    tty.setraw(slave)
    attrs = termios.tcgetattr(slave)
    attrs[6][termios.VMIN] = 0
    attrs[6][termios.VTIME] = 10  # tenths of a second
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    return master, slave


def test_resuming_a_finished_session_writes_the_same_result(
    story: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from repprofile.cli import main

    shutil.copy(story["progress"], tmp_path / "c1.progress.json")
    assert main(["assess", "--resume", str(tmp_path / "c1.progress.json")]) == 0
    assert "Profile of c1" in capsys.readouterr().out  # --show-results is kept on resume
    assert read(tmp_path / "c1.json") == read(story["dir"] / "out" / "c1.json")
    assert main(["assess", "--resume", str(tmp_path / "c1.progress.json"), "--candidate", "x"]) == 2
    assert "is the session of candidate 'c1', not 'x'" in capsys.readouterr().err


def test_key_input_from_a_terminal() -> None:
    from repprofile.cli._assess import _KeyInput

    master, slave = raw_pty()
    echoed: list[str] = []
    try:
        keys = _KeyInput(slave, echoed.append)
        os.write(master, b"4\x1b[Ab")  # an arrow key between two keys is ignored
        assert keys.read(number=False) == "4"
        assert keys.read(number=False) == "b"
        os.write(master, b"12\x7f0\r")  # number entry: typed, corrected, Enter
        assert keys.read(number=True) == "10"
        assert "".join(echoed) == "12\b \b0\n"
        os.write(master, b"s\x04")
        assert keys.read(number=True) == "s"  # a command key needs no Enter
        assert keys.read(number=False) is None  # Ctrl-D: end of input
        os.write(master, b"\x03")  # Ctrl-C as a key (a terminal without signal keys)
        with pytest.raises(KeyboardInterrupt):
            keys.read(number=False)
    finally:
        os.close(master)
        os.close(slave)


def test_terminal_settings_are_restored_after_ctrl_c() -> None:
    import pty
    import termios

    from repprofile.cli._assess import _cbreak

    master, slave = pty.openpty()  # a fresh terminal: line mode with echo
    try:
        before = termios.tcgetattr(slave)
        during: list[Any] = []

        def interrupted_session() -> None:
            with _cbreak(slave):
                during.append(termios.tcgetattr(slave))
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            interrupted_session()
        assert not during[0][3] & (termios.ICANON | termios.ECHO)  # keys, no echo
        assert termios.tcgetattr(slave) == before
    finally:
        os.close(master)
        os.close(slave)


def test_number_entry_scale_in_line_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from repprofile.cli import main

    yaml = MINI_YAML.replace(
        "{min: 1, max: 5, labels: {1: Never, 5: Always}}", "{min: 0, max: 10}"
    ).replace("id: mini", "id: mini-ten")
    (tmp_path / "ten.yaml").write_text(yaml, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.StringIO("10\n11\n0\n7\n\n3\n5\n6\n"))
    code = main(["assess", "-q", "ten.yaml", "--candidate", "t1"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Keys: type a whole number from 0 to 10 and press Enter to answer" in out
    assert "  0\n  1\n" not in out  # values right-aligned to the widest, 10
    assert "   0\n   1\n" in out
    assert "  10\n" in out
    assert "11 is not an answer" in out
    assert "Answer 0 to 10, or press s to skip." in out
    assert read(tmp_path / "t1.progress.json")["answers"] == {
        "a1": 10,
        "a2": 0,
        "a3": 7,
        "b1": 3,
        "b2": 5,
        "b3": 6,
    }
