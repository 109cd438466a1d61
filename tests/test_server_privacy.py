"""Nothing about a candidate leaks: debug logs name ids only, info logs nothing, a 500
never carries the message, identical requests give identical bytes and nothing is
written or remembered between requests.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from repprofile.server._http import INLINE_BODY_BYTES

from ._server_helpers import (
    ABC,
    CONTROLLER,
    CTL_POMP,
    INTERNAL,
    answers,
    body,
    cand,
    loc_msgs,
    ok_json,
    post,
    report_doc,
    varied,
)

LOG_IDS = [
    cand("zebra-candidate", answers(**CONTROLLER)),
    cand("yak-candidate", answers(acc01=7)),
    cand("okapi-candidate", varied(4)),
]


def score_strings(got: dict[str, Any]) -> set[str]:
    """Every non-integer score of a response, as the text a log line would show."""
    out: set[str] = set()
    for p in got["profiles"]:
        for s in p["scales"].values():
            for k in ("mean", "pomp", "z", "t", "sem", "ci_low", "ci_high"):
                v = s[k]
                if isinstance(v, float) and not v.is_integer():
                    out |= {repr(v), f"{v:.2f}", f"{v:.1f}"}
    return out


def test_debug_logs_candidate_ids_only(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="repprofile")
    got = ok_json(client, "/v1/score", body(LOG_IDS, norms="rep-types-simulated"))
    records = [r for r in caplog.records if r.name.startswith("repprofile")]
    assert [(r.name, r.levelno, r.getMessage()) for r in records] == [
        (
            "repprofile.server",
            logging.DEBUG,
            "scored 3 candidate(s): ids ['zebra-candidate', 'yak-candidate', "
            "'okapi-candidate']; rejected ids ['yak-candidate']",
        )
    ]
    scores = score_strings(got)
    assert f"{CTL_POMP:.2f}" in scores
    assert len(scores) > 20
    assert not any(s in caplog.text for s in scores)


def test_info_logs_nothing_about_candidates(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="repprofile")
    ok_json(client, "/v1/score", body(LOG_IDS))
    ok_json(client, "/v1/rank", body(LOG_IDS, role="retention"))
    assert (
        post(client, "/v1/chart", body(LOG_IDS, candidate_id="zebra-candidate")).status_code == 200
    )
    assert [r for r in caplog.records if r.name.startswith("repprofile")] == []
    assert "candidate" not in caplog.text


@pytest.mark.parametrize(
    ("path", "extra", "n"),
    [
        ("/v1/score", {}, 1),
        ("/v1/fit", {"roles": ["retention"]}, INLINE_BODY_BYTES // 1000 + 5),  # in a thread
        ("/v1/chart", {}, 1),  # a sync endpoint
    ],
)
def test_a_500_never_leaks_the_message(
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    path: str,
    extra: dict[str, Any],
    n: int,
) -> None:
    import repprofile._analysis.scoring

    def broken(questionnaire: Any, records: Any, **kwargs: Any) -> Any:
        value = records[0]["answers"]["acc01"]
        raise ValueError(f"secret-answer-{value}")  # a message quoting an answer

    monkeypatch.setattr(repprofile._analysis.scoring, "score", broken)
    caplog.set_level(logging.DEBUG, logger="repprofile")
    cands = [cand(f"c{i}", answers(acc01=5)) for i in range(n)]
    r = post(client, path, body(cands, **extra))
    assert r.status_code == 500
    assert r.json() == INTERNAL
    assert "secret" not in r.text
    [record] = [x for x in caplog.records if x.name == "repprofile.server"]
    assert record.levelno == logging.ERROR
    assert record.getMessage().startswith(f"internal error on POST {path}: ValueError\n")
    assert record.exc_info is None
    assert "secret-answer-5" not in caplog.text
    monkeypatch.undo()
    assert post(client, path, body(cands, **extra)).status_code == 200  # still serving


def test_identical_requests_give_identical_bytes_and_nothing_is_written(
    client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    requests = [
        ("/v1/score", body(ABC, norms="rep-types-simulated"), {}),
        ("/v1/fit", body(ABC, roles=["retention"]), {}),
        ("/v1/rank", body(ABC, role="escalations"), {}),
        ("/v1/chart", body(ABC, candidate_id="b"), {"Accept": "image/svg+xml"}),
        ("/v1/report", report_doc(), {"Accept": "text/html"}),
    ]
    first = [post(client, p, d, **h).content for p, d, h in requests]
    post(client, "/v1/score", body([cand("a", answers(5)), cand("z", varied(9))]))
    second = [post(client, p, d, **h).content for p, d, h in requests]
    assert first == second
    assert list(tmp_path.iterdir()) == []


def test_nothing_is_remembered_between_requests(client: TestClient) -> None:
    ok_json(client, "/v1/score", body([cand("remember-me", answers())]))
    r = post(client, "/v1/chart", body([cand("other", answers())], candidate_id="remember-me"))
    assert loc_msgs(r) == [(["body", "candidate_id"], "no candidate 'remember-me' in 'candidates'")]
    got = ok_json(client, "/v1/score", body([cand("other", answers(5))]))
    assert [p["candidate_id"] for p in got["profiles"]] == ["other"]
