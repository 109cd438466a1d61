"""The questionnaire file format: the bundled rep-types, every rejection rule, derived arrays."""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pydantic
import pytest
import yaml

import repprofile
from repprofile._formats.files import bundled_dir

REP_TYPES_SCALES = (
    "accommodator",
    "competitor",
    "controller",
    "empathizer",
    "hard_worker",
    "innovator",
    "rock",
)

# A small valid questionnaire: two scales of three items, one reverse-keyed item each.
MINI: dict[str, Any] = {
    "id": "mini",
    "version": "1.0",
    "title": "Mini",
    "response_scale": {"min": 1, "max": 5},
    "scales": [{"id": "alpha", "name": "Alpha"}, {"id": "beta", "name": "Beta"}],
    "items": [
        {"id": "a1", "text": "A1", "scale": "alpha"},
        {"id": "a2", "text": "A2", "scale": "alpha", "keyed": -1},
        {"id": "a3", "text": "A3", "scale": "alpha"},
        {"id": "b1", "text": "B1", "scale": "beta"},
        {"id": "b2", "text": "B2", "scale": "beta"},
        {"id": "b3", "text": "B3", "scale": "beta", "keyed": -1},
    ],
}

CONTRACT_FIELDS = {
    "id",
    "version",
    "title",
    "description",
    "instructions",
    "response_scale",
    "scales",
    "items",
    "references",
}


def write_yaml(path: Path, data: Any) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def load_error(path: Path) -> str:
    with pytest.raises(repprofile.QuestionnaireError) as info:
        repprofile.load_questionnaire(path)
    return str(info.value)


# --------------------------------------------------------------------------- bundled


@pytest.fixture(scope="module")
def rep_types() -> repprofile.Questionnaire:
    return repprofile.load_questionnaire("rep-types")


def test_bundled_rep_types_has_the_seven_trait_scales(rep_types: repprofile.Questionnaire) -> None:
    assert rep_types.id == "rep-types"
    assert rep_types.scale_ids == (*REP_TYPES_SCALES, "impression")
    assert [s.kind for s in rep_types.scales] == ["trait"] * 7 + ["validity"]
    assert (rep_types.response_scale.min, rep_types.response_scale.max) == (1, 5)
    assert rep_types.response_scale.integers is True


def test_bundled_rep_types_items_per_scale(rep_types: repprofile.Questionnaire) -> None:
    n_items = Counter(item.scale for item in rep_types.likert_items)
    n_reversed = Counter(item.scale for item in rep_types.likert_items if item.keyed == -1)
    # every scored item is on one of the 7 types or the impression-management scale;
    # the 3 check items (2 attention checks, 1 infrequency item) are on none
    assert set(n_items) == {*REP_TYPES_SCALES, "impression", None}
    assert n_items[None] == 3
    assert n_items["impression"] == 7  # issue 4: 6-8 items
    kinds = Counter(item.kind for item in rep_types.likert_items)
    assert kinds == {"scored": 77, "attention_check": 2, "infrequency": 1}
    for sid in REP_TYPES_SCALES:
        assert n_items[sid] >= 8, sid
        assert n_reversed[sid] >= 2, sid
        assert n_reversed[sid] < n_items[sid], sid  # some positively keyed items too
    # the derived key matrix agrees with the items: per scale, +1 count - (-1) count
    scales = rep_types.scale_ids
    assert np.abs(rep_types.keys).sum(axis=0).tolist() == [n_items[s] for s in scales]
    assert (rep_types.keys < 0).sum(axis=0).tolist() == [n_reversed[s] for s in scales]


def test_list_questionnaires_contains_rep_types() -> None:
    ids = [q.id for q in repprofile.list_questionnaires()]
    assert "rep-types" in ids
    assert ids == sorted(ids)


