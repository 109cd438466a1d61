"""The HTTP API with situational-judgment (SJT) items: nested and flat answers, the
``sjt_method`` and ``sjt_key`` fields, the answer limits counting SJT options, and bad
SJT answers named in ``errors`` (the candidate only) or as 422 problems (the request).

Hand-worked values use an SME key for service-recovery whose every option has mean 3
(both experts rated 3) on the 1-6 scale. A candidate rating every option 1:

* ``absolute``: per option |1 - 3| / max(3 - 1, 6 - 3) = 2/3, pomp = 100 (1 - 2/3) = 33.33;
* ``distance``: (1 - 3)^2 / max(2^2, 3^2) = 4/9, pomp = 100 (1 - 4/9) = 55.56;
* ``mode``: no rating equals the modal 3, pomp 0; a candidate rating every option 3: 100;
* ``standardized``: no variance in the ratings, so null with a reason, never a number.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

import repprofile
from repprofile._analysis.fit import fit_report
from repprofile._formats.questionnaire import REP_TYPE_IDS
from repprofile.server._schemas import MAX_ANSWERS

from ._server_helpers import AUTH, ITEMS, answers, cand, loc_msgs, ok_json, post

SR = repprofile.load_questionnaire("service-recovery")
SKILLS = [s.id for s in SR.scales]
KEY3: dict[str, Any] = {
    "format": "repprofile-sjt-key",
    "format_version": 1,
    "questionnaire": "service-recovery",
    "questionnaire_version": SR.version,
    "source": "test key: every option rated 3 by both experts",
    "n_experts": 2,
    "rating_scale": {"min": 1, "max": 6},
    "options": {
        it.id: {o.id: {"mean": 3, "sd": 0.0, "n": 2, "counts": {"3": 2}} for o in it.options}
        for it in SR.sjt_items
    },
}


def nested(rating: int) -> dict[str, Any]:
    """Every SJT option rated ``rating``, nested by scenario."""
    return {it.id: {o.id: rating for o in it.options} for it in SR.sjt_items}


def flat(rating: int) -> dict[str, Any]:
    """Every SJT option rated ``rating`` under ``ITEM.OPTION`` keys."""
    return dict.fromkeys(SR.item_ids, rating)


def varied_sjt() -> dict[str, Any]:
    return {
        it.id: {o.id: 1 + (i * 5 + j * 2) % 6 for j, o in enumerate(it.options)}
        for i, it in enumerate(SR.sjt_items)
    }


def sr_body(cands: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return {"questionnaire": "service-recovery", "candidates": cands, **fields}


def pomps(doc: dict[str, Any], row: int = 0) -> dict[str, Any]:
    return {k: v["pomp"] for k, v in doc["profiles"][row]["scales"].items()}


@pytest.mark.parametrize(
    ("method", "ones", "threes"),
    [("absolute", 100 / 3, 100.0), ("distance", 500 / 9, 100.0), ("mode", 0.0, 100.0)],
)
def test_hand_worked_methods_with_a_key(
    client: TestClient, method: str, ones: float, threes: float
) -> None:
    doc = sr_body(
        [cand("ones", nested(1)), cand("threes", flat(3))], sjt_method=method, sjt_key=KEY3
    )
    got = ok_json(client, "/v1/score", doc)
    assert got["errors"] == []
    assert pomps(got, 0) == pytest.approx(dict.fromkeys(SKILLS, ones), abs=1e-9)
    assert pomps(got, 1) == pytest.approx(dict.fromkeys(SKILLS, threes), abs=1e-9)
    prov = got["provenance"]
    assert prov["sjt_method"] == method
    assert prov["sjt_key_sha256"] == repprofile.load_sjt_key(KEY3).fingerprint()
    assert prov["sjt_key_draft"] is False
    assert got["warnings"] == []  # an SME key: no draft warning


def test_no_variance_is_null_with_a_reason(client: TestClient) -> None:
    got = ok_json(client, "/v1/score", sr_body([cand("same", nested(4))]))
    assert got["provenance"]["sjt_method"] == "standardized"  # the questionnaire's default
    assert got["provenance"]["sjt_key_draft"] is True
    assert SR.sjt is not None
    assert got["warnings"] == [f"the SJT key of 'service-recovery' is a DRAFT: {SR.sjt.key_note}"]
    for scale in got["profiles"][0]["scales"].values():
        assert scale["pomp"] is None
        assert scale["reason"]


@pytest.mark.parametrize("method", [None, "distance", "absolute", "standardized", "correlation"])
def test_nested_flat_and_python_api_agree(client: TestClient, method: Any) -> None:
    ans = varied_sjt()
    flat_ans = {f"{i}.{o}": v for i, opts in ans.items() for o, v in opts.items()}
    half = {k: v for k, v in ans.items() if k < "sr09"} | {
        k: v for k, v in flat_ans.items() if k >= "sr09"
    }
    extra = {} if method is None else {"sjt_method": method}
    cands = [cand("n", ans), cand("f", flat_ans), cand("h", half)]
    got = ok_json(client, "/v1/score", sr_body(cands, **extra))
    expected = repprofile.score("service-recovery", cands, sjt_method=method).to_dict()
    assert {k: got[k] for k in ("profiles", "errors", "provenance")} == expected
    one = {k: v for k, v in got["profiles"][1].items() if k != "candidate_id"}
    for row in (0, 2):  # the three forms give the same scores (to rounding)
        prof = {k: v for k, v in got["profiles"][row].items() if k != "candidate_id"}
        assert prof["sjt_type_preference"] == pytest.approx(one["sjt_type_preference"])
        for sid, sc in prof["scales"].items():
            assert sc == pytest.approx(one["scales"][sid], nan_ok=True)
    assert set(got["profiles"][0]["sjt_type_preference"]) == set(REP_TYPE_IDS)


def test_rep_hiring_fit_rank_and_report(client: TestClient) -> None:
    """rep-hiring mixes the 80 Likert items of rep-types with service-recovery: the
    Likert scales score as in rep-types (all 3: pomp 50) and the skill scales by the key."""
    likert = answers(3)
    cands = [cand("a", likert | nested(1)), cand("b", likert | flat(3))]
    doc = {
        "questionnaire": "rep-hiring",
        "candidates": cands,
        "sjt_method": "absolute",
        "sjt_key": KEY3,
    }
    got = ok_json(client, "/v1/score", doc)
    scales = got["profiles"][0]["scales"]
    for item in ("accommodator", "controller", "rock"):
        assert scales[item]["pomp"] == 50.0
    assert scales["service_recovery"]["pomp"] == pytest.approx(100 / 3, abs=1e-9)
    assert got["profiles"][1]["scales"]["de_escalation"]["pomp"] == pytest.approx(100.0)
    records = [{"candidate_id": c["candidate_id"], "answers": c["answers"]} for c in cands]
    result = repprofile.score("rep-hiring", records, sjt_method="absolute", sjt_key=KEY3)
    fitted = ok_json(client, "/v1/fit", doc | {"roles": ["escalations-sjt"]})
    role = repprofile.load_role("escalations-sjt")
    want = fit_report(result, [repprofile.fit(result, role)])
    assert {k: v for k, v in fitted.items() if k != "warnings"} == want
    ranked = ok_json(client, "/v1/rank", doc | {"role": "escalations-sjt"})
    assert [c["candidate_id"] for c in ranked["candidates"]] == ["b", "a"]
    r = post(
        client,
        "/v1/report",
        doc | {"role": "escalations-sjt", "candidate_id": "a"},
        Accept="application/json",
    )
    assert r.status_code == 200, r.text


def test_bad_sjt_answers_reject_the_candidate_only(client: TestClient) -> None:
    bad = nested(3)
    bad["sr01"] = {"a": 9, "b": "x", "zz": 3}
    bad["sr02"] = 4
    got = ok_json(client, "/v1/score", sr_body([cand("ok", nested(3)), cand("bad", bad)]))
    assert [p["candidate_id"] for p in got["profiles"]] == ["ok"]
    errs = {(e["candidate_id"], e["item_id"], e["value"]): e["message"] for e in got["errors"]}
    assert errs == {
        ("bad", "sr01.a", 9): "item 'sr01', option 'a': rating 9 is outside the rating scale; "
        "expected a whole number from 1 to 6",
        ("bad", "sr01.b", "x"): "answer 'x' is not a number; expected a whole number from 1 to "
        "6, or blank/null for a missing answer",
        ("bad", "sr01.zz", 3): "item 'sr01' has no answer 'zz'; expected one of the option ids "
        "['a', 'b', 'c', 'd', 'e']",
        ("bad", "sr02", 4): "item 'sr02' is a scenario; expected an object of option id -> rating",
    }


def test_malformed_sjt_answers_are_422(client: TestClient) -> None:
    nine = {str(i): 3 for i in range(9)}
    r = post(client, "/v1/score", sr_body([cand("x", {"sr01": nine})]))
    assert loc_msgs(r) == [
        (
            ["body", "candidates", 0, "answers"],
            "candidates[0] (candidate 'x'): answers: Value error, item 'sr01': an SJT answer "
            "of at most 8 entries (options, or most/least/best) is expected, got 9",
        )
    ]
    r = post(client, "/v1/score", sr_body([cand("x", {"sr01": {"a": [1]}})]))
    assert loc_msgs(r) == [
        (
            ["body", "candidates", 0, "answers"],
            "candidates[0] (candidate 'x'): answers: Value error, item 'sr01', option 'a': a "
            "rating (number), an option id (text) or null is expected, got list",
        )
    ]


def test_options_count_as_answers(client: TestClient) -> None:
    # 126 nested answers of 8 entries = 1008 > 1000, with only 126 top-level keys
    many = {f"x{i}": {str(j): 3 for j in range(8)} for i in range(126)}
    r = post(client, "/v1/score", sr_body([cand("x", many)]))
    assert loc_msgs(r) == [
        (
            ["body", "candidates", 0, "answers"],
            "candidates[0] (candidate 'x'): answers: Value error, at most "
            f"{MAX_ANSWERS} answers are expected (each entry of an SJT answer counted), "
            "got 1008",
        )
    ]
    # 125 x 8 = 1000: within the limit (the unknown items reject the candidate only)
    got = ok_json(client, "/v1/score", sr_body([cand("x", dict(list(many.items())[:125]))]))
    assert got["profiles"] == []
    assert got["errors"][0]["candidate_id"] == "x"


def test_nan_inside_an_sjt_answer_is_text(client: TestClient) -> None:
    body = '{"questionnaire": "service-recovery", "candidates": [{"candidate_id": "x", '
    body += '"answers": {"sr01": {"a": NaN}}}]}'
    r = client.post(
        "/v1/score",
        content=body,
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert r.status_code == 422, r.text


def test_sjt_key_and_method_problems_are_422(client: TestClient) -> None:
    r = post(client, "/v1/score", sr_body([cand("a", nested(3))], sjt_method="mode"))
    ((loc, msg),) = loc_msgs(r)
    assert loc == ["body", "sjt_method"]
    assert "needs an SME key" in msg
    r = post(client, "/v1/score", sr_body([cand("a", nested(3))], sjt_method="best"))
    ((loc, msg),) = loc_msgs(r)
    assert loc == ["body", "sjt_method"]
    assert "got 'best' instead" in msg
    short = KEY3 | {"options": {k: v for k, v in KEY3["options"].items() if k != "sr01"}}
    r = post(client, "/v1/score", sr_body([cand("a", nested(3))], sjt_key=short))
    assert loc_msgs(r) == [
        (
            ["body", "sjt_key"],
            "sjt_key: options missing from the key: sr01.a, sr01.b, sr01.c, sr01.d, sr01.e",
        )
    ]
    r = post(client, "/v1/score", sr_body([cand("a", nested(3))], sjt_method="nope"))
    assert loc_msgs(r)[0][0] == ["body", "sjt_method"]
    r = post(client, "/v1/score", sr_body([cand("a", nested(3))], sjt_key="key.yaml"))
    assert loc_msgs(r)[0][0] == ["body", "sjt_key"]  # never a path


def test_likert_questionnaire_ignores_sjt_method(client: TestClient) -> None:
    doc = {"questionnaire": "rep-types", "candidates": [cand("a", answers(3))]}
    plain = ok_json(client, "/v1/score", doc)
    assert ok_json(client, "/v1/score", doc | {"sjt_method": "distance"}) == plain
    assert "sjt_method" not in plain["provenance"]
    assert len(ITEMS) == 80


def test_openapi_describes_sjt_answers_and_fields(app: Any) -> None:
    schemas = app.openapi()["components"]["schemas"]
    answer = schemas["CandidateAnswers"]["properties"]["answers"]["additionalProperties"]
    kinds = [a.get("type") or a.get("title") for a in answer["anyOf"]]
    assert kinds == ["number", "null", "object", None]
    sjt = answer["anyOf"][2]
    assert sjt["title"] == "SjtAnswer"
    assert sjt["maxProperties"] == 8
    assert {"most": "b", "least": "d"} in sjt["examples"]
    props = schemas["ScoreRequest"]["properties"]
    assert props["sjt_method"]["anyOf"][0]["enum"] == [
        "distance",
        "absolute",
        "standardized",
        "correlation",
        "most_least",
        "best",
        "mode",
        "proportion",
    ]
    assert props["sjt_key"]["anyOf"][0] == {"$ref": "#/components/schemas/SjtKey"}
    for request in ("FitRequest", "RankRequest", "ChartRequest", "ReportRequest"):
        assert {"sjt_method", "sjt_key"} <= set(schemas[request]["properties"])
    # sent for questionnaires with SJT items only, so not required in the responses
    assert "sjt_method" not in schemas["Provenance"]["required"]
    assert "sjt_type_preference" not in schemas["Profile"]["required"]
    assert "questionnaire_id" in schemas["Provenance"]["required"]
