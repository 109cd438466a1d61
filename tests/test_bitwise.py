"""Outputs that must not change by a single byte when code moves.

The digests were recorded by ``tests/reference/bitwise/make_bitwise.py`` (see its
docstring) before the package was reorganised into layers; every command's output
(score, reliability, quality, fit, rank and norm-table documents, for the bundled
sample and a 600-candidate simulated batch with missing answers) still hashes to them.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

HERE = Path(__file__).resolve().parent / "reference" / "bitwise"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_bitwise", HERE / "make_bitwise.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


EXPECTED: dict[str, str] = json.loads((HERE / "digests.json").read_text())


def test_every_recorded_output_is_still_produced(tmp_path: Path) -> None:
    names = [name for name, _ in _script().commands(tmp_path)]
    assert sorted(names) == sorted(EXPECTED)
    assert len(names) == 42


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_output_is_bit_identical(name: str, tmp_path: Path) -> None:
    script = _script()
    argv = dict(script.commands(tmp_path))[name]
    assert script.hashlib.sha256(script.run(argv, tmp_path)).hexdigest() == EXPECTED[name]
