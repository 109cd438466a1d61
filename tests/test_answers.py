"""Answers input in every accepted form, hand-computed scores, per-candidate errors, JSON shape.

The questionnaire MINI has two trait scales of three items on a 1-5 answer scale:
alpha = a1, a2 (reverse-keyed), a3 and beta = b1, b2, b3 (reverse-keyed). A reverse-keyed
answer x counts as min + max - x = 6 - x. Default min_answered is ceil(3 / 2) = 2.

Hand-made candidates (item order a1 a2 a3 b1 b2 b3, "-" = missing):

    c1: 5 1 4 2 - 3   alpha = 5 + (6-1) + 4 = 14 over 3 -> mean 14/3
                      beta  = 2 + (6-3)     =  5 over 2 -> mean 2.5
    c2: 2 4 3 4 5 1   alpha = 2 + (6-4) + 3 =  7 over 3 -> mean 7/3
                      beta  = 4 + 5 + (6-1) = 14 over 3 -> mean 14/3
    c3: 1 - - 3 3 3   alpha: 1 of 3 answered < 2 -> no score
                      beta  = 3 + 3 + (6-3) =  9 over 3 -> mean 3

pomp = 100 * (mean - 1) / (5 - 1):
    c1: alpha 100 * (11/3) / 4 = 91.67, beta 100 * 1.5 / 4 = 37.5
    c2: alpha 100 * (4/3) / 4 = 33.33, beta 91.67
    c3: beta 100 * 2 / 4 = 50
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import repprofile

from .conftest import MINI_YAML

# Three trait scales and one validity scale of two items each (default min_answered 1).
TYPES_YAML = """\
id: types
version: "0.1"
title: Types
response_scale: {min: 1, max: 5}
scales:
  - {id: t1, name: T1}
  - {id: t2, name: T2}
  - {id: t3, name: T3}
  - {id: val, name: Validity, kind: validity}
items:
  - {id: t1a, text: x, scale: t1}
  - {id: t1b, text: x, scale: t1}
  - {id: t2a, text: x, scale: t2}
  - {id: t2b, text: x, scale: t2}
  - {id: t3a, text: x, scale: t3}
  - {id: t3b, text: x, scale: t3}
  - {id: va, text: x, scale: val}
  - {id: vb, text: x, scale: val}
