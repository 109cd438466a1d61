"""POST /v1/score against the Python API and against scores worked out by hand (see
tests/_server_helpers.py), and per-candidate rejections that leave the batch scored.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

import repprofile
from repprofile.server._http import INLINE_BODY_BYTES
from repprofile.server._schemas import FitResponse, RankResponse, ScoreResponse

from ._server_helpers import (
    ABC,
    AUTH,
    CONTROLLER,
    CTL_ONLY,
    CTL_POMP,
    EXPECTED_1_5,
    SIM,
    SIM_JSON,
    TRAITS,
    Z90,
    Q,
    answers,
    body,
    cand,
    ok_json,
    varied,
)


@pytest.mark.parametrize("norms", [None, "rep-types-simulated", "object"])
def test_score_equals_the_python_api(client: TestClient, norms: str | None) -> None:
    cands = [
        *ABC,
        cand("c", varied(1), seconds=612.5),
        cand("d", varied(2), item_seconds={"acc01": 4.0, "acc02": 3.5}),
        cand("e", answers(acc01="five")),
        cand(42, varied(3)),
    ]
    doc = body(cands, ci=0.8, reliability="omega_total")
    table = None
    if norms is not None:
        doc["norms"] = SIM_JSON if norms == "object" else norms
        table = SIM
    got = ok_json(client, "/v1/score", doc)
    expected = repprofile.score(
        "rep-types", cands, norms=table, ci=0.8, reliability="omega_total"
    ).to_dict()
    assert set(got) == {"profiles", "errors", "provenance", "warnings"}
    assert {k: got[k] for k in ("profiles", "errors", "provenance")} == expected
    assert [p["candidate_id"] for p in got["profiles"]] == ["a", "b", "c", "d", "42"]
    assert [e["candidate_id"] for e in got["errors"]] == ["e", "bad"]
    assert got["provenance"]["ci_level"] == 0.8
    assert len(got["warnings"]) == (0 if norms is None else 1)
    if norms is not None:
        assert got["provenance"]["norms"]["sha256"] == SIM.fingerprint()


def test_every_answer_3_scores_mean_3_pomp_50(client: TestClient) -> None:
    got = ok_json(client, "/v1/score", body([cand("a", answers())]))
    assert got["errors"] == []
    assert got["warnings"] == []
    [profile] = got["profiles"]
    assert profile["candidate_id"] == "a"
    for sid in TRAITS:
        scale = profile["scales"][sid]
        assert (scale["raw"], scale["mean"], scale["pomp"], scale["n_answered"]) == (30, 3, 50, 10)
        assert scale["z"] is None
        assert scale["t"] is None
        assert scale["reason"] is None
    imp = profile["scales"]["impression"]
    assert (imp["raw"], imp["mean"], imp["pomp"], imp["n_answered"]) == (21, 3, 50, 7)
    # a tie on every trait: no type (not the first scale in file order)
    assert (profile["primary_type"], profile["secondary_type"]) == (None, None)
    assert profile["type_tied"] is True


def test_every_answer_5_shows_the_reverse_keyed_items(client: TestClient) -> None:
    got = ok_json(client, "/v1/score", body([cand("five", answers(5))]))
    [profile] = got["profiles"]
    for sid in TRAITS:
        scale = profile["scales"][sid]
        assert scale["raw"] == 38  # 7 x 5 + 3 reversed x 1
        assert scale["mean"] == pytest.approx(3.8, abs=1e-12)
        assert scale["pomp"] == pytest.approx(70.0, abs=1e-12)
    imp = profile["scales"]["impression"]
    assert imp["raw"] == 27  # 5 x 5 + 2 reversed x 1
    assert imp["mean"] == pytest.approx(27 / 7, abs=1e-12)
    assert imp["pomp"] == pytest.approx(500 / 7, abs=1e-12)


def test_controller_hand_worked_with_a_missing_answer(client: TestClient) -> None:
    got = ok_json(client, "/v1/score", body([cand("b", answers(**CONTROLLER))]))
    scale = got["profiles"][0]["scales"]["controller"]
    assert scale["raw"] == 37
    assert scale["n_answered"] == 9
    assert scale["mean"] == pytest.approx(37 / 9, abs=1e-12)
    assert scale["pomp"] == pytest.approx(CTL_POMP, abs=1e-12)
    assert got["profiles"][0]["primary_type"] == "controller"


def test_too_few_answers_give_null_scores_with_the_reason(client: TestClient) -> None:
    few = answers(**dict.fromkeys(("ctl05", "ctl06", "ctl07", "ctl08", "ctl09", "ctl10")))
    got = ok_json(client, "/v1/score", body([cand("few", few)]))
    scale = got["profiles"][0]["scales"]["controller"]
    assert (scale["raw"], scale["mean"], scale["pomp"], scale["n_answered"]) == (None,) * 3 + (4,)
    assert scale["reason"] == "only 4 of 10 items answered; at least 5 needed for a score"


@pytest.mark.parametrize("reliability", ["alpha", "omega_total"])
def test_norm_scores_hand_worked(client: TestClient, reliability: str) -> None:
    doc = body([cand("a", answers())], norms="rep-types-simulated", reliability=reliability)
    got = ok_json(client, "/v1/score", doc)
    scales = got["profiles"][0]["scales"]
    for sid in TRAITS:
        norm = SIM_JSON["scales"][sid]
        z = (3.0 - norm["mean"]) / norm["sd"]
        sem = norm["sd"] * math.sqrt(1.0 - norm[reliability])
        s = scales[sid]
        assert s["z"] == pytest.approx(z, rel=1e-12, abs=1e-14)
        assert s["t"] == pytest.approx(50.0 + 10.0 * z, rel=1e-12)
        assert s["sem"] == pytest.approx(sem, rel=1e-12)
        assert s["ci_low"] == pytest.approx(3.0 - Z90 * sem, rel=1e-9)
        assert s["ci_high"] == pytest.approx(3.0 + Z90 * sem, rel=1e-9)
        assert 1 <= s["sten"] <= 10
        assert 1 <= s["stanine"] <= 9


def test_simulated_norms_give_a_warning(client: TestClient) -> None:
    for norms in ("rep-types-simulated", SIM_JSON):
        got = ok_json(client, "/v1/score", body([cand("a", answers())], norms=norms))
        [warning] = got["warnings"]
        assert warning.startswith("the norm table is SIMULATED, not real people: SIMULATED")
        assert got["provenance"]["norms"]["simulated"] is True
    real = SIM_JSON | {"simulated": False, "description": "our applicants 2024"}
    got = ok_json(client, "/v1/score", body([cand("a", answers())], norms=real))
    assert got["warnings"] == []
    assert got["provenance"]["norms"]["description"] == "our applicants 2024"


def test_bad_answers_reject_only_their_candidate(client: TestClient) -> None:
    cands = [
        cand("range", answers(acc01=6)),
        cand("zero", answers(acc02=0)),
        cand("frac", answers(cmp01=2.5)),
        cand("text", answers(ctl01="five")),
        cand("digits", answers(ctl02="5")),
        cand("bool", answers(emp01=True)),
        cand("unknown", answers(zzz99=3)),
        cand("good", answers()),
    ]
    got = ok_json(client, "/v1/score", body(cands))
    assert [p["candidate_id"] for p in got["profiles"]] == ["good"]
    assert got["profiles"][0]["scales"]["rock"]["pomp"] == 50
    not_a_number = EXPECTED_1_5 + ", or blank/null for a missing answer"
    errors = {e["candidate_id"]: e for e in got["errors"]}
    assert errors == {
        "text": {
            "candidate_id": "text",
            "item_id": "ctl01",
            "value": "five",
            "message": f"answer 'five' is not a number; {not_a_number}",
        },
        "digits": {
            "candidate_id": "digits",
            "item_id": "ctl02",
            "value": "5",
            "message": f"answer '5' is not a number; {not_a_number}",
        },
        "bool": {
            "candidate_id": "bool",
            "item_id": "emp01",
            "value": True,
            "message": f"answer True is not a number; {not_a_number}",
        },
        "unknown": {
            "candidate_id": "unknown",
            "item_id": "zzz99",
            "value": 3,
            "message": "'zzz99' is not an item of questionnaire 'rep-types' 1.1.0; check the "
            "questionnaire and the item ids",
        },
        "range": {
            "candidate_id": "range",
            "item_id": "acc01",
            "value": 6,
            "message": f"answer 6 is outside the response scale; {EXPECTED_1_5}",
        },
        "zero": {
            "candidate_id": "zero",
            "item_id": "acc02",
            "value": 0,
            "message": f"answer 0 is outside the response scale; {EXPECTED_1_5}",
        },
        "frac": {
            "candidate_id": "frac",
            "item_id": "cmp01",
            "value": 2.5,
            "message": f"answer 2.5 is not a whole number; {EXPECTED_1_5}",
        },
    }
    assert len(got["errors"]) == 7


def test_duplicate_and_empty_candidate_ids(client: TestClient) -> None:
    cands = [
        cand("dup", answers()),
        cand("solo", answers()),
        cand("dup", answers(4)),
        cand("", answers()),
        cand("   ", answers()),
        cand(7, answers()),
        cand("7", answers()),
    ]
    got = ok_json(client, "/v1/score", body(cands))
    assert [p["candidate_id"] for p in got["profiles"]] == ["solo"]
    assert got["errors"] == [
        {
            "candidate_id": None,
            "item_id": None,
            "value": "",
            "message": "answers record 4 needs a non-empty string 'candidate_id', got '' instead",
        },
        {
            "candidate_id": None,
            "item_id": None,
            "value": "   ",
            "message": "answers record 5 needs a non-empty string 'candidate_id', "
            "got '   ' instead",
        },
        {
            "candidate_id": "dup",
            "item_id": None,
            "value": "dup",
            "message": "candidate id 'dup' appears 2 times (records 1, 3); expected each "
            "candidate id once. None of them was scored.",
        },
        {
            "candidate_id": "7",
            "item_id": None,
            "value": "7",
            "message": "candidate id '7' appears 2 times (records 6, 7); expected each "
            "candidate id once. None of them was scored.",
        },
    ]


def test_any_json_answer_value_rejects_only_its_candidate(client: TestClient) -> None:
    # A list, an object, text or true: per-candidate errors, HTTP 200, the other
    # candidates scored; long values are clipped to 80 characters. (A NaN token is not
    # JSON: the whole body is refused, tests/test_issue15_valid_json.py.)
    long = "y" * 500
    bad = answers(acc01=[1, 2], acc02={"a": 1}, acc03=long, acc04=True)
    raw = json.dumps(body([cand("bad", bad), cand("good", answers())]))
    raw = raw.replace('"acc05": 3', '"acc05": "inf"', 1)  # in the first candidate only
    r = client.post("/v1/score", content=raw, headers={**AUTH, "Content-Type": "application/json"})
    assert r.status_code == 200
    got = r.json()
    assert [p["candidate_id"] for p in got["profiles"]] == ["good"]
    shown = {e["item_id"]: e["value"] for e in got["errors"]}
    assert shown == {
        "acc01": "[1, 2]",
        "acc02": "{'a': 1}",
        "acc03": "y" * 77 + "...",
        "acc04": True,
        "acc05": "inf",
    }
    assert all(e["candidate_id"] == "bad" for e in got["errors"])
    assert "'inf' is not a number" in got["errors"][-1]["message"]


def test_a_candidate_with_many_bad_answers_lists_ten_and_counts_the_rest(
    client: TestClient,
) -> None:
    bad = {f"nope{i:03d}": 1 for i in range(25)}
    got = ok_json(client, "/v1/score", body([cand("many", bad)]))
    assert [e["item_id"] for e in got["errors"]] == [f"nope{i:03d}" for i in range(10)] + [None]
    assert got["errors"][-1]["message"] == (
        "and 15 more problem(s) with this candidate's answers; only the first 10 are listed"
    )


def test_a_batch_above_the_inline_size_runs_in_a_thread_and_equals_python(
    client: TestClient,
) -> None:
    n = INLINE_BODY_BYTES // 1000 + 5  # about 1,200 bytes of JSON per candidate
    cands = [cand(f"cand-{i:02d}", varied(i)) for i in range(n)]
    cands[3] = cand("cand-03", varied(3) | {"rck01": 9})
    assert len(json.dumps(body(cands, norms="rep-types-simulated"))) > INLINE_BODY_BYTES
    got = ok_json(client, "/v1/score", body(cands, norms="rep-types-simulated"))
    expected = repprofile.score("rep-types", cands, norms=SIM).to_dict()
    assert {k: got[k] for k in expected} == expected
    assert len(got["profiles"]) == n - 1
    assert got["errors"][0]["candidate_id"] == "cand-03"


@pytest.mark.parametrize(
    ("path", "model", "extra"),
    [
        ("/v1/score", ScoreResponse, {"norms": "rep-types-simulated"}),
        ("/v1/fit", FitResponse, {"roles": ["retention", CTL_ONLY], "norms": SIM_JSON}),
        ("/v1/rank", RankResponse, {"role": "escalations", "norms": "rep-types-simulated"}),
    ],
)
def test_responses_validate_against_their_models(
    client: TestClient, path: str, model: Any, extra: dict[str, Any]
) -> None:
    got = ok_json(client, path, body([*ABC, cand("c", varied(5))], **extra))
    assert model.model_validate(got).model_dump(mode="json") == got
    assert got["warnings"][0].startswith("the norm table is SIMULATED")


def test_an_empty_batch_gives_only_the_provenance(client: TestClient) -> None:
    assert ok_json(client, "/v1/score", body([])) == {
        "profiles": [],
        "errors": [],
        "provenance": {
            "questionnaire_id": "rep-types",
            "questionnaire_version": "1.1.0",
            "questionnaire_sha256": Q.fingerprint,
            "repprofile_version": repprofile.__version__,
            "norms": None,
            "ci_level": 0.9,
            "role": None,
        },
        "warnings": [],
    }
    assert re.fullmatch(r"[0-9a-f]{64}", Q.fingerprint)
