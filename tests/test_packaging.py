"""The bundled questionnaires are found from an installed wheel and an editable install."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import repprofile
from repprofile._formats.files import bundled_dir

ROOT = Path(__file__).resolve().parents[1]

PROBE = (
    "import repprofile, sys\n"
    "from repprofile._formats.questionnaire import bundled_dir\n"
    "q = repprofile.load_questionnaire('rep-types')\n"
    "print(repprofile.__file__)\n"
    "print(bundled_dir())\n"
    "print(q.id, len(q.items))\n"
)


def test_editable_install_uses_the_top_level_folder() -> None:
    # In this checkout the package is installed in editable mode: the questionnaires are
    # the top-level folder beside the package.
    assert bundled_dir() == ROOT / "questionnaires"
    assert Path(repprofile.__file__).resolve().parent == ROOT / "repprofile"


def test_lookup_does_not_depend_on_the_working_directory(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out[1] == str(ROOT / "questionnaires")
    assert out[2] == "rep-types 80"


@pytest.mark.slow
def test_wheel_ships_and_finds_the_questionnaires(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(ROOT),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("repprofile-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "repprofile/questionnaires/rep-types.yaml" in names
    assert "repprofile/questionnaires/samples/rep-types-simulated.csv" in names
    assert "repprofile/py.typed" in names
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert out[0] == str(site / "repprofile" / "__init__.py")
    assert out[1] == str(site / "repprofile" / "questionnaires")
    assert out[2] == "rep-types 80"
