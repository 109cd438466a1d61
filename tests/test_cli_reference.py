"""docs/cli.md is generated from the parser and must stay in sync with it."""

from __future__ import annotations

from pathlib import Path

from repprofile.cli import build_parser
from repprofile.cli._reference import cli_reference

DOC = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def test_cli_reference_is_in_sync_with_the_parser() -> None:
    assert DOC.read_text(encoding="utf-8") == cli_reference(), (
        "docs/cli.md is out of date: run `python -m repprofile.cli._reference > docs/cli.md`"
    )


def test_every_command_is_documented() -> None:
    text = cli_reference()
    for command in (
        "score",
        "reliability",
        "norms build",
        "quality",
        "roles list",
        "rank",
        "fit",
        "calibrate",
        "chart",
        "report",
        "demo",
        "questionnaire schema",
    ):
        assert f"## `repprofile {command}`" in text.replace("### ", "## ").replace("#### ", "## ")
    assert build_parser().prog == "repprofile"
