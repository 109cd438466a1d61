"""Reading the library's YAML and JSON files: duplicate-key-safe YAML, validation
errors as one readable message, the bundled-files folder and what a bundled id or a
file path points to, and a pydantic base whose cached properties survive neither a
copy nor a change."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from repprofile._errors import QuestionnaireError

__all__ = [
    "CachedModel",
    "Source",
    "bundled_dir",
    "bundled_files",
    "find_source",
    "format_validation_error",
    "read_yaml",
    "validate_document",
]


class CachedModel(BaseModel):
    """A frozen model with ``functools.cached_property`` values derived from its fields:
    :meth:`model_copy` drops them, so a copy with changed fields never reuses them."""

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        copy = super().model_copy(update=update, deep=deep)
        for klass in type(self).__mro__:
            for name, attr in vars(klass).items():
                if isinstance(attr, functools.cached_property):
                    copy.__dict__.pop(name, None)
        return copy


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a mapping that repeats a key."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    out: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node)
        if key in out:
            mark = key_node.start_mark
            raise QuestionnaireError(
                f"line {mark.line + 1}: key {key!r} appears twice in one mapping; "
                "expected each key once"
            )
        out[key] = loader.construct_object(value_node)
    return out


def read_yaml(path: Path) -> Any:
    """Read a YAML (or JSON) file with a safe loader that rejects duplicate keys."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise QuestionnaireError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise QuestionnaireError(f"{path}: not valid YAML: {exc}") from exc
    except QuestionnaireError as exc:  # a duplicate key: name the file, not "<unicode string>"
        raise QuestionnaireError(f"{path}: {exc}") from None


_UNION_TAGS = frozenset({"likert", "sjt"})  # the tags of a questionnaire's item union


def _where(loc: Sequence[int | str]) -> str:
    """A pydantic error location as a path: ``items[0].scale``, ``labels['Agree ']``,
    ``items[1] (key)`` (a mapping key of the wrong type)."""
    out = ""
    previous: int | str | None = None
    for part in loc:
        tag, previous = (isinstance(previous, int) and part in _UNION_TAGS), part
        if tag:  # a tagged union's branch name (items[0].likert.scale): not a field
            continue
        if part == "[key]":
            out += " (key)"
        elif isinstance(part, int) or (out and not str(part).isidentifier()):
            out += f"[{part!r}]" if isinstance(part, str) else f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def format_validation_error(
    source: str, exc: ValidationError, fields: Sequence[str] | None = None
) -> str:
    """Turn a pydantic error into lines ``SOURCE: field.path: what was expected, got what``.

    ``fields``: the known field names, listed in the message for an unknown field.
    Works for models and for validated dataclasses alike.
    """
    lines = []
    for err in exc.errors(include_url=False):
        where = _where(tuple(err["loc"]))
        kind = err["type"]
        if kind in ("extra_forbidden", "unexpected_keyword_argument"):
            msg = (
                f"unknown field; expected one of {', '.join(fields)}"
                if fields
                else "unknown field; remove it or check its spelling"
            )
        elif kind in ("missing", "missing_argument"):
            msg = "required field is missing"
        elif kind == "value_error":
            msg = str(err["msg"]).removeprefix("Value error, ")
        else:
            msg = f"{err['msg']}, got {err.get('input')!r} instead"
        lines.append(f"{source}: {where}: {msg}" if where else f"{source}: {msg}")
    return "\n".join(lines)


_M = TypeVar("_M", bound=BaseModel)


def validate_document(
    model: type[_M],
    data: Any,
    source: str,
    expected: str | None = None,
    error: type[Exception] = QuestionnaireError,
) -> _M:
    """A parsed file as ``model``, or ``error`` naming every problem.

    ``expected``: what the top level must be (e.g. "a role file must be a mapping with
    id, ..."), said when it is not a mapping.
    """
    if expected is not None and not isinstance(data, Mapping):
        raise error(f"{source}: {expected}, got {type(data).__name__} instead")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(format_validation_error(source, exc)) from None


def bundled_files(folder: Path) -> dict[str, Path]:
    """The bundled YAML files of a folder by id (the file name without ``.yaml``)."""
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


@dataclass(frozen=True)
class Source:
    """Where a bundled id or a file path points (see :func:`find_source`)."""

    path: Path
    bundled: bool

    @property
    def name(self) -> str:
        """How messages name the file: a bundled file by its file name, else its path."""
        return self.path.name if self.bundled else str(self.path)


def find_source(id_or_path: str | Path, bundled: Mapping[str, Path]) -> Source | None:
    """Resolve what a ``load_*`` function was given: a ``str`` that is a bundled id, else
    the path of an existing file; None when it is neither (the caller says why)."""
    text = str(id_or_path)
    if isinstance(id_or_path, str) and text in bundled:
        return Source(bundled[text], bundled=True)
    path = Path(text)
    if path.is_file():
        return Source(path, bundled=False)
    return None


def bundled_dir() -> Path:
    """The folder of bundled questionnaires and roles.

    Inside an installed wheel it is ``repprofile/questionnaires`` (the wheel maps the
    top-level ``questionnaires/`` there); in a source checkout or editable install it is
    the top-level ``questionnaires/`` beside the package. Never relative to the working
    directory.
    """
    package = Path(__file__).resolve().parents[1]  # repprofile/
    for candidate in (package / "questionnaires", package.parent / "questionnaires"):
        if (candidate / "rep-types.yaml").is_file():
            return candidate
    raise QuestionnaireError(  # pragma: no cover - a broken installation
        f"the bundled questionnaires were not found beside {package}; reinstall repprofile"
    )
