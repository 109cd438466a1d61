"""repprofile: evidence-based profiling of customer-service rep candidates.

The public API is exactly the names in ``__all__``. They are listed once, in
``__init__.pyi`` (one ``from MODULE import NAME as NAME`` line each): type checkers read
that stub, and this module reads the same lines to import each name on first use
(PEP 562), so ``import repprofile`` and the command line start fast. ``create_app`` and
``ServerSettings`` need the ``server`` extra (FastAPI): they are in ``__all__`` only when
FastAPI is installed, and otherwise raise an ImportError that names the extra.

Everything else lives in layers of private packages (see docs/architecture.md), apart
from the public submodules :mod:`repprofile.stats` (statistics on arrays),
:mod:`repprofile.cli` and :mod:`repprofile.server`.
"""

import importlib as _importlib
import importlib.util as _importlib_util
import re as _re
import typing as _typing
from pathlib import Path as _Path

from repprofile._version import __version__ as __version__

_SERVER_MODULE = "repprofile.server"


def _public_names() -> dict[str, str]:
    """Public name -> defining module, read from the ``from M import N as N`` stub lines."""
    text = _Path(__file__).with_suffix(".pyi").read_text(encoding="utf-8")
    found = _re.findall(r"^from ([\w.]+) import (\w+) as \2$", text, flags=_re.MULTILINE)
    return {name: module for module, name in found if name != "__version__"}


_PUBLIC = _public_names()
__all__ = sorted(
    [
        "__version__",
        *(
            name
            for name, module in _PUBLIC.items()
            if module != _SERVER_MODULE or _importlib_util.find_spec("fastapi") is not None
        ),
    ]
)


def __getattr__(name: str) -> _typing.Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'repprofile' has no attribute {name!r}")
    try:
        value = getattr(_importlib.import_module(module), name)
    except ImportError as exc:
        if module != _SERVER_MODULE:
            raise
        raise ImportError(
            f"repprofile.{name} needs the server extra ({exc.name} is not installed): "
            "pip install 'repprofile[server]'"
        ) from exc
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return list(__all__)
