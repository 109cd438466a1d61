"""Regression tests for defects found in review (each failed before its fix)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import repprofile

BASE: dict[str, Any] = {
    "id": "t",
    "version": "1",
    "title": "t",
    "response_scale": {"min": 1, "max": 5},
    "scales": [{"id": "a", "name": "A"}],
    "items": [{"id": "i1", "text": "x", "scale": "a"}, {"id": "i2", "text": "y", "scale": "a"}],
}


def test_validity_only_questionnaire_has_no_types() -> None:
    q = repprofile.Questionnaire.model_validate(
        {**BASE, "scales": [{"id": "a", "name": "A", "kind": "validity"}]}
    )
    r = repprofile.score(q, np.array([[1.0, 2.0]]))
    p = r.profiles()[0]
    assert p.scales["a"].raw == 3.0  # 1 + 2
    assert p.primary_type is None
    assert p.secondary_type is None


@pytest.mark.parametrize("bad", [True, 1.0, "1"])
def test_keyed_must_be_the_integer_1_or_minus_1(bad: object) -> None:
    items = [{"id": "i1", "text": "x", "scale": "a", "keyed": bad}, BASE["items"][1]]
    with pytest.raises(ValueError, match=r"keyed"):
        repprofile.Questionnaire.model_validate({**BASE, "items": items})


@pytest.mark.parametrize("bad", [True, "1", 1.5])
def test_response_scale_bounds_must_be_integers(bad: object) -> None:
    with pytest.raises(ValueError, match=r"response_scale\.min"):
        repprofile.Questionnaire.model_validate({**BASE, "response_scale": {"min": bad, "max": 5}})


def test_repeated_csv_column_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "a.csv"
    f.write_text("candidate_id,i1,i2,i1\nc1,1,2,3\n")
    q = repprofile.Questionnaire.model_validate(BASE)
    with pytest.raises(repprofile.InputError, match=r"repeats column\(s\) 'i1'"):
        repprofile.read_answers(f, q)


def test_placeholder_for_a_missing_id_never_clashes_with_a_real_id() -> None:
    q = repprofile.Questionnaire.model_validate(BASE)
    records = [
        {"candidate_id": "#1", "answers": {"i1": 4, "i2": 5}},  # a real id that looks odd
        {"answers": {"i1": 1, "i2": 1}},  # no id: placeholder "#2"
        {"candidate_id": "#2", "answers": {"i1": 2, "i2": 2}},
    ]
    r = repprofile.score(q, records)
    assert r.scored.tolist() == [True, False, True]
    assert [p.candidate_id for p in r.profiles()] == ["#1", "#2"]
    assert [e.candidate_id for e in r.errors] == [None]


def test_dataframe_without_an_id_rejects_that_row_only() -> None:
    pd = pytest.importorskip("pandas")
    q = repprofile.Questionnaire.model_validate(BASE)
    df = pd.DataFrame({"candidate_id": ["c1", None], "i1": [1, 2], "i2": [3, 4]})
    r = repprofile.score(q, df)
    assert r.scored.tolist() == [True, False]
    assert r.profiles()[0].scales["a"].mean == 2.0  # (1 + 3) / 2
    assert r.errors[0].candidate_id is None
    assert "row 2 has no candidate id" in r.errors[0].message


def test_float32_error_value_is_shown_as_written() -> None:
    q = repprofile.Questionnaire.model_validate(BASE)
    r = repprofile.score(q, np.array([[0.1, 2.0]], dtype=np.float32))
    assert r.errors[0].value == 0.1
    assert "answer 0.1 is outside" in r.errors[0].message


def test_a_fit_cut_just_below_100_or_just_above_0_has_a_composite() -> None:
    # 99.99999999999999 / 100 rounds to 1.0; the logit must not go through that quotient
    # (found by the schemathesis run: POST /v1/report with that cut was a 500).
    from repprofile._analysis.fit import LOGISTIC_SCALE, fit_to_composite

    assert fit_to_composite(99.99999999999999) == pytest.approx(
        (math.log(99.99999999999999) - math.log(1.4210854715202004e-14)) / LOGISTIC_SCALE
    )
    assert fit_to_composite(5e-324) == pytest.approx(
        (math.log(5e-324) - math.log(100.0)) / LOGISTIC_SCALE
    )
    assert fit_to_composite(50.0) == 0.0
    assert fit_to_composite(90.0) == pytest.approx(math.log(9.0) / LOGISTIC_SCALE, rel=1e-15)


def test_a_candidate_id_the_chart_font_cannot_draw_renders_marked_and_without_warnings() -> None:
    # A control character (U+008D) and a CJK character (not in DejaVu Sans) in an id
    # were a matplotlib "Glyph missing" warning, so a 500 in the HTTP API under -W error
    # (found by the schemathesis run). They are drawn as U+FFFD instead.
    from repprofile import radar_chart
    from repprofile._rendering.charts import _figure_bytes, drawable

    assert drawable("a\x8db\u4e2dé\n") == "a\ufffdb\ufffdé\n"
    q = repprofile.load_questionnaire("rep-types")
    cid = "x\x8d\u4e2d"
    result = repprofile.score(q, {i: 3 for i in q.item_ids}, candidate_ids=[cid])
    ax = radar_chart(result, cid)
    assert ax.get_title() == "x\ufffd\ufffd"
    assert _figure_bytes(ax.get_figure(root=True), "png")[:4] == b"\x89PNG"  # type: ignore[arg-type]


def test_a_role_weight_beyond_a_million_is_refused() -> None:
    # 1e308 overflowed the composite's norm (found in the review of the HTTP API).
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=r"weights.rock: a weight from -1e6 to 1e6"):
        repprofile.Role(
            id="x",
            name="x",
            description="x",
            questionnaire="rep-types",
            weights={"rock": 1e308},
            rationale="x",
        )


def test_a_row_with_many_out_of_range_answers_lists_ten_problems_and_counts_the_rest() -> None:
    # An array row of 80 answers of 9: 10 errors naming items, one counting the other 70.
    q = repprofile.load_questionnaire("rep-types")
    x = np.full((2, len(q.item_ids)), 3.0)
    assert len(q.item_ids) == 80
    x[0] = 9.0
    r = repprofile.score(q, x, candidate_ids=["bad", "good"])
    assert r.scored.tolist() == [False, True]
    assert [e.item_id for e in r.errors] == [*q.item_ids[:10], None]
    assert r.errors[-1].candidate_id == "bad"
    assert r.errors[-1].message == (
        "and 70 more problem(s) with this candidate's answers; only the first 10 are listed"
    )


def test_a_copy_with_changed_fields_recomputes_what_was_derived_from_them() -> None:
    # Cached values (hashes, arrays) belong to the fields they came from.
    table = repprofile.load_norms(Path("questionnaires/norms/rep-types-simulated.json"))
    before = table.fingerprint()
    other = table.model_copy(update={"description": "another sample"})
    assert other.fingerprint() != before
    assert table.model_copy().fingerprint() == before
    q = repprofile.load_questionnaire("rep-types")
    assert int(q.items_per_scale[q.scale_ids.index("controller")]) == 10
    fewer = q.model_copy(update={"items": q.items[1:]})  # acc01 dropped
    assert fewer.keys.shape[0] == len(q.item_ids) - 1
    assert fewer.item_ids == q.item_ids[1:]
    assert int(fewer.items_per_scale[q.scale_ids.index("accommodator")]) == 9
