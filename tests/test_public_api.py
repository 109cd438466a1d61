"""The public API is exactly ``repprofile.__all__``: documented, typed and versioned.

Adding or removing a public name needs a deliberate edit of :data:`PUBLIC_NAMES`.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata
import importlib.resources
import pkgutil
from pathlib import Path
from typing import Any

import pytest

import repprofile

PUBLIC_NAMES = [
    "AnswerSet",
    "AuditResult",
    "Calibration",
    "CandidateError",
    "CandidateReport",
    "FitResult",
    "FitRowDict",
    "InputError",
    "InvalidParameterError",
    "Item",
    "ItemStatistics",
    "NormTable",
    "NormedScores",
    "Profile",
    "Provenance",
    "QualityFlag",
    "QualityResult",
    "QualitySettings",
    "QualityVerdict",
    "Questionnaire",
    "QuestionnaireError",
    "RadarRenderer",
    "RankedCandidateDict",
    "RankingDict",
    "ReliabilityResult",
    "RepprofileError",
    "RepprofileWarning",
    "ResponseScale",
    "Role",
    "RoleSummaryDict",
    "Scale",
    "ScaleNorm",
    "ScaleReliability",
    "ScaleScore",
    "ScoreResult",
    "ServerSettings",
    "SjtKey",
    "UnknownCandidateError",
    "__version__",
    "audit",
    "build_norms",
    "build_sjt_key",
    "calibrate",
    "candidate_report",
    "create_app",
    "fit",
    "fit_many",
    "list_questionnaires",
    "list_roles",
    "load_norms",
    "load_questionnaire",
    "load_role",
    "load_sjt_key",
    "radar_chart",
    "radar_grid",
    "rank",
    "read_answers",
    "read_performance",
    "read_survey",
    "reliability",
    "save_figure",
    "score",
    "write_report",
]

PACKAGE_DIR = Path(repprofile.__file__).resolve().parent


def test_all_is_exactly_the_intended_public_names() -> None:
    assert sorted(PUBLIC_NAMES) == PUBLIC_NAMES  # keep the list above sorted
    assert len(repprofile.__all__) == len(set(repprofile.__all__)), "duplicates in __all__"
    assert sorted(repprofile.__all__) == PUBLIC_NAMES


PUBLIC_SUBMODULES = ["cli", "server", "stats", "web"]
# public single-file modules: the engine facades of docs/scale.md (import dask on use)
PUBLIC_FACADES = ["dask", "spark"]


def test_no_public_name_outside_all() -> None:
    stray = sorted(
        name
        for name in vars(repprofile)
        if not name.startswith("_")
        and name not in repprofile.__all__
        and name not in PUBLIC_SUBMODULES + PUBLIC_FACADES  # set by the import system
    )
    assert stray == []


@pytest.mark.parametrize("name", PUBLIC_NAMES)
def test_public_name_is_importable(name: str) -> None:
    module = importlib.import_module("repprofile")
    assert hasattr(module, name)
    namespace: dict[str, Any] = {}
    exec(f"from repprofile import {name}", namespace)
    assert namespace[name] is getattr(repprofile, name)


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, Any] = {}
    exec("from repprofile import *", namespace)
    assert sorted(k for k in namespace if k != "__builtins__") == PUBLIC_NAMES


def _own_docstring(obj: Any) -> str | None:
    """The object's own docstring: not inherited, not a dataclass's generated signature."""
    if isinstance(obj, type):
        doc = vars(obj).get("__doc__")
        if (
            isinstance(doc, str)
            and dataclasses.is_dataclass(obj)
            and doc.startswith(f"{obj.__name__}(")
        ):
            return None  # dataclasses write "Name(field: type, ...)" when there is none
        return doc if isinstance(doc, str) else None
    doc = getattr(obj, "__doc__", None)
    return doc if isinstance(doc, str) else None


@pytest.mark.parametrize("name", [n for n in PUBLIC_NAMES if n != "__version__"])
def test_public_name_is_documented(name: str) -> None:
    doc = _own_docstring(getattr(repprofile, name))
    assert doc is not None, f"repprofile.{name} has no docstring"
    assert doc.strip(), f"repprofile.{name} has an empty docstring"


def test_every_submodule_is_private_but_the_public_three() -> None:
    modules = list(pkgutil.walk_packages(repprofile.__path__, prefix="repprofile."))
    assert modules, "no submodules found"
    public = [
        m.name for m in modules if not any(part.startswith("_") for part in m.name.split(".")[1:])
    ]
    assert public == [f"repprofile.{name}" for name in sorted(PUBLIC_SUBMODULES + PUBLIC_FACADES)]
    # and on disk: every Python file of the package has a private name, but the facades
    files = sorted(p.name for p in PACKAGE_DIR.glob("*.py") if not p.name.startswith("_"))
    assert files == [f"{name}.py" for name in PUBLIC_FACADES]
    subpackages = sorted(
        p.name
        for p in PACKAGE_DIR.iterdir()
        if p.is_dir() and (p / "__init__.py").is_file() and not p.name.startswith("_")
    )
    assert subpackages == PUBLIC_SUBMODULES


def test_py_typed_marker_is_shipped() -> None:
    assert (PACKAGE_DIR / "py.typed").is_file()
    assert importlib.resources.files("repprofile").joinpath("py.typed").is_file()


def test_version_matches_the_installed_metadata() -> None:
    assert isinstance(repprofile.__version__, str)
    assert repprofile.__version__ == importlib.metadata.version("repprofile")


def test_the_server_names_say_which_extra_they_need(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.delitem(sys.modules, "repprofile.server", raising=False)
    monkeypatch.delitem(sys.modules, "repprofile.server._app", raising=False)
    monkeypatch.setitem(sys.modules, "fastapi", None)  # as if FastAPI were not installed
    monkeypatch.delitem(vars(repprofile), "create_app", raising=False)
    with pytest.raises(ImportError, match=r"needs the server extra \(fastapi is not installed\)"):
        repprofile.create_app  # noqa: B018
