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


WEB_PROBE = (
    "import sys\n"
    "from repprofile.web import _db, _i18n, _pages\n"
    "print(_db.MIGRATIONS)\n"
    "engine = _db.make_engine('sqlite:///' + sys.argv[1])\n"
    "before, after = _db.upgrade(engine)\n"
    "engine.dispose()\n"
    "print(before, '->', after)\n"
    "print(_i18n.catalogue('en').t('welcome.before'))\n"
    "print((_pages.ASSETS / 'take.css').is_file()"
    " and (_pages.HERE / 'templates' / 'welcome.html').is_file())\n"
)
WEB_PROBE_NEEDS = {"sqlalchemy", "alembic", "jinja2", "fastapi"}


def _importable() -> set[str]:
    """Which of the web extra's packages this interpreter has."""
    import importlib.util

    return {m for m in WEB_PROBE_NEEDS if importlib.util.find_spec(m) is not None}


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
    # the web assessment's data files: every template, asset and string catalogue of the
    # source tree, and the Alembic environment with every migration
    web = ROOT / "repprofile" / "web"
    expected = {
        p.relative_to(ROOT).as_posix()
        for pattern in (
            "templates/*.html",
            "templates/email/*",
            "assets/*",
            "locales/*.json",
            "_migrations/env.py",
            "_migrations/script.py.mako",
            "_migrations/versions/*.py",
        )
        for p in web.glob(pattern)
        if p.is_file()
    }
    # the minimum, in case a glob above found nothing
    assert {
        "repprofile/web/templates/welcome.html",
        "repprofile/web/templates/page.html",
        "repprofile/web/templates/done.html",
        "repprofile/web/assets/take.css",
        "repprofile/web/assets/take.js",
        "repprofile/web/locales/en.json",
        "repprofile/web/_migrations/env.py",
        "repprofile/web/_migrations/script.py.mako",
        "repprofile/web/_migrations/versions/0001_initial_tables.py",
        "repprofile/web/_migrations/versions/0002_ats_email.py",
        "repprofile/web/templates/email/invitation.txt",
        "repprofile/web/templates/email/reminder.html",
    } <= expected
    assert sorted(expected - set(names)) == []
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
    # the installed copy migrates a database and finds its templates, assets and strings
    if _importable() >= WEB_PROBE_NEEDS:
        out = subprocess.run(
            [sys.executable, "-c", WEB_PROBE, str(tmp_path / "w.db")],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
        assert out == [
            str(site / "repprofile" / "web" / "_migrations"),
            "None -> 0002",
            "Before you start",
            "True",
        ]
