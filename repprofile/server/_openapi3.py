"""The OpenAPI document converted from 3.1 to 3.0, for code generators that do not read
3.1 (``repprofile serve --openapi-3.0``).

What changes, schema by schema (OpenAPI 3.0.3 section 4.7.24 lists what 3.0 schemas
allow; the 3.1 upgrade notes list what 3.1 added):

* ``prefixItems`` tuples become ``items`` (the one item schema, or ``oneOf`` the
  different ones), keeping ``minItems``/``maxItems``;
* ``anyOf [X, {"type": "null"}]`` becomes X with ``nullable: true`` (a ``$ref`` X is
  wrapped in ``allOf``, since 3.0 ignores the siblings of a ``$ref``); ``type: [T, "null"]``
  becomes ``type: T`` with ``nullable: true``;
* ``examples`` (an array) becomes ``example`` (its first element); ``const`` becomes a
  one-value ``enum``; a numeric ``exclusiveMinimum``/``exclusiveMaximum`` becomes
  ``minimum``/``maximum`` with the boolean form; ``propertyNames`` is dropped;
* ``info.summary`` (3.1 only) is dropped: ``info.description`` says the same.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["openapi_30"]

_NULL = {"type": "null"}
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
_SCHEMA_ONE = ("items", "not", "additionalProperties")


def openapi_30(doc: dict[str, Any]) -> dict[str, Any]:
    """A copy of the OpenAPI 3.1 document ``doc`` converted to OpenAPI 3.0.3."""
    out = copy.deepcopy(doc)
    out["openapi"] = "3.0.3"
    out.get("info", {}).pop("summary", None)
    components = out.get("components", {})
    if "schemas" in components:
        components["schemas"] = {k: _schema(v) for k, v in components["schemas"].items()}
    for operations in out.get("paths", {}).values():
        for op in operations.values():
            if not isinstance(op, dict):
                continue
            for param in op.get("parameters", []):
                if "schema" in param:
                    param["schema"] = _schema(param["schema"])
            bodies = [op.get("requestBody", {}), *op.get("responses", {}).values()]
            for body in bodies:
                for media in body.get("content", {}).values():
                    if "schema" in media:
                        media["schema"] = _schema(media["schema"])
    return out


def _schema(node: Any) -> Any:
    """One JSON schema (and the schemas inside it) in its OpenAPI 3.0 form."""
    if not isinstance(node, dict):
        return node
    s: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("properties", "patternProperties"):
            s[key] = {name: _schema(v) for name, v in value.items()}
        elif key in _SCHEMA_LISTS:
            s[key] = [_schema(v) for v in value]
        elif key in _SCHEMA_ONE:
            s[key] = _schema(value)
        elif key == "prefixItems":
            items = [_schema(v) for v in value]
            unique = [v for i, v in enumerate(items) if v not in items[:i]]
            s["items"] = unique[0] if len(unique) == 1 else {"oneOf": unique}
        elif key == "examples" and isinstance(value, list):
            if value:
                s["example"] = value[0]
        elif key == "const":
            s["enum"] = [value]
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
            s["minimum" if key == "exclusiveMinimum" else "maximum"] = value
            s[key] = True
        elif key == "propertyNames":
            continue
        elif key == "type" and isinstance(value, list):
            kinds = [t for t in value if t != "null"]
            s["type"] = kinds[0] if len(kinds) == 1 else kinds
            if len(kinds) < len(value):
                s["nullable"] = True
        else:
            s[key] = value
    alternatives = s.get("anyOf")
    if isinstance(alternatives, list) and _NULL in alternatives:
        rest = [a for a in alternatives if a != _NULL]
        del s["anyOf"]
        if len(rest) == 1:
            only = rest[0]
            merged = {"allOf": [only]} if "$ref" in only else dict(only)
            s = {**merged, **s, "nullable": True}
        else:
            s = {**s, "anyOf": rest, "nullable": True}
    return s
