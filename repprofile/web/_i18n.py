"""The strings of the candidate's pages: one JSON catalogue per language in
``repprofile/web/locales/`` (``en.json`` is the reference; file names in lower case,
``pt-br.json``), so that a translation is one
file. The invitation's ``locale`` (``"de-CH"``, ``"fr"``) picks the catalogue: the exact
tag, then its language, then English; a key missing from a translation falls back to the
English string.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["Catalogue", "DEFAULT_LOCALE", "catalogue", "locales"]

LOCALES = Path(__file__).parent / "locales"
DEFAULT_LOCALE = "en"
_TAG = re.compile(r"^[A-Za-z]{2,8}(?:[-_][A-Za-z0-9]{1,8})*$")


@cache
def _load(name: str) -> dict[str, str]:
    """The catalogue file ``locales/NAME.json`` (every value a string)."""
    path = LOCALES / f"{name}.json"
    doc: Any = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(doc, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in doc.items()
    ):
        raise ValueError(f"{path}: expected a JSON object of strings (key -> text)")
    return dict(doc)


@cache
def locales() -> tuple[str, ...]:
    """The catalogues there are (file names without ``.json``, lower case)."""
    return tuple(sorted(p.stem.lower() for p in LOCALES.glob("*.json")))


@dataclass(frozen=True)
class Catalogue:
    """The strings of one language: ``t(key, **values)`` formats ``{name}`` fields."""

    lang: str
    strings: dict[str, str]

    def t(self, key: str, /, **values: Any) -> str:
        """The string ``key``, its ``{name}`` fields filled from ``values``. A key that is
        in no catalogue is a bug: KeyError naming it."""
        text = self.strings.get(key)
        if text is None:
            text = _load(DEFAULT_LOCALE).get(key)
        if text is None:
            raise KeyError(f"no string {key!r} in locales/{DEFAULT_LOCALE}.json")
        return text.format(**values) if values else text


@cache
def catalogue(locale: str | None) -> Catalogue:
    """The catalogue for a BCP 47 tag: the exact tag, then its language, then English."""
    names = locales()
    chosen = DEFAULT_LOCALE
    if locale and _TAG.match(locale):
        tag = locale.lower().replace("_", "-")
        for cand in (tag, tag.split("-", 1)[0]):
            if cand in names:
                chosen = cand
                break
    strings = dict(_load(DEFAULT_LOCALE))
    if chosen != DEFAULT_LOCALE:
        strings.update(_load(chosen))
    return Catalogue(chosen, strings)
