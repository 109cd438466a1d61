"""Small command-line additions of issue 14 item 6: ``python -m repprofile``, shell
completion, bundled norm ids for ``--norms``, ``fit --format text``."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).parent / "repprofile"


def _run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


# --------------------------------------------------------------------------- python -m


def test_python_m_repprofile_is_the_console_script() -> None:
    for flag in ("--version", "--help"):
        as_module = _run([sys.executable, "-m", "repprofile", flag])
        script = _run([str(SCRIPT), flag])
        assert as_module.returncode == 0, as_module.stderr
        assert script.returncode == 0, script.stderr
        assert as_module.stdout == script.stdout
    version = _run([sys.executable, "-m", "repprofile", "--version"]).stdout
    import repprofile

    assert version == f"repprofile {repprofile.__version__}\n"


def test_python_m_repprofile_passes_the_exit_status_through() -> None:
    bad = _run([sys.executable, "-m", "repprofile", "frobnicate"])
    assert bad.returncode == 2
    assert "invalid choice: 'frobnicate'" in bad.stderr


# --------------------------------------------------------------------------- completion


def _all_commands() -> list[tuple[str, ...]]:
    """Every subcommand path of the parser, found by walking it here (independently of
    the completion module)."""
    import argparse

    from repprofile.cli import build_parser

    out: list[tuple[str, ...]] = []

    def walk(p: argparse.ArgumentParser, path: tuple[str, ...]) -> None:
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    out.append((*path, name))
                    walk(child, (*path, name))

    walk(build_parser(), ())
    return out


def _script(shell: str) -> str:
    done = _run([str(SCRIPT), "completion", shell])
    assert done.returncode == 0, done.stderr
    return done.stdout


def _bash_complete(script: Path, *words: str) -> list[str]:
    """What the generated bash function offers for the command line ``words`` (the last
    word is the one being completed)."""
    words_q = " ".join(shlex.quote(w) for w in ("repprofile", *words))
    code = (
        f"source {shlex.quote(str(script))}\n"
        f"COMP_WORDS=({words_q}); COMP_CWORD={len(words)}\n"
        '_repprofile; printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    done = _run(["bash", "-c", code])
    assert done.returncode == 0, done.stderr
    return [w for w in done.stdout.splitlines() if w]


def test_bash_completion_is_valid_and_completes_commands_options_and_choices(
    tmp_path: Path,
) -> None:
    script = tmp_path / "repprofile.bash"
    script.write_text(_script("bash"), encoding="utf-8")
    check = _run(["bash", "-n", str(script)])
    assert check.returncode == 0, check.stderr
    # top level: every command; nested: the actions of questionnaire
    top = _bash_complete(script, "")
    assert sorted(top) == sorted({p[0] for p in _all_commands()})
    assert _bash_complete(script, "questionnaire", "sh") == ["show"]
    assert _bash_complete(script, "q") == ["questionnaire", "quality"]
    # an option's choices, after the option and after an option value was skipped
    assert _bash_complete(script, "score", "x.csv", "--format", "") == [
        "json",
        "csv",
        "ndjson",
        "table",
    ]
    assert _bash_complete(script, "rank", "--role", "fit", "--format", "c") == ["csv"]
    # "--role fit": fit is the value of --role here, not the fit command
    assert "--top" in _bash_complete(script, "rank", "--role", "fit", "--t")
    assert _bash_complete(script, "completion", "") == ["bash", "zsh", "fish"]
    assert _bash_complete(script, "roles", "show", "--f") == ["--format"]


def test_every_subcommand_is_in_every_completion_script() -> None:
    commands = _all_commands()
    assert ("questionnaire", "template") in commands
    assert ("completion",) in commands
    bash, zsh, fish = _script("bash"), _script("zsh"), _script("fish")
    for path in commands:
        parent, name = " ".join(path[:-1]), path[-1]
        # the parent's list of subcommands (the function _repprofile_subs) names this one
        for script in (bash, zsh):
            subs = script.split("_repprofile_subs() {")[1].split("\n}\n")[0]
            line = next(x for x in subs.splitlines() if x.strip().startswith(f'"{parent}")'))
            assert name in line.split('echo "')[1].split('"')[0].split(), (path, line)
        assert f"-n '__repprofile_at \\'{parent}\\'' -a '{name}'" in fish, path


@pytest.mark.parametrize(("shell", "check"), [("zsh", ["zsh", "-n"]), ("fish", ["fish", "-n"])])
def test_zsh_and_fish_scripts_pass_their_shell_syntax_check(
    shell: str, check: list[str], tmp_path: Path
) -> None:
    if shutil.which(check[0]) is None:
        pytest.skip(f"{check[0]} is not installed here, so its syntax check cannot run")
    script = tmp_path / f"repprofile.{shell}"
    script.write_text(_script(shell), encoding="utf-8")
    done = _run([*check, str(script)])
    assert done.returncode == 0, done.stderr


def test_completion_of_an_unknown_shell_is_a_usage_error() -> None:
    done = _run([str(SCRIPT), "completion", "tcsh"])
    assert done.returncode == 2
    assert "invalid choice: 'tcsh' (choose from 'bash', 'zsh', 'fish')" in done.stderr
    assert done.stdout == ""


# --------------------------------------------------------------------------- --norms ID


# rep-types controller items ctl01 (+), ctl02 (+), ctl03 (-), ctl04 (+), ctl05 (+)
ONE_REP = [
    {"candidate_id": "r1", "answers": {"ctl01": 5, "ctl02": 4, "ctl03": 2, "ctl04": 3, "ctl05": 5}}
]


def _main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from repprofile.cli import main

    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_norms_takes_a_bundled_id_like_the_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from repprofile._formats.norms import bundled_norms, load_norms
    from repprofile.server._service import Catalogue

    monkeypatch.chdir(tmp_path)
    bundled = bundled_norms()
    assert list(bundled) == ["rep-types-simulated"]
    assert set(Catalogue().norms) == set(bundled)  # the server's ids are the same look-up
    table_path = bundled["rep-types-simulated"]
    assert load_norms("rep-types-simulated") == load_norms(table_path)

    answers = tmp_path / "one.json"
    answers.write_text(json.dumps(ONE_REP), encoding="utf-8")
    code_id, by_id, err = _main(["score", str(answers), "--norms", "rep-types-simulated"], capsys)
    assert code_id == 0, err
    assert "SIMULATED" in err
    code_file, by_file, _ = _main(["score", str(answers), "--norms", str(table_path)], capsys)
    assert code_file == 0
    doc = json.loads(by_id)
    assert doc == json.loads(by_file)
    # controller: (5 + 4 + (6-2) + 3 + 5) / 5 = 4.2; z from the table's own mean and SD
    table = load_norms(table_path)
    ctl = table.scales["controller"]
    assert doc["provenance"]["norms"]["sha256"] == table.fingerprint()
    z = doc["profiles"][0]["scales"]["controller"]["z"]
    assert z == pytest.approx((4.2 - ctl.mean) / ctl.sd)


def test_norms_file_wins_over_an_id_and_unknown_values_are_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "one.json").write_text(json.dumps(ONE_REP), encoding="utf-8")
    # a file in the working folder named like the bundled id is read as that file
    (tmp_path / "rep-types-simulated").write_text("not json", encoding="utf-8")
    code, _, err = _main(["score", "one.json", "--norms", "rep-types-simulated"], capsys)
    assert code == 2
    assert "rep-types-simulated: not a readable JSON norm table" in err
    code, _, err = _main(["score", "one.json", "--norms", "rep-types-real"], capsys)
    assert code == 2
    assert (
        "'rep-types-real': no such norm table file, and not a bundled norm table id "
        "(bundled: rep-types-simulated)"
    ) in err


# --------------------------------------------------------------------------- fit --format text


def _simulated_csv(path: Path, n: int) -> None:
    from repprofile import load_questionnaire
    from repprofile._analysis.simulate import simulate_answers

    q = load_questionnaire("rep-types")
    answers, _ = simulate_answers(q, n, seed=7)
    lines = ["candidate_id," + ",".join(q.item_ids)]
    lines += [f"p{i}," + ",".join(str(int(v)) for v in row) for i, row in enumerate(answers)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_fit_text_shows_the_json_values_rank_and_provenance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = tmp_path / "pool.csv"
    _simulated_csv(answers, 6)
    base = [
        "fit", str(answers), "--role", "complex-support", "--role", "retention",
        "--norms", "rep-types-simulated",
    ]  # fmt: skip
    code, default_json, _ = _main(base, capsys)
    assert code == 0
    code, as_json, _ = _main([*base, "--format", "json"], capsys)
    assert as_json == default_json  # the JSON output is unchanged
    code, text, _ = _main([*base, "--format", "text"], capsys)
    assert code == 0
    doc = json.loads(as_json)

    lines = text.splitlines()
    assert lines[0] == (
        "Fit 0-100 for Complex support (tier 2) (complex-support), Retention (save desk) "
        "(retention); cut 50; rank within each role, * best role"
    )
    assert lines[2].split() == ["CANDIDATE", "ROLE", "FIT", "90%", "CI", "RANK", "BEST", "QUALITY"]
    table = [line.split() for line in lines[3:15]]
    assert len(table) == 12  # 6 candidates x 2 roles
    # the expected rank: composite descending within a role, worked out from the JSON
    for role in ("complex-support", "retention"):
        by_composite = sorted(
            doc["candidates"],
            key=lambda c: -next(e for e in c["fits"] if e["role"] == role)["composite"],
        )
        expected_rank = {c["candidate_id"]: i for i, c in enumerate(by_composite, start=1)}
        for c in doc["candidates"]:
            e = next(e for e in c["fits"] if e["role"] == role)
            row = next(r for r in table if r[0] == c["candidate_id"] and r[1] == role)
            assert row[2] == f"{e['fit']:.1f}"
            assert row[3] == f"{e['ci_low']:.1f}-{e['ci_high']:.1f}"
            assert row[4] == str(expected_rank[c["candidate_id"]])
            best = c["best_role"] == role
            assert (row[5] == "*") is best
            assert row[-1] == ("ok" if e["quality_valid"] else "FLAGGED")
    prov = doc["provenance"]
    assert lines[-1] == (
        f"provenance: questionnaire rep-types {prov['questionnaire_version']} sha256 "
        f"{prov['questionnaire_sha256'][:12]}; norms n=5000 sha256 "
        f"{prov['norms']['sha256'][:12]}, SIMULATED; intervals 90%; "
        f"repprofile {prov['repprofile_version']}"
    )