def test_load_by_id_and_by_path_give_equal_models(rep_types: repprofile.Questionnaire) -> None:
    path = bundled_dir() / "rep-types.yaml"
    by_path = repprofile.load_questionnaire(path)
    by_str_path = repprofile.load_questionnaire(str(path))
    assert by_path == rep_types
    assert by_str_path == rep_types
    assert by_path.fingerprint == rep_types.fingerprint
    assert by_path.model_dump() == rep_types.model_dump()
    assert repprofile.load_questionnaire(rep_types) is rep_types


def test_loaded_questionnaire_is_frozen(rep_types: repprofile.Questionnaire) -> None:
    with pytest.raises(pydantic.ValidationError):
        rep_types.title = "changed"  # type: ignore[misc]
    assert rep_types.title == "Service Rep Types Inventory"


def test_unknown_bundled_id_lists_the_bundled_ids() -> None:
    with pytest.raises(repprofile.QuestionnaireError) as info:
        repprofile.load_questionnaire("rep-typez")
    message = str(info.value)
    assert "'rep-typez'" in message
    assert "Bundled ids: rep-hiring, rep-types, service-recovery." in message


def test_missing_questionnaire_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    assert load_error(path) == f"{path}: no such questionnaire file"


def test_questionnaire_error_is_an_input_error() -> None:
    assert issubclass(repprofile.QuestionnaireError, repprofile.InputError)
    assert issubclass(repprofile.InputError, ValueError)


# --------------------------------------------------------------------------- a valid file


def test_mini_questionnaire_loads_from_yaml_and_json(tmp_path: Path) -> None:
    q_yaml = repprofile.load_questionnaire(write_yaml(tmp_path / "mini.yaml", MINI))
    json_path = tmp_path / "mini.json"
    json_path.write_text(json.dumps(MINI), encoding="utf-8")
    q_json = repprofile.load_questionnaire(json_path)
    assert q_yaml == q_json
    assert q_yaml.item_ids == ("a1", "a2", "a3", "b1", "b2", "b3")
    assert q_yaml.scale_ids == ("alpha", "beta")
    # defaults: keyed 1, kind trait, integers true, no labels, no references
    assert [it.keyed for it in q_yaml.likert_items] == [1, -1, 1, 1, 1, -1]
    assert [s.kind for s in q_yaml.scales] == ["trait", "trait"]
    assert q_yaml.response_scale.integers is True
    assert q_yaml.references == []


# --------------------------------------------------------------------------- rejections

Mutation = Callable[[dict[str, Any]], None]


def _dup_scale(d: dict[str, Any]) -> None:
    d["scales"].append({"id": "alpha", "name": "Again"})


def _dup_item(d: dict[str, Any]) -> None:
    d["items"][2]["id"] = "a1"


def _undefined_scale(d: dict[str, Any]) -> None:
    d["items"][1]["scale"] = "gamma"


def _keyed_2(d: dict[str, Any]) -> None:
    d["items"][1]["keyed"] = 2


def _keyed_string(d: dict[str, Any]) -> None:
    d["items"][1]["keyed"] = "-1"


def _min_equals_max(d: dict[str, Any]) -> None:
    d["response_scale"] = {"min": 5, "max": 5}


def _min_above_max(d: dict[str, Any]) -> None:
    d["response_scale"] = {"min": 7, "max": 1}


def _one_item_scale(d: dict[str, Any]) -> None:
    d["items"] = d["items"][:4]  # a1 a2 a3 b1: beta keeps one item


def _empty_scale(d: dict[str, Any]) -> None:
    d["scales"].append({"id": "gamma", "name": "Gamma"})


def _unknown_top(d: dict[str, Any]) -> None:
    d["colour"] = "red"


def _unknown_nested(d: dict[str, Any]) -> None:
    d["items"][0]["colour"] = "red"


def _missing_title(d: dict[str, Any]) -> None:
    del d["title"]


def _missing_item_text(d: dict[str, Any]) -> None:
    del d["items"][3]["text"]


