"""``repprofile serve --openapi-3.0``: the OpenAPI document converted to 3.0 for older
code generators (issue 15 item 5). The conversions are checked one by one on small
schemas worked out by hand, then on the whole document (no 3.1-only construct left)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from repprofile.cli import _main as _cli
from repprofile.server._openapi3 import openapi_30


def convert(schema: dict[str, Any]) -> Any:
    doc = {"openapi": "3.1.0", "info": {"title": "t", "version": "1", "summary": "s"}}
    doc["components"] = {"schemas": {"S": schema}}
    out = openapi_30(doc)
    assert out["openapi"] == "3.0.3"
    assert out["info"] == {"title": "t", "version": "1"}
    return out["components"]["schemas"]["S"]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (  # a pair: items
            {"type": "array", "prefixItems": [{"type": "number"}] * 2, "minItems": 2},
            {"type": "array", "items": {"type": "number"}, "minItems": 2},
        ),
        (  # a pair of different kinds: items oneOf
            {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}]},
            {"type": "array", "items": {"oneOf": [{"type": "string"}, {"type": "integer"}]}},
        ),
        (  # optional number
            {"anyOf": [{"type": "number"}, {"type": "null"}], "title": "Z"},
            {"type": "number", "title": "Z", "nullable": True},
        ),
        (  # optional reference: allOf, since 3.0 ignores the siblings of a $ref
            {"anyOf": [{"$ref": "#/components/schemas/I"}, {"type": "null"}]},
            {"allOf": [{"$ref": "#/components/schemas/I"}], "nullable": True},
        ),
        (  # optional union of two
            {"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}]},
            {"anyOf": [{"type": "string"}, {"type": "integer"}], "nullable": True},
        ),
        ({"type": ["string", "null"]}, {"type": "string", "nullable": True}),
        ({"type": "string", "examples": ["a", "b"]}, {"type": "string", "example": "a"}),
        ({"const": "ok"}, {"enum": ["ok"]}),
        (
            {"type": "number", "exclusiveMinimum": 0.0, "exclusiveMaximum": 1.0},
            {"type": "number", "minimum": 0.0, "exclusiveMinimum": True, "maximum": 1.0}
            | {"exclusiveMaximum": True},
        ),
        (
            {"type": "object", "propertyNames": {"maxLength": 256}},
            {"type": "object"},
        ),
        (  # inside properties and items; a property may be called "examples"
            {
                "type": "object",
                "properties": {
                    "examples": {"type": "array", "items": {"type": ["integer", "null"]}}
                },
            },
            {
                "type": "object",
                "properties": {
                    "examples": {"type": "array", "items": {"type": "integer", "nullable": True}}
                },
            },
        ),
    ],
)
def test_each_conversion(before: dict[str, Any], after: dict[str, Any]) -> None:
    assert convert(before) == after


def _left_over(node: Any, path: str = "") -> list[str]:
    """Paths of 3.1-only constructs left in a converted document."""
    out: list[str] = []
    if isinstance(node, dict):
        for key in ("prefixItems", "propertyNames", "const"):
            if key in node:
                out.append(f"{path}/{key}")
        if node.get("type") == "null" or isinstance(node.get("type"), list):
            out.append(f"{path}/type")
        for key in ("exclusiveMinimum", "exclusiveMaximum"):
            if key in node and not isinstance(node[key], bool):
                out.append(f"{path}/{key}")
        if isinstance(node.get("examples"), list):
            out.append(f"{path}/examples")
        for key, value in node.items():
            if key != "properties":
                out += _left_over(value, f"{path}/{key}")
            else:
                for name, sub in value.items():
                    out += _left_over(sub, f"{path}/properties/{name}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _left_over(value, f"{path}/{i}")
    return out


def test_serve_openapi_30_prints_the_converted_document(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REPPROFILE_API_KEYS", raising=False)  # needs no key
    assert _cli.main(["serve", "--openapi-3.0"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["openapi"] == "3.0.3"
    assert _left_over(doc) == []
    schemas = doc["components"]["schemas"]
    assert schemas["ScaleLine"]["properties"]["interval"] == {
        "maxItems": 2,
        "minItems": 2,
        "items": {"type": "number"},
        "type": "array",
        "title": "Interval",
        "nullable": True,
    }
    assert schemas["ScoreRequest"]["properties"]["questionnaire"]["example"] == "rep-types"
    assert doc["paths"]["/v1/fit"]["post"]["operationId"] == "fit"
