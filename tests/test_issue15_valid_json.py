"""Issue 15, items 2 and 6: valid JSON only (degenerate norm tables refused, NaN/Infinity
never emitted nor accepted), an empty ``answers`` object rejected, and report dates that
never come from the server's clock.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
import warnings
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import repprofile
from repprofile._errors import InputError
from repprofile._util import NonFiniteJSONError, json_loads
from repprofile.cli import main
from repprofile.server._http import json_response

from ._server_helpers import (
    AUTH,
    REPORT_DATE,
    SIM_JSON,
    answers,
    body,
    cand,
    loc_msgs,
    post,
    report_doc,
)

NO_ANSWERS = "no answers given; expected at least one item answer"


def table(scale: str = "controller", **fields: Any) -> dict[str, Any]:
    """The bundled simulated norm table with some fields of one scale replaced."""
    doc = copy.deepcopy(SIM_JSON)
    doc["scales"][scale].update(fields)
    return doc


def raw_post(client: TestClient, path: str, raw: str | bytes) -> Any:
    headers = {**AUTH, "Content-Type": "application/json"}
    return client.post(path, content=raw, headers=headers)


# --------------------------------------------------------------------------- degenerate norms


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"sd": 5e-324}, "sd: at least 1e-06 x 5"),  # the case: z was Infinity
        ({"sd": 4e-6}, "sd: at least 1e-06 x 5"),  # below 1e-6 of the largest value, 5.0
        ({"sd": 0.0}, "scales.controller.sd: Input should be greater than 0, got 0.0"),
        ({"sd": -1.0}, "scales.controller.sd: Input should be greater than 0, got -1.0"),
        ({"sd": math.inf}, "scales.controller.sd: Input should be a finite number, got inf"),
        ({"mean": math.nan}, "scales.controller.mean: Input should be a finite number"),
        ({"alpha": -0.2}, "alpha: a reliability from 0 to 1 (or null), got -0.2"),
        ({"omega_total": 1.5}, "omega_total: a reliability from 0 to 1 (or null), got 1.5"),
        ({"g6": math.nan}, "scales.controller.g6: Input should be a finite number, got nan"),
        ({"values": [1.0, math.inf]}, "controller.values[1]: Input should be a finite number"),
    ],
)
def test_the_library_refuses_a_degenerate_norm_table_naming_the_field(
    fields: dict[str, Any], says: str
) -> None:
    with pytest.raises(InputError) as info:
        repprofile.load_norms(table(**fields))
    assert "scales.controller" in str(info.value)
    assert says in str(info.value)


def test_the_sd_floor_is_relative_to_the_scores_magnitude() -> None:
    # controller's values run up to 5.0, so the floor is 1e-6 x 5 = 5e-6.
    assert max(SIM_JSON["scales"]["controller"]["values"]) == 5.0
    assert repprofile.load_norms(table(sd=5e-6)).scales["controller"].sd == 5e-6
    with pytest.raises(InputError, match=r"got 4\.9e-06"):
        repprofile.load_norms(table(sd=4.9e-6))
    # reliabilities of exactly 0 and 1 are allowed, as is none at all
    t = repprofile.load_norms(table(alpha=0.0, omega_total=1.0, g6=None))
    assert (t.scales["controller"].alpha, t.scales["controller"].omega_total) == (0.0, 1.0)


def test_the_server_refuses_sd_5e_324_with_a_422_naming_the_field(client: TestClient) -> None:
    # Before: HTTP 200 with "z": Infinity (not JSON).
    for path, extra in (("/v1/score", {}), ("/v1/fit", {"roles": ["retention"]})):
        r = post(client, path, body([cand("a", answers())], norms=table(sd=5e-324), **extra))
        msgs = loc_msgs(r)
        assert "Infinity" not in r.text
        (loc, msg), _not_a_string = msgs
        assert loc == ["body", "norms", "NormTable", "scales", "controller"]
        assert "sd: at least 1e-06 x 5 (the scores' magnitude), got 5e-324" in msg


def test_a_number_too_large_for_a_float_in_a_norm_table_is_a_422(client: TestClient) -> None:
    # 1e400 is valid JSON but parses to infinity: refused where it stands (before, a
    # critval of 1e400 reached the table's fingerprint).
    doc = table(sd=1.5)
    doc["quality_reference"]["critval"] = 0.123456
    raw = json.dumps(body([cand("a", answers())], norms=doc))
    for old, new in (('"sd": 1.5', '"sd": 1e400'), ("0.123456", "-1e400")):
        msgs = loc_msgs(raw_post(client, "/v1/score", raw.replace(old, new)))
        # refused while the JSON is read, like NaN and Infinity (type finite_number)
        assert msgs[0][1].endswith(
            f"{new.split(': ')[-1]} is beyond the range of a double (about 1.8e308): "
            "send a finite number, or null"
        )
    assert msgs[0][0] == ["body", "norms", "quality_reference", "critval"]


def test_the_server_refuses_a_reliability_outside_0_1(client: TestClient) -> None:
    r = post(client, "/v1/score", body([cand("a", answers())], norms=table(alpha=1.02)))
    (loc, msg), _ = loc_msgs(r)
    assert loc == ["body", "norms", "NormTable", "scales", "controller"]
    assert "alpha: a reliability from 0 to 1 (or null), got 1.02" in msg


def test_the_cli_refuses_a_degenerate_norm_table_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    norms = tmp_path / "norms.json"
    norms.write_text(json.dumps(table(sd=5e-324)), encoding="utf-8")
    ans = tmp_path / "answers.json"
    ans.write_text(json.dumps([cand("a", answers())]), encoding="utf-8")
    code = main(["score", str(ans), "--norms", str(norms)])
    err = capsys.readouterr().err
    assert code == 2
    assert "scales.controller" in err
    assert "sd: at least 1e-06 x 5" in err


def test_build_norms_stores_a_negative_alpha_as_null(tmp_path: Path) -> None:
    from .conftest import MINI_YAML

    path = tmp_path / "mini.yaml"
    path.write_text(MINI_YAML, encoding="utf-8")
    # a2 is reverse keyed and answered like a1, so it runs opposite to it: the alpha of
    # 'alpha' is negative (-3), which gives no SEM; beta's items agree (alpha 1).
    data = [(1, 2, 2), (2, 4, 3), (4, 3, 4), (5, 5, 5), (3, 1, 1)]
    recs = [
        cand(f"c{i}", {"a1": x, "a2": x, "a3": z, "b1": w, "b2": w, "b3": 6 - w})
        for i, (x, z, w) in enumerate(data)
    ]
    r = repprofile.reliability(repprofile.load_questionnaire(path), recs)
    assert r.scales["alpha"].alpha == pytest.approx(-3.0)
    with pytest.warns(repprofile.RepprofileWarning):
        built = repprofile.build_norms(str(path), recs, description="t", created="2024-01-01")
    assert built.scales["alpha"].alpha is None
    assert built.scales["beta"].alpha == pytest.approx(1.0)


# --------------------------------------------------------------------------- NaN/Infinity


def test_nan_and_infinity_tokens_in_a_request_are_a_422_naming_each(client: TestClient) -> None:
    raw = json.dumps(body([cand("a", answers(acc01=1)), cand("b", answers())], ci=0.9))
    raw = raw.replace('"acc01": 1', '"acc01": NaN', 1).replace(
        '"acc02": 3', '"acc02": -Infinity', 1
    )
    raw = raw.replace('"ci": 0.9', '"ci": Infinity')
    assert loc_msgs(raw_post(client, "/v1/score", raw)) == [
        (
            ["body", "candidates", 0, "answers", "acc01"],
            "candidates[0]: answers.acc01: NaN is not a JSON number: send a finite number, or null",
        ),
        (
            ["body", "candidates", 0, "answers", "acc02"],
            "candidates[0]: answers.acc02: -Infinity is not a JSON number: send a finite "
            "number, or null",
        ),
        (["body", "ci"], "Infinity is not a JSON number: send a finite number, or null"),
    ]


def test_an_infinity_token_in_a_posted_norm_table_is_a_422(client: TestClient) -> None:
    raw = json.dumps(body([cand("a", answers())], norms=table(sd=1.5)))
    raw = raw.replace('"sd": 1.5', '"sd": Infinity')
    ((loc, msg),) = loc_msgs(raw_post(client, "/v1/score", raw))
    assert loc == ["body", "norms", "scales", "controller", "sd"]
    assert msg.startswith("Infinity is not a JSON number")


def test_nan_and_infinity_inside_strings_are_ordinary_text(client: TestClient) -> None:
    got = post(client, "/v1/score", body([cand("NaN Infinity", answers())]))
    assert got.status_code == 200
    assert [p["candidate_id"] for p in got.json()["profiles"]] == ["NaN Infinity"]


def test_the_string_inf_is_not_a_number(client: TestClient) -> None:
    got = post(client, "/v1/score", body([cand("a", answers(acc01="inf", acc02="nan"))]))
    assert got.status_code == 200
    assert got.json()["profiles"] == []
    assert [(e["item_id"], e["value"], e["message"]) for e in got.json()["errors"]] == [
        (
            "acc01",
            "inf",
            "answer 'inf' is not a number; expected a whole number from 1 to 5, "
            "or blank/null for a missing answer",
        ),
        (
            "acc02",
            "nan",
            "answer 'nan' is not a number; expected a whole number from 1 to 5, "
            "or blank/null for a missing answer",
        ),
    ]


def test_the_library_json_readers_refuse_nan_and_infinity(tmp_path: Path) -> None:
    ans = tmp_path / "answers.json"
    ans.write_text('[{"candidate_id": "a", "answers": {"acc01": NaN}}]', encoding="utf-8")
    with pytest.raises(InputError, match="not valid JSON: NaN is not a JSON number"):
        repprofile.read_answers(ans, repprofile.load_questionnaire("rep-types"))
    norms = tmp_path / "norms.json"
    norms.write_text(json.dumps(table(sd=1.5)).replace('"sd": 1.5', '"sd": -Infinity'), "utf-8")
    with pytest.raises(InputError, match=r"not a readable JSON norm table \(-Infinity is not"):
        repprofile.load_norms(norms)
    assert json_loads('{"x": "NaN", "y": 1e308}') == {"x": "NaN", "y": 1e308}
    with pytest.raises(NonFiniteJSONError):
        json_loads("[1, Infinity]")


def test_a_stray_non_finite_number_fails_loudly_instead_of_being_sent() -> None:
    assert json_response({"id": "NaN Infinity", "z": 1.5}).body == (
        b'{"id":"NaN Infinity","z":1.5}'
    )
    for bad in (math.inf, -math.inf, math.nan):
        with pytest.raises(NonFiniteJSONError):
            json_response({"z": bad})


def test_a_table_that_bypassed_validation_still_gives_null_not_infinity() -> None:
    # model_construct skips the validators: z = (mean - norm mean) / 5e-324 is infinite,
    # and the library writes null for it (to_json uses allow_nan=False, so it would raise).
    good = repprofile.load_norms(SIM_JSON)
    bad_scale = good.scales["controller"].model_copy(update={"sd": 5e-324})
    bad = good.model_copy(update={"scales": {**good.scales, "controller": bad_scale}})
    with warnings.catch_warnings():  # numpy's overflow warning in the division
        warnings.simplefilter("ignore", RuntimeWarning)
        result = repprofile.score("rep-types", [cand("a", answers(ctl01=5))], norms=bad)
        text = result.to_json()
    doc = json.loads(text)
    ctl = doc["profiles"][0]["scales"]["controller"]
    assert (ctl["z"], ctl["t"]) == (None, None)
    assert "Infinity" not in text


# --------------------------------------------------------------------------- empty answers


def test_an_empty_answers_object_rejects_that_candidate(tmp_path: Path) -> None:
    recs = [cand("empty", {}), cand("some", {"ctl01": 5, "ctl02": None})]
    for source in (recs, None):
        if source is None:
            path = tmp_path / "a.json"
            path.write_text(json.dumps(recs), encoding="utf-8")
            result = repprofile.score(
                "rep-types",
                repprofile.read_answers(path, repprofile.load_questionnaire("rep-types")),
            )
        else:
            result = repprofile.score("rep-types", source)
        assert [(e.candidate_id, e.message) for e in result.errors] == [("empty", NO_ANSWERS)]
        # some answers missing: scored as before (every scale below its minimum: null)
        (p,) = result.profiles()
        assert p.candidate_id == "some"
        assert p.scales["controller"].n_answered == 1


def test_the_server_rejects_an_empty_answers_object(client: TestClient) -> None:
    r = post(client, "/v1/score", body([cand("empty", {}), cand("full", answers())]))
    assert r.status_code == 200
    got = r.json()
    assert [p["candidate_id"] for p in got["profiles"]] == ["full"]
    assert got["errors"] == [
        {"candidate_id": "empty", "item_id": None, "value": None, "message": NO_ANSWERS}
    ]
    r = post(client, "/v1/report", body([cand("empty", {})], role="retention"))
    ((loc, msg),) = loc_msgs(r)
    assert loc == ["body", "candidate_id"]
    assert NO_ANSWERS in msg


# --------------------------------------------------------------------------- report dates


class _Clock:
    """A stand-in for the datetime module whose ``date.today()`` is ``day``."""

    def __init__(self, day: dt.date) -> None:
        real = dt.date

        class _Date(real):  # type: ignore[misc,valid-type]
            @classmethod
            def today(cls) -> dt.date:
                return day

        self.date = _Date
        self.datetime = dt.datetime


@pytest.mark.parametrize("accept", ["application/json", "text/html", "application/pdf"])
def test_a_report_without_a_date_is_the_same_on_any_day(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, accept: str
) -> None:
    import repprofile._rendering.report as report_module

    doc = report_doc()
    del doc["date"]
    outputs = []
    for day in (dt.date(2031, 1, 2), dt.date(2032, 12, 31)):
        monkeypatch.setattr(report_module, "_dt", _Clock(day))
        assert report_module._dt.date.today() == day  # type: ignore[attr-defined]
        r = post(client, "/v1/report", doc, Accept=accept)
        assert r.status_code == 200, r.text
        assert day.isoformat().encode() not in r.content
        outputs.append(r.content)
    assert outputs[0] == outputs[1]
    if accept == "application/json":
        assert json.loads(outputs[0])["date"] is None


def test_a_report_date_comes_from_the_request(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import repprofile._rendering.report as report_module

    monkeypatch.setattr(report_module, "_dt", _Clock(dt.date(2031, 1, 2)))
    got = post(client, "/v1/report", report_doc(), Accept="application/json").json()
    assert got["date"] == REPORT_DATE
    html = post(client, "/v1/report", report_doc(), Accept="text/html").text
    assert f"<p class=meta>{REPORT_DATE} &middot; " in html