def _bad_id(d: dict[str, Any]) -> None:
    d["id"] = "Mini Q"


def _bad_scale_id(d: dict[str, Any]) -> None:
    d["scales"][0]["id"] = "Alpha"
    for item in d["items"][:3]:
        item["scale"] = "Alpha"


def _bad_item_id(d: dict[str, Any]) -> None:
    d["items"][4]["id"] = "b 2"


def _min_answered_too_big(d: dict[str, Any]) -> None:
    d["scales"][1]["min_answered"] = 4


def _min_answered_zero(d: dict[str, Any]) -> None:
    d["scales"][0]["min_answered"] = 0


def _version_number(d: dict[str, Any]) -> None:
    d["version"] = 1.0  # yaml.safe_dump writes it unquoted: version: 1.0


def _bad_kind(d: dict[str, Any]) -> None:
    d["scales"][0]["kind"] = "state"


def _label_outside(d: dict[str, Any]) -> None:
    d["response_scale"]["labels"] = {1: "no", 9: "yes"}


def _no_scales(d: dict[str, Any]) -> None:
    d["scales"] = []


@pytest.mark.parametrize(
    ("mutate", "fragments"),
    [
        pytest.param(
            _dup_scale,
            ["scales[2].id: duplicate scale id 'alpha'", "scales[0]", "expected unique ids"],
            id="duplicate-scale-id",
        ),
        pytest.param(
            _dup_item,
            ["items[2].id: duplicate item id 'a1'", "items[0]", "expected unique ids"],
            id="duplicate-item-id",
        ),
        pytest.param(
            _undefined_scale,
            ["items[1].scale:", "'gamma'", "not defined", "expected one of ['alpha', 'beta']"],
            id="undefined-scale",
        ),
        pytest.param(_keyed_2, ["items[1].keyed:", "1 or -1", "got 2 instead"], id="keyed-2"),
        pytest.param(
            _keyed_string,
            ["items[1].keyed:", "1 or -1", "got '-1' instead"],
            id="keyed-string",
        ),
        pytest.param(
            _min_equals_max,
            ["response_scale:", "min must be less than max", "min=5 and max=5"],
            id="min-equals-max",
        ),
        pytest.param(
            _min_above_max,
            ["response_scale:", "min must be less than max", "min=7 and max=1"],
            id="min-above-max",
        ),
        pytest.param(
            _one_item_scale,
            ["scales[1]:", "'beta' has 1 item(s)", "expected at least 2"],
            id="scale-with-one-item",
        ),
        pytest.param(
            _empty_scale,
            ["scales[2]:", "'gamma' has 0 item(s)", "expected at least 2"],
            id="scale-with-no-items",
        ),
        pytest.param(_unknown_top, ["colour: unknown field"], id="unknown-top-level-field"),
        pytest.param(
            _unknown_nested, ["items[0].colour: unknown field"], id="unknown-nested-field"
        ),
        pytest.param(_missing_title, ["title: required field is missing"], id="missing-title"),
        pytest.param(
            _missing_item_text,
            ["items[3].text: required field is missing"],
            id="missing-nested-field",
        ),
        pytest.param(_bad_id, ["id:", "^[a-z0-9-]+$", "got 'Mini Q' instead"], id="bad-id"),
        pytest.param(
            _bad_scale_id,
            ["scales[0].id:", "^[a-z0-9_]+$", "got 'Alpha' instead"],
            id="bad-scale-id",
        ),
        pytest.param(_bad_item_id, ["items[4].id:", "got 'b 2' instead"], id="bad-item-id"),
        pytest.param(
            _min_answered_too_big,
            ["scales[1].min_answered:", "4 is more than the scale's 3 items", "at most 3"],
            id="min-answered-larger-than-scale",
        ),
        pytest.param(
            _min_answered_zero,
            ["scales[0].min_answered:", "greater than or equal to 1", "got 0 instead"],
            id="min-answered-zero",
        ),
        pytest.param(
            _version_number,
            ["version:", "valid string", "got 1.0 instead"],
            id="version-unquoted-number",
        ),
        pytest.param(
            _bad_kind, ["scales[0].kind:", "'trait', 'validity' or 'skill'"], id="bad-kind"
        ),
        pytest.param(
            _label_outside,
            ["response_scale:", "labels must be for answers from 1 to 5", "[9]"],
            id="label-outside-scale",
        ),
        pytest.param(_no_scales, ["scales:", "at least 1 item"], id="no-scales"),
    ],
)
def test_rejection_names_file_field_path_and_expectation(
    tmp_path: Path, mutate: Mutation, fragments: list[str]
) -> None:
    data = copy.deepcopy(MINI)
    mutate(data)
    path = write_yaml(tmp_path / "broken-file.yaml", data)
    message = load_error(path)
    assert message.startswith(f"{path}: ")  # the file name comes first
    for fragment in fragments:
        assert fragment in message


