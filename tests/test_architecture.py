"""The layer check: imports only go down (docs/architecture.md).

``make lint`` runs ``lint-imports`` with the contracts in pyproject.toml. These tests
run it too, and show that it fails on a deliberately added upward import and on an
import cycle between two modules of one layer, on a copy of the package.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    """lint-imports over the package in ``tree`` with the project's contracts."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(tree / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the package and its pyproject.toml."""
    shutil.copytree(ROOT / "repprofile", tmp_path / "repprofile")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _append(path: Path, line: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}\n", encoding="utf-8")


def test_the_package_keeps_its_layers(tree: Path) -> None:
    done = _lint(tree)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Contracts: 2 kept, 0 broken." in done.stdout


def test_an_upward_import_breaks_the_layer_check(tree: Path) -> None:
    # statistics (layer 2) reaching up to scoring (layer 5)
    _append(tree / "repprofile" / "stats" / "_moments.py", "import repprofile._analysis.scoring")
    done = _lint(tree)
    assert done.returncode == 1
    assert "Layers: imports only go down BROKEN" in done.stdout
    assert "repprofile.stats is not allowed to import repprofile._analysis" in done.stdout
    assert "repprofile.stats._moments -> repprofile._analysis.scoring" in done.stdout


def test_an_upward_import_from_a_function_body_is_caught_too(tree: Path) -> None:
    # a late import inside a function hides a cycle from Python, not from the check
    _append(
        tree / "repprofile" / "_formats" / "role.py",
        "def _late() -> None:\n    from repprofile.cli import main  # noqa: F401",
    )
    done = _lint(tree)
    assert done.returncode == 1
    assert "repprofile._formats is not allowed to import repprofile.cli" in done.stdout


def test_a_cycle_between_modules_of_one_layer_breaks_the_check(tree: Path) -> None:
    # questionnaire imports files; files importing questionnaire closes a cycle
    _append(
        tree / "repprofile" / "_formats" / "files.py",
        "import repprofile._formats.questionnaire",
    )
    done = _lint(tree)
    assert done.returncode == 1
    assert "No import cycles between the modules of a layer BROKEN" in done.stdout
