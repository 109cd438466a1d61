"""Small command-line additions of issue 14 item 6: ``python -m repprofile``, shell
completion, bundled norm ids for ``--norms``, ``fit --format text``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