def test_several_problems_are_all_reported(tmp_path: Path) -> None:
    data = copy.deepcopy(MINI)
    data["items"][1]["keyed"] = 2
    data["items"][4]["colour"] = "red"
    message = load_error(write_yaml(tmp_path / "two.yaml", data))
    assert "items[1].keyed:" in message
    assert "items[4].colour: unknown field" in message
    assert len(message.splitlines()) == 2  # one line per problem


def test_unquoted_version_in_raw_yaml_is_rejected(tmp_path: Path) -> None:
    text = yaml.safe_dump(MINI, sort_keys=False).replace("version: '1.0'", "version: 1.0")
    assert "version: 1.0\n" in text
    path = tmp_path / "v.yaml"
    path.write_text(text, encoding="utf-8")
    assert "v.yaml: version: Input should be a valid string, got 1.0 instead" in load_error(path)


def test_duplicate_yaml_key_is_rejected_naming_file_and_line(tmp_path: Path) -> None:
    text = yaml.safe_dump(MINI, sort_keys=False)
    # line 1 is "id: mini"; repeat the title on a new line 2
    lines = text.splitlines()
    assert lines[0] == "id: mini"
    text = "\n".join([lines[0], "title: Twice", *lines[1:]]) + "\n"
    path = tmp_path / "dupkey.yaml"
    path.write_text(text, encoding="utf-8")
    message = load_error(path)
    assert message.startswith(f"{path}: ")
    assert "'title' appears twice" in message
    # "title: Mini" is line 3 of the original dump, line 4 after the insertion
    assert "line 4" in message


def test_duplicate_key_in_nested_mapping_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "nested.yaml"
    path.write_text("id: mini\nresponse_scale:\n  min: 1\n  min: 2\n  max: 5\n", encoding="utf-8")
    message = load_error(path)
    assert str(path) in message
    assert "line 4: key 'min' appears twice" in message


@pytest.mark.parametrize(
    ("text", "type_name"),
    [("- a\n- b\n", "list"), ("just a string\n", "str"), ("", "NoneType")],
)
def test_non_mapping_document_is_rejected(tmp_path: Path, text: str, type_name: str) -> None:
    path = tmp_path / "doc.yaml"
    path.write_text(text, encoding="utf-8")
    message = load_error(path)
    assert message.startswith(f"{path}: a questionnaire file must be a mapping")
    assert f"got {type_name} instead" in message


def test_invalid_yaml_syntax_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "syntax.yaml"
    path.write_text("id: [unclosed\n", encoding="utf-8")
    assert load_error(path).startswith(f"{path}: not valid YAML")


# --------------------------------------------------------------------------- derived arrays