"""

ITEMS = ("a1", "a2", "a3", "b1", "b2", "b3")
NAN = math.nan
ROWS: dict[str, list[float]] = {
    "c1": [5, 1, 4, 2, NAN, 3],
    "c2": [2, 4, 3, 4, 5, 1],
    "c3": [1, NAN, NAN, 3, 3, 3],
}
CSV_TEXT = "candidate_id,a1,a2,a3,b1,b2,b3\nc1,5,1,4,2,,3\nc2,2,4,3,4,5,1\nc3,1,,,3,3,3\n"
OK_ANSWERS: dict[str, Any] = dict.fromkeys(ITEMS, 3)  # alpha = beta = 3+3+(6-3) = 9, mean 3
EXPECTED_ANSWER = "a whole number from 1 to 5"


def pomp(mean: float) -> float:
    return 100 * (mean - 1) / (5 - 1)


@pytest.fixture(scope="module")
def mini(tmp_path_factory: pytest.TempPathFactory) -> repprofile.Questionnaire:
    path = tmp_path_factory.mktemp("q") / "mini.yaml"
    path.write_text(MINI_YAML, encoding="utf-8")
    return repprofile.load_questionnaire(path)


@pytest.fixture(scope="module")
def types_q(tmp_path_factory: pytest.TempPathFactory) -> repprofile.Questionnaire:
    path = tmp_path_factory.mktemp("q") / "types.yaml"
    path.write_text(TYPES_YAML, encoding="utf-8")
    return repprofile.load_questionnaire(path)


def records() -> list[dict[str, Any]]:
    """The three hand-made candidates as records; missing answers as omitted key, None, NaN."""
    return [
        {"candidate_id": "c1", "answers": {"a1": 5, "a2": 1, "a3": 4, "b1": 2, "b3": 3}},
        {"candidate_id": "c2", "answers": {"a1": 2, "a2": 4, "a3": 3, "b1": 4, "b2": 5, "b3": 1}},
        {
            "candidate_id": "c3",
            "answers": {"a1": 1, "a2": None, "a3": NAN, "b1": 3, "b2": 3, "b3": 3},
        },
    ]


def json_records() -> list[dict[str, Any]]:
    """Like records() but JSON-safe: null for the NaN."""
    out = records()
    out[2]["answers"]["a3"] = None
    return out


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def check_hand_values(result: repprofile.ScoreResult) -> None:
    """The scores of c1, c2, c3 worked out in the module docstring."""
    profiles = {p["candidate_id"]: p for p in result.to_dict()["profiles"]}
    assert list(profiles) == ["c1", "c2", "c3"]
    c1, c2, c3 = profiles["c1"]["scales"], profiles["c2"]["scales"], profiles["c3"]["scales"]

    assert (c1["alpha"]["raw"], c1["alpha"]["n_answered"]) == (14.0, 3)
    assert c1["alpha"]["mean"] == pytest.approx(14 / 3, rel=1e-12)
    assert c1["alpha"]["pomp"] == pytest.approx(pomp(14 / 3), rel=1e-12)
    assert c1["alpha"]["pomp"] == pytest.approx(91.66666666666667, rel=1e-12)
    assert (c1["beta"]["raw"], c1["beta"]["n_answered"]) == (5.0, 2)
    assert (c1["beta"]["mean"], c1["beta"]["pomp"]) == (2.5, 37.5)

    assert (c2["alpha"]["raw"], c2["alpha"]["n_answered"]) == (7.0, 3)
    assert c2["alpha"]["mean"] == pytest.approx(7 / 3, rel=1e-12)
    assert c2["alpha"]["pomp"] == pytest.approx(100 / 3, rel=1e-12)
    assert (c2["beta"]["raw"], c2["beta"]["n_answered"]) == (14.0, 3)
    assert c2["beta"]["pomp"] == pytest.approx(pomp(14 / 3), rel=1e-12)

    assert c3["alpha"]["raw"] is None
    assert c3["alpha"]["mean"] is None
    assert c3["alpha"]["pomp"] is None
    assert c3["alpha"]["n_answered"] == 1
    assert (c3["beta"]["raw"], c3["beta"]["mean"], c3["beta"]["pomp"]) == (9.0, 3.0, 50.0)

    types = {cid: (p["primary_type"], p["secondary_type"]) for cid, p in profiles.items()}
    assert types == {"c1": ("alpha", "beta"), "c2": ("beta", "alpha"), "c3": ("beta", None)}
    assert result.errors == []
    assert result.scored.tolist() == [True, True, True]


# --------------------------------------------------------------------------- input forms


def test_records_give_hand_computed_scores(mini: repprofile.Questionnaire) -> None:
    check_hand_values(repprofile.score(mini, records()))


def test_arrays_hold_hand_computed_scores(mini: repprofile.Questionnaire) -> None:
    result = repprofile.score(mini, records())
    assert result.scale_ids == ("alpha", "beta")
    np.testing.assert_array_equal(result.raw, [[14, 5], [7, 14], [NAN, 9]])
    np.testing.assert_array_equal(result.n_answered, [[3, 2], [3, 3], [1, 3]])
    np.testing.assert_allclose(result.mean, [[14 / 3, 2.5], [7 / 3, 14 / 3], [NAN, 3]], rtol=1e-12)
    np.testing.assert_allclose(
        result.pomp,
        [[pomp(14 / 3), 37.5], [pomp(7 / 3), pomp(14 / 3)], [NAN, 50]],
        rtol=1e-12,
    )
    assert result.primary_type.tolist() == ["alpha", "beta", "beta"]
    assert result.secondary_type.tolist() == ["beta", "alpha", None]
    assert result.candidate_ids == ("c1", "c2", "c3")
    assert len(result) == 3


def test_every_input_form_gives_identical_scores(
    mini: repprofile.Questionnaire, tmp_path: Path
) -> None:
    reference = repprofile.score(mini, records()).to_json()
    array = np.array([ROWS["c1"], ROWS["c2"], ROWS["c3"]])
    csv_path = write(tmp_path / "answers.csv", CSV_TEXT)
    json_path = write(tmp_path / "answers.json", json.dumps(json_records()))
    wrapped = write(tmp_path / "wrapped.json", json.dumps({"candidates": json_records()}))
    forms: dict[str, Any] = {
        "numpy": repprofile.score(mini, array, candidate_ids=["c1", "c2", "c3"]),
        "numpy-float32": repprofile.score(
            mini, array.astype(np.float32), candidate_ids=["c1", "c2", "c3"]
        ),
        "csv-path": repprofile.score(mini, csv_path),
        "csv-str": repprofile.score(mini, str(csv_path)),
        "json": repprofile.score(mini, json_path),
        "json-wrapped": repprofile.score(mini, wrapped),
        "read_answers": repprofile.score(mini, repprofile.read_answers(csv_path, mini)),
        "generator": repprofile.score(mini, (r for r in records())),
    }
    for name, result in forms.items():
        check_hand_values(result)
        assert result.to_json() == reference, name


def test_single_candidate_mapping(mini: repprofile.Questionnaire) -> None:
    answers = {"a1": 5, "a2": 1, "a3": 4, "b1": 2, "b2": None, "b3": 3}
    by_position = repprofile.score(mini, answers)
    assert by_position.candidate_ids == ("1",)  # no id given: positional "1"
    named = repprofile.score(mini, answers, candidate_ids=["c1"])
    assert named.candidate_ids == ("c1",)
    full = repprofile.score(mini, records()).to_dict()["profiles"][0]
    assert named.to_dict()["profiles"] == [full]
    # a mapping that is itself one record
    record = repprofile.score(mini, records()[0]).to_dict()["profiles"]
    assert record == [full]


def test_numpy_without_ids_gets_positional_ids(mini: repprofile.Questionnaire) -> None:
    result = repprofile.score(mini, np.array([ROWS["c2"], ROWS["c1"]]))
    assert result.candidate_ids == ("1", "2")
    assert result.raw.tolist() == [[7.0, 14.0], [14.0, 5.0]]


def test_numpy_integer_array(mini: repprofile.Questionnaire) -> None:
    result = repprofile.score(mini, np.array([ROWS["c2"]], dtype=np.int64))
    # c2: alpha 7, beta 14 (module docstring)
    assert result.raw.tolist() == [[7.0, 14.0]]


def test_pandas_dataframe_with_id_column_and_with_index(mini: repprofile.Questionnaire) -> None:
    pd = pytest.importorskip("pandas")
    reference = repprofile.score(mini, records()).to_json()
    df = pd.DataFrame([ROWS["c1"], ROWS["c2"], ROWS["c3"]], columns=list(ITEMS))
    with_column = df.assign(candidate_id=["c1", "c2", "c3"])
    with_index = df.set_axis(pd.Index(["c1", "c2", "c3"], name="candidate_id"), axis=0)
    # an object column holding None for the missing answers
    with_objects = with_index.astype(object).where(with_index.notna(), None)
    for frame in (with_column, with_index, with_objects):
        result = repprofile.score(mini, frame)
        check_hand_values(result)
        assert result.to_json() == reference


def test_pandas_bool_column_is_rejected_like_json_bool(mini: repprofile.Questionnaire) -> None:
    pd = pytest.importorskip("pandas")
    mixed = pd.Series([3, True], dtype=object)  # an object column holding a bool
    df = pd.DataFrame({"candidate_id": ["ok", "bad"], **{i: [3, 3] for i in ITEMS}, "a1": mixed})
    result = repprofile.score(mini, df)
    assert result.scored.tolist() == [True, False]
    assert [(e.candidate_id, e.item_id, e.value) for e in result.errors] == [("bad", "a1", "True")]
    assert "is not a number" in result.errors[0].message
    # an all-bool column: True must not silently count as the answer 1
    df2 = pd.DataFrame({"candidate_id": ["x"], **{i: [3] for i in ITEMS}})
    df2["a1"] = [True]
    result2 = repprofile.score(mini, df2)
    assert result2.scored.tolist() == [False]
    assert result2.errors[0].item_id == "a1"


# --------------------------------------------------------------------------- min_answered


def test_too_few_answers_gives_null_scores_and_a_reason(mini: repprofile.Questionnaire) -> None:
    profiles = repprofile.score(mini, records()).profiles()
    c3 = profiles[2]
    assert c3.candidate_id == "c3"
    alpha = c3.scales["alpha"]
    assert (alpha.raw, alpha.mean, alpha.pomp, alpha.n_answered) == (None, None, None, 1)
    assert alpha.reason == "only 1 of 3 items answered; at least 2 needed for a score"
    assert c3.scales["beta"].reason is None
    assert profiles[0].scales["alpha"].reason is None


def test_explicit_min_answered(tmp_path: Path) -> None:
    path = write(
        tmp_path / "strict.yaml",
        MINI_YAML.replace("{id: beta, name: Beta}", "{id: beta, name: Beta, min_answered: 3}"),
    )
    q = repprofile.load_questionnaire(path)
    result = repprofile.score(q, records())
    # c1 answered 2 of 3 beta items: now below 3, so no beta score; c2 and c3 answered 3
    beta = [p.scales["beta"] for p in result.profiles()]
    assert [b.raw for b in beta] == [None, 14.0, 9.0]
    assert beta[0].reason == "only 2 of 3 items answered; at least 3 needed for a score"
    # c1 keeps alpha only, so its secondary type is None
    assert result.secondary_type.tolist() == [None, "alpha", None]


def test_every_answer_missing_is_scored_with_null_scores(mini: repprofile.Questionnaire) -> None:
    # Answers given, all of them missing (null): scored, every score null with its reason.
    blank = {"a1": None, "a2": None, "a3": None, "b1": None, "b2": None, "b3": None}
    result = repprofile.score(mini, [{"candidate_id": "blank", "answers": blank}])
    (p,) = result.profiles()
    assert [p.scales[s].n_answered for s in ("alpha", "beta")] == [0, 0]
    assert p.scales["alpha"].mean is None
    assert (p.primary_type, p.secondary_type) == (None, None)


# --------------------------------------------------------------------------- errors


def scored_ids(result: repprofile.ScoreResult) -> list[str]:
    return [p["candidate_id"] for p in result.to_dict()["profiles"]]


def the_error(result: repprofile.ScoreResult) -> repprofile.CandidateError:
    assert len(result.errors) == 1, result.errors
    return result.errors[0]


@pytest.mark.parametrize("value", [0, 6, -1, 50])
def test_out_of_range_answer(mini: repprofile.Questionnaire, value: int) -> None:
    result = repprofile.score(
        mini,
        [
            {"candidate_id": "ok1", "answers": OK_ANSWERS},
            {"candidate_id": "bad", "answers": {**OK_ANSWERS, "a2": value}},
            {"candidate_id": "ok2", "answers": OK_ANSWERS},
        ],
    )
    err = the_error(result)
    assert (err.candidate_id, err.item_id, err.value) == ("bad", "a2", value)
    assert err.message == (
        f"answer {value} is outside the response scale; expected {EXPECTED_ANSWER}"
    )
    assert scored_ids(result) == ["ok1", "ok2"]
    assert result.scored.tolist() == [True, False, True]
    assert math.isnan(result.mean[1, 0])  # rejected rows keep NaN scores
    assert result.mean[0].tolist() == [3.0, 3.0]  # ok1: 9 / 3 on both scales


def test_fractional_answer(mini: repprofile.Questionnaire) -> None:
    result = repprofile.score(
        mini,
        [
            {"candidate_id": "bad", "answers": {**OK_ANSWERS, "b1": 2.5}},
            {"candidate_id": "ok", "answers": OK_ANSWERS},
        ],
    )
    err = the_error(result)
    assert (err.candidate_id, err.item_id, err.value) == ("bad", "b1", 2.5)
    assert err.message == f"answer 2.5 is not a whole number; expected {EXPECTED_ANSWER}"
    assert scored_ids(result) == ["ok"]


def test_out_of_range_in_numpy_array(mini: repprofile.Questionnaire) -> None:
    array = np.array([ROWS["c1"], [3, 3, 3, 3, 3, 6], ROWS["c2"]])
    result = repprofile.score(mini, array, candidate_ids=["c1", "x", "c2"])
    err = the_error(result)
    assert (err.candidate_id, err.item_id, err.value) == ("x", "b3", 6)
    assert "outside the response scale" in err.message
    assert scored_ids(result) == ["c1", "c2"]
    assert result.raw[2].tolist() == [7.0, 14.0]  # c2 from the module docstring


def test_infinite_answer_is_rejected_and_json_has_no_infinity(
    mini: repprofile.Questionnaire,
) -> None:
    result = repprofile.score(
        mini, np.array([[3, 3, 3, 3, 3, np.inf], ROWS["c2"]]), candidate_ids=["inf", "c2"]
    )
    err = the_error(result)
    assert (err.candidate_id, err.item_id, err.value) == ("inf", "b3", "inf")
    assert scored_ids(result) == ["c2"]
    json.loads(result.to_json(), parse_constant=_no_constants)


def test_non_numeric_string_in_csv(mini: repprofile.Questionnaire, tmp_path: Path) -> None:
    path = write(
        tmp_path / "answers.csv",
        "candidate_id,a1,a2,a3,b1,b2,b3\nc1,5,1,4,2,,3\nbad,3,abc,3,3,3,3\nc2,2,4,3,4,5,1\n",
    )
    result = repprofile.score(mini, path)
    err = the_error(result)
    assert (err.candidate_id, err.item_id, err.value) == ("bad", "a2", "abc")
    # the header is row 1, so "bad" is row 3
    assert err.message == (
        f"answers.csv row 3, column C ('a2'): answer 'abc' to item 'a2' is not a number; "
        f"expected {EXPECTED_ANSWER}, or blank/null for a missing answer. If the file holds a "
        "survey tool's answer labels, read it with --mapping FILE (a mapping of its columns "
        "and labels; see docs/answers-input.md)"
    )
    assert scored_ids(result) == ["c1", "c2"]
    assert result.raw[2].tolist() == [7.0, 14.0]


def test_csv_row_numbers_count_skipped_blank_lines(
    mini: repprofile.Questionnaire, tmp_path: Path
) -> None:
    # line 1 header, line 2 blank, line 3 c1, line 4 blank, line 5 bad, line 6 ragged
    path = write(
        tmp_path / "gaps.csv",
        "candidate_id,a1,a2,a3,b1,b2,b3\n\nc1,5,1,4,2,,3\n\nbad,x,3,3,3,3,3\nrag,1,2\n",
    )
    result = repprofile.score(mini, path)
    messages = {e.candidate_id: e.message for e in result.errors}
    assert messages["bad"].startswith("gaps.csv row 5, column B ('a1'): answer 'x' to item 'a1'")
    assert messages["rag"].startswith("gaps.csv row 6 has 3 fields")
    assert scored_ids(result) == ["c1"]


@pytest.mark.parametrize(("value", "shown"), [("abc", "'abc'"), (True, "True"), ("3", "'3'")])
def test_non_numeric_value_in_json(
    mini: repprofile.Questionnaire, tmp_path: Path, value: Any, shown: str
) -> None:
    data = [
        {"candidate_id": "ok", "answers": OK_ANSWERS},
        {"candidate_id": "bad", "answers": {**OK_ANSWERS, "b2": value}},
    ]
    result = repprofile.score(mini, write(tmp_path / "a.json", json.dumps(data)))
    err = the_error(result)
    assert (err.candidate_id, err.item_id, err.value) == ("bad", "b2", value)
    assert err.message == (
        f"answer {shown} is not a number; expected {EXPECTED_ANSWER}, "
        "or blank/null for a missing answer"
    )
    assert scored_ids(result) == ["ok"]


def test_unknown_item_id_in_records(mini: repprofile.Questionnaire) -> None:
    result = repprofile.score(
        mini,
        [
            {"candidate_id": "ok", "answers": OK_ANSWERS},
            {"candidate_id": "typo", "answers": {**OK_ANSWERS, "zz9": 4}},
        ],
    )
    err = the_error(result)
    assert (err.candidate_id, err.item_id, err.value) == ("typo", "zz9", 4)
    assert err.message == (
        "'zz9' is not an item of questionnaire 'mini' 1.0; check the questionnaire and the item ids"
    )
    assert scored_ids(result) == ["ok"]


def test_unknown_record_field_and_missing_answers(mini: repprofile.Questionnaire) -> None:
    result = repprofile.score(
        mini,
        [
            {"candidate_id": "extra", "answers": OK_ANSWERS, "age": 40},
            {"candidate_id": "noanswers"},
            {"candidate_id": "ok", "answers": OK_ANSWERS},
            7,
        ],
    )
    by_id = {e.candidate_id: e for e in result.errors}
    assert "unknown field(s) ['age']" in by_id["extra"].message
    assert "needs 'answers'" in by_id["noanswers"].message
    assert "got NoneType instead" in by_id["noanswers"].message
    assert by_id[None].value == 7
    assert "record 4 must be an object" in by_id[None].message
    assert scored_ids(result) == ["ok"]


def test_duplicate_candidate_id_rejects_every_row(mini: repprofile.Questionnaire) -> None:
    result = repprofile.score(
        mini,
        [
            {"candidate_id": "dup", "answers": OK_ANSWERS},
            {"candidate_id": "ok", "answers": OK_ANSWERS},
            {"candidate_id": "dup", "answers": OK_ANSWERS},
        ],
    )
    err = the_error(result)
    assert (err.candidate_id, err.item_id, err.value) == ("dup", None, "dup")
    assert err.message == (
        "candidate id 'dup' appears 2 times (records 1, 3); expected each candidate id once. "
        "None of them was scored."
    )
    assert result.scored.tolist() == [False, True, False]
    assert scored_ids(result) == ["ok"]


def test_duplicate_candidate_id_in_csv_and_numpy(
    mini: repprofile.Questionnaire, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "d.csv",
        "candidate_id,a1,a2,a3,b1,b2,b3\nd,3,3,3,3,3,3\nd,3,3,3,3,3,3\nd,1,1,1,1,1,1\nok,3,3,3,3,3,3\n",
    )
    result = repprofile.score(mini, path)
    err = the_error(result)
    assert err.candidate_id == "d"
    assert "appears 3 times" in err.message
    assert result.scored.tolist() == [False, False, False, True]
    array = np.full((3, 6), 3.0)
    result2 = repprofile.score(mini, array, candidate_ids=["a", "b", "a"])
    assert result2.scored.tolist() == [False, True, False]
    assert the_error(result2).candidate_id == "a"


def test_csv_without_candidate_id_column_is_unusable(
    mini: repprofile.Questionnaire, tmp_path: Path
) -> None:
    path = write(tmp_path / "noid.csv", "id,a1,a2,a3,b1,b2,b3\nc1,5,1,4,2,,3\n")
    with pytest.raises(repprofile.InputError) as info:
        repprofile.score(mini, path)
    message = str(info.value)
    assert message.startswith("noid.csv: the CSV header has no 'candidate_id' column")
    assert "['id', 'a1', 'a2', 'a3', 'b1'] ..." in message  # the first five columns


def test_empty_csv_is_unusable(mini: repprofile.Questionnaire, tmp_path: Path) -> None:
    with pytest.raises(repprofile.InputError, match=r"empty\.csv: the CSV file is empty"):
        repprofile.score(mini, write(tmp_path / "empty.csv", ""))


def test_missing_answers_file_is_unusable(mini: repprofile.Questionnaire, tmp_path: Path) -> None:
    path = tmp_path / "absent.csv"
    with pytest.raises(repprofile.InputError) as info:
        repprofile.score(mini, path)
    assert str(info.value) == f"{path}: no such answers file"


def test_csv_extra_columns_warn_and_are_ignored(
    mini: repprofile.Questionnaire, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "extra.csv",
        "candidate_id,notes,a1,a2,a3,b1,b2,b3,age\nc1,hello,5,1,4,2,,3,40\n",
    )
    with pytest.warns(repprofile.RepprofileWarning) as record:
        result = repprofile.score(mini, path)
    assert len(record) == 1
    assert str(record[0].message) == (
        "extra.csv: columns that are not items of 'mini' were ignored: 'notes', 'age'"
    )
    assert result.raw.tolist() == [[14.0, 5.0]]  # c1 from the module docstring
    assert result.errors == []


def test_csv_missing_item_column_warns(mini: repprofile.Questionnaire, tmp_path: Path) -> None:
    path = write(tmp_path / "few.csv", "candidate_id,a1,a2,a3,b1,b2\nc1,5,1,4,2,4\n")
    with pytest.warns(repprofile.RepprofileWarning, match=r"no column for item\(s\) b3"):
        result = repprofile.score(mini, path)
    # beta = 2 + 4 over 2 answered (b3 missing) = 6
    assert result.raw.tolist() == [[14.0, 6.0]]
    assert result.n_answered.tolist() == [[3, 2]]


def test_csv_with_no_item_column_is_unusable(
    mini: repprofile.Questionnaire, tmp_path: Path
) -> None:
    path = write(tmp_path / "none.csv", "candidate_id,x,y\nc1,1,2\n")
    with (
        pytest.raises(repprofile.InputError, match="no column is an item of questionnaire"),
        pytest.warns(repprofile.RepprofileWarning, match="'x', 'y'"),
    ):
        repprofile.score(mini, path)


def test_csv_ragged_row(mini: repprofile.Questionnaire, tmp_path: Path) -> None:
    path = write(
        tmp_path / "ragged.csv",
        "candidate_id,a1,a2,a3,b1,b2,b3\nc9,1,2,3\nc2,2,4,3,4,5,1\nlong,1,1,1,1,1,1,1\n",
    )
    result = repprofile.score(mini, path)
    by_id = {e.candidate_id: e for e in result.errors}
    assert set(by_id) == {"c9", "long"}
    assert by_id["c9"].message == (
        "ragged.csv row 2 has 4 fields; the header has 7. Check for unquoted commas."
    )
    assert by_id["long"].message.startswith("ragged.csv row 4 has 8 fields")
    assert scored_ids(result) == ["c2"]


def test_csv_empty_candidate_id(mini: repprofile.Questionnaire, tmp_path: Path) -> None:
    path = write(
        tmp_path / "e.csv",
        "candidate_id,a1,a2,a3,b1,b2,b3\nc2,2,4,3,4,5,1\n  ,3,3,3,3,3,3\n#7,3,3,3,3,3,3\n",
    )
    result = repprofile.score(mini, path)
    err = the_error(result)
    assert (err.candidate_id, err.item_id, err.value) == (None, None, None)
    assert err.message == "e.csv row 3 has an empty candidate_id"
    # "#7" is a real id, not the placeholder of an empty one
    assert scored_ids(result) == ["c2", "#7"]


def test_json_empty_or_missing_candidate_id(mini: repprofile.Questionnaire, tmp_path: Path) -> None:
    data = [
        {"candidate_id": "ok", "answers": OK_ANSWERS},
        {"candidate_id": "", "answers": OK_ANSWERS},
        {"answers": OK_ANSWERS},
    ]
    result = repprofile.score(mini, write(tmp_path / "ids.json", json.dumps(data)))
    assert [(e.candidate_id, e.item_id, e.value) for e in result.errors] == [
        (None, None, ""),
        (None, None, None),
    ]
    assert result.errors[0].message == (
        "ids.json record 2 needs a non-empty string 'candidate_id', got '' instead"
    )
    assert result.errors[1].message == (
        "ids.json record 3 needs a non-empty string 'candidate_id', got None instead"
    )
    assert scored_ids(result) == ["ok"]


def test_json_integer_candidate_id_becomes_a_string(mini: repprofile.Questionnaire) -> None:
    result = repprofile.score(mini, [{"candidate_id": 42, "answers": OK_ANSWERS}])
    assert result.candidate_ids == ("42",)


@pytest.mark.parametrize(
    ("text", "got"), [('{"a1": 3}', "dict"), ('"x"', "str"), ("3", "int"), ("null", "NoneType")]
)
def test_json_that_is_not_a_list_is_unusable(
    mini: repprofile.Questionnaire, tmp_path: Path, text: str, got: str
) -> None:
    with pytest.raises(repprofile.InputError) as info:
        repprofile.score(mini, write(tmp_path / "obj.json", text))
    message = str(info.value)
    assert message.startswith("obj.json: JSON answers must be a list of")
    assert message.endswith(f"got {got} instead")


def test_invalid_json_is_unusable(mini: repprofile.Questionnaire, tmp_path: Path) -> None:
    with pytest.raises(repprofile.InputError, match=r"bad\.json: not valid JSON"):
        repprofile.score(mini, write(tmp_path / "bad.json", "[{"))


def test_wrong_array_shape_and_type_are_unusable(mini: repprofile.Questionnaire) -> None:
    with pytest.raises(repprofile.InputError, match=r"6 columns.*shape \(2, 5\)"):
        repprofile.score(mini, np.ones((2, 5)))
    with pytest.raises(repprofile.InputError, match="numeric array, got dtype <U1"):
        repprofile.score(mini, np.full((1, 6), "3"))
    with pytest.raises(repprofile.InputError, match=r"one id per row \(2\), got 3"):
        repprofile.score(mini, np.ones((2, 6)), candidate_ids=["a", "b", "c"])
    with pytest.raises(repprofile.InputError, match="got int instead"):
        repprofile.score(mini, 42)


# --------------------------------------------------------------------------- types


def test_primary_and_secondary_type(types_q: repprofile.Questionnaire) -> None:
    data = [
        # t1 2,2 -> pomp 25; t2 4,4 -> 75; t3 4,4 -> 75 (tie: no type, not the first); val 100
        {"candidate_id": "tie", "answers": {"t1a": 2, "t1b": 2, "t2a": 4, "t2b": 4,
                                            "t3a": 4, "t3b": 4, "va": 5, "vb": 5}},
        # every trait at 50: tied, no type
        {"candidate_id": "flat", "answers": dict.fromkeys(
            ("t1a", "t1b", "t2a", "t2b", "t3a", "t3b", "va", "vb"), 3)},
        # only t1 scorable (t2, t3 unanswered): secondary None; the validity scale never counts
        {"candidate_id": "one", "answers": {"t1a": 5, "t1b": 5, "va": 5, "vb": 5}},
        # no trait scorable
        {"candidate_id": "none", "answers": {"va": 5, "vb": 5}},
        # t1: one answer 4 -> mean 4, pomp 75 (min_answered ceil(2/2) = 1); t3 5 -> pomp 100
        {"candidate_id": "part", "answers": {"t1a": 4, "t3b": 5, "t2a": 1, "t2b": 2}},
    ]  # fmt: skip
    result = repprofile.score(types_q, data)
    types = [(p.candidate_id, p.primary_type, p.secondary_type) for p in result.profiles()]
    assert types == [
        ("tie", None, None),
        ("flat", None, None),
        ("one", "t1", None),
        ("none", None, None),
        ("part", "t3", "t1"),
    ]
    assert result.primary_type.tolist() == [None, None, "t1", None, "t3"]
    assert result.secondary_type.tolist() == [None, None, None, None, "t1"]
    assert result.type_tied.tolist() == [True, True, False, False, False]
    assert [p.type_tied for p in result.profiles()] == [True, True, False, False, False]
    # part: t2 = (1 + 2) / 2 = 1.5 -> pomp 100 * 0.5 / 4 = 12.5
    np.testing.assert_array_equal(result.pomp[4], [75.0, 12.5, 100.0, NAN])
    # the validity scale is still scored: tie has val 5,5 -> pomp 100
    assert result.pomp[0, 3] == 100.0


# --------------------------------------------------------------------------- output shape


def _no_constants(name: str) -> Any:
    raise AssertionError(f"JSON output contains {name}")


def test_result_json_shape(mini: repprofile.Questionnaire) -> None:
    data = [*records(), {"candidate_id": "bad", "answers": {**OK_ANSWERS, "a1": 9}}]
    text = repprofile.score(mini, data).to_json()
    doc = json.loads(text, parse_constant=_no_constants)  # NaN/Infinity never appear
    assert set(doc) == {"profiles", "errors", "provenance"}
    assert [p["candidate_id"] for p in doc["profiles"]] == ["c1", "c2", "c3"]
    for profile in doc["profiles"]:
        assert {"candidate_id", "scales", "primary_type", "secondary_type"} <= set(profile)
        assert list(profile["scales"]) == ["alpha", "beta"]  # file order
        for scale in profile["scales"].values():
            assert {"raw", "mean", "pomp", "n_answered"} <= set(scale)
    assert doc["profiles"][2]["scales"]["alpha"]["mean"] is None  # null, not NaN
    assert doc["errors"] == [
        {
            "candidate_id": "bad",
            "item_id": "a1",
            "value": 9,
            "message": f"answer 9 is outside the response scale; expected {EXPECTED_ANSWER}",
        }
    ]
    prov = doc["provenance"]
    assert {"questionnaire_id", "questionnaire_version", "repprofile_version"} <= set(prov)
    assert prov["questionnaire_id"] == "mini"
    assert prov["questionnaire_version"] == "1.0"
    assert prov["repprofile_version"] == repprofile.__version__ == "0.1.0"
    assert prov["questionnaire_sha256"] == mini.fingerprint


def test_csv_output_columns_and_rows(mini: repprofile.Questionnaire) -> None:
    result = repprofile.score(mini, records())
    assert result.csv_header() == [
        "candidate_id",
        "alpha_mean",
        "alpha_pomp",
        "beta_mean",
        "beta_pomp",
        "primary_type",
        "secondary_type",
        "quality_valid",
        "quality_flags",
    ]
    rows = list(result.csv_rows())
    assert rows[0][0] == "c1"
    assert rows[0][1] == "4.6667"  # 14 / 3, rounded to 4 places (docs/scoring.md, Precision)
    assert rows[0][3:7] == ["2.5", "37.5", "alpha", "beta"]
    # c3: no alpha score -> blank cells; no secondary type -> blank
    assert rows[2][:7] == ["c3", "", "", "3.0", "50.0", "beta", ""]
    assert [r[7] for r in rows] == ["true" if not r[8] else "false" for r in rows]


def test_scoring_twice_gives_identical_json(mini: repprofile.Questionnaire, tmp_path: Path) -> None:
    path = write(tmp_path / "answers.csv", CSV_TEXT)
    first = repprofile.score(mini, path).to_json()
    second = repprofile.score(mini, path).to_json()
    assert first == second
    assert json.loads(first)["profiles"][0]["scales"]["beta"]["pomp"] == 37.5