def _derived_questionnaire() -> dict[str, Any]:
    # s3: 3 items (one reversed), s4: 4 items (two reversed), s5: 5 items, items interleaved
    items = [
        ("p1", "s3", 1),
        ("q1", "s4", -1),
        ("r1", "s5", 1),
        ("p2", "s3", -1),
        ("q2", "s4", 1),
        ("r2", "s5", 1),
        ("p3", "s3", 1),
        ("q3", "s4", -1),
        ("r3", "s5", -1),
        ("q4", "s4", 1),
        ("r4", "s5", 1),
        ("r5", "s5", 1),
    ]
    return {
        "id": "derived",
        "version": "2",
        "title": "Derived",
        "response_scale": {"min": 0, "max": 4},
        "scales": [
            {"id": "s3", "name": "Three"},
            {"id": "s4", "name": "Four"},
            {"id": "s5", "name": "Five"},
        ],
        "items": [{"id": i, "text": i, "scale": s, "keyed": k} for i, s, k in items],
    }


def test_keys_matrix_signs(tmp_path: Path) -> None:
    q = repprofile.load_questionnaire(write_yaml(tmp_path / "d.yaml", _derived_questionnaire()))
    expected = np.array(
        [
            # s3  s4  s5
            [1, 0, 0],  # p1
            [0, -1, 0],  # q1
            [0, 0, 1],  # r1
            [-1, 0, 0],  # p2
            [0, 1, 0],  # q2
            [0, 0, 1],  # r2
            [1, 0, 0],  # p3
            [0, -1, 0],  # q3
            [0, 0, -1],  # r3
            [0, 1, 0],  # q4
            [0, 0, 1],  # r4
            [0, 0, 1],  # r5
        ],
        dtype=np.float64,
    )
    np.testing.assert_array_equal(q.keys, expected)
    assert q.item_scale_index.tolist() == [0, 1, 2, 0, 1, 2, 0, 1, 2, 1, 2, 2]
    assert q.trait_mask.tolist() == [True, True, True]
    assert not q.keys.flags.writeable  # derived arrays cannot be changed under a result


def test_min_answered_default_is_half_rounded_up(tmp_path: Path) -> None:
    q = repprofile.load_questionnaire(write_yaml(tmp_path / "d.yaml", _derived_questionnaire()))
    # ceil(3/2) = 2, ceil(4/2) = 2, ceil(5/2) = 3
    assert q.min_answered.tolist() == [2, 2, 3]


def test_min_answered_explicit_value_is_kept(tmp_path: Path) -> None:
    data = _derived_questionnaire()
    data["scales"][1]["min_answered"] = 4  # all 4 items of s4
    data["scales"][2]["min_answered"] = 1
    q = repprofile.load_questionnaire(write_yaml(tmp_path / "d.yaml", data))
    assert q.min_answered.tolist() == [2, 4, 1]


def test_validity_scale_is_not_in_trait_mask(tmp_path: Path) -> None:
    data = _derived_questionnaire()
    data["scales"][1]["kind"] = "validity"
    q = repprofile.load_questionnaire(write_yaml(tmp_path / "d.yaml", data))
    assert q.trait_mask.tolist() == [True, False, True]


# --------------------------------------------------------------------------- JSON Schema


def test_json_schema_lists_the_contract_fields() -> None:
    schema = repprofile.Questionnaire.model_json_schema()
    # other fields may be added later; the contract fields must stay
    assert set(schema["properties"]) >= CONTRACT_FIELDS
    assert set(schema["required"]) == {
        "id",
        "version",
        "title",
        "response_scale",
        "scales",
        "items",
    }
    assert schema["additionalProperties"] is False
    defs = schema["$defs"]
    assert {"id", "text", "scale", "keyed"} <= set(defs["Item"]["properties"])
    assert {"id", "name", "kind", "description", "min_answered"} <= set(defs["Scale"]["properties"])
    assert {"min", "max", "labels", "integers"} <= set(defs["ResponseScale"]["properties"])
    assert defs["Item"]["properties"]["keyed"]["enum"] == [1, -1]
    assert schema["properties"]["version"]["type"] == "string"
