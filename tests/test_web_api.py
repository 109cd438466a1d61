"""The invitations API (/v1/invitations) on SQLite and on PostgreSQL (the ``db_url``
fixture runs every test on both).

Expected values are written out here or computed by the stateless scoring API on the same
answers: a completed invitation's result must equal what ``POST /v1/score`` and
``POST /v1/fit`` answer for the candidate's answers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

import repprofile
from repprofile.web._db import AccessLog, Answer, Invitation, Outbox, Result
from repprofile.web._service import WebService
from repprofile.web._store import AnswerIn, save_answers

from .conftest import WEB_AUTH, WEB_KEY

Q = repprofile.load_questionnaire("rep-types")
ITEMS = [item.id for item in Q.items]
ROLES = ["general-frontline", "retention"]
NORMS = "rep-types-simulated"
ACTOR = "api:" + hashlib.sha256(WEB_KEY.encode()).hexdigest()[:12]
DAY = dt.timedelta(days=1)


def body(candidate: str = "cand-1", **extra: Any) -> dict[str, Any]:
    """An invitation request for rep-types."""
    return {"candidate_id": candidate, "questionnaire": "rep-types", **extra}


def invite(client: TestClient, candidate: str = "cand-1", **extra: Any) -> dict[str, Any]:
    """POST /v1/invitations, asserting 201; the response document."""
    r = client.post("/v1/invitations", json=body(candidate, **extra), headers=WEB_AUTH)
    assert r.status_code == 201, r.text
    doc: dict[str, Any] = r.json()
    return doc


def get(client: TestClient, invitation_id: str) -> dict[str, Any]:
    r = client.get(f"/v1/invitations/{invitation_id}", headers=WEB_AUTH)
    assert r.status_code == 200, r.text
    doc: dict[str, Any] = r.json()
    return doc


def when(text: str) -> dt.datetime:
    """An ISO time of a response (``Z`` or an offset) as an aware datetime."""
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert value.tzinfo is not None, text
    return value


def pattern(k: int) -> dict[str, int]:
    """Every item answered, a different 1-5 pattern per ``k``."""
    return {item: 1 + (i * 3 + k) % 5 for i, item in enumerate(ITEMS)}


def web_of(client: TestClient) -> WebService:
    web: WebService = client.app.state.web  # type: ignore[attr-defined]
    return web


def save(client: TestClient, invitation_id: str, answers: dict[str, int], seconds: float) -> None:
    """Save ``answers`` through the store (what the candidate's pages do)."""
    web = web_of(client)
    with web.session() as s:
        inv = s.get(Invitation, invitation_id)
        assert inv is not None
        rows = [AnswerIn(item, "", str(v), seconds) for item, v in answers.items()]
        save_answers(s, inv, web.questionnaire(inv), rows)


def finish(client: TestClient, invitation_id: str) -> dict[str, Any]:
    web = web_of(client)
    with web.session() as s:
        inv = s.get(Invitation, invitation_id)
        assert inv is not None
        return web.finish(s, inv)


def count(engine: Engine, table: Any, invitation_id: str | None = None) -> int:
    with Session(engine) as s:
        stmt = select(func.count()).select_from(table)
        if invitation_id is not None:
            stmt = stmt.where(table.invitation_id == invitation_id)
        return int(s.scalar(stmt) or 0)


def problem_locs(r: Any) -> list[list[Any]]:
    """The ``loc`` of each error of a 422 problem document."""
    assert r.status_code == 422, r.text
    return [e["loc"] for e in r.json()["errors"]]


# --------------------------------------------------------------------------- create


def test_create_answers_201_with_the_link_and_a_14_day_expiry(web_client: TestClient) -> None:
    before = dt.datetime.now(dt.UTC)
    r = web_client.post(
        "/v1/invitations",
        json=body(roles=ROLES, norms=NORMS, metadata={"ats": "A-17"}),
        headers=WEB_AUTH,
    )
    after = dt.datetime.now(dt.UTC)
    assert r.status_code == 201, r.text
    doc = r.json()
    assert set(doc) == {"invitation_id", "url", "status", "expires_at", "created_at"}
    assert doc["status"] == "created"
    assert r.headers["location"] == f"/v1/invitations/{doc['invitation_id']}"
    assert "idempotent-replayed" not in r.headers
    prefix = "http://testserver/take/"
    assert doc["url"].startswith(prefix)
    token = doc["url"][len(prefix) :]
    assert len(token) == 22
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    created, expires = when(doc["created_at"]), when(doc["expires_at"])
    assert before <= created <= after
    assert expires - created == dt.timedelta(days=14)

    one = get(web_client, doc["invitation_id"])
    assert one["candidate_id"] == "cand-1"
    assert one["questionnaire"] == "rep-types"
    assert one["questionnaire_version"] == Q.version
    assert one["questionnaire_sha256"] == Q.fingerprint
    assert one["roles"] == ROLES
    assert one["norms"] == NORMS
    assert one["metadata"] == {"ats": "A-17"}
    assert one["status"] == "created"
    assert one["progress"] == {"answered": 0, "total": 80}
    assert when(one["created_at"]) == created
    assert when(one["expires_at"]) == expires
    assert when(one["updated_at"]) == created
    for key in ("privacy_accepted_at", "started_at", "completed_at", "withdrawn_at", "erased_at"):
        assert one[key] is None, key
    assert one["result"] is None
    assert one["report_url"] is None
    assert one["chart_url"] is None
    # only the token's SHA-256 is stored
    with Session(web_of(web_client).engine) as s:
        inv = s.get(Invitation, doc["invitation_id"])
        assert inv is not None
        assert inv.token_sha256 == hashlib.sha256(token.encode()).hexdigest()


def test_an_explicit_expiry_is_kept(web_client: TestClient) -> None:
    at = (dt.datetime.now(dt.UTC) + 3 * DAY).replace(microsecond=0)
    doc = invite(web_client, expires_at=at.isoformat())
    assert when(doc["expires_at"]) == at
    r = web_client.post(
        "/v1/invitations",
        json=body(expires_at=(dt.datetime.now(dt.UTC) - DAY).isoformat()),
        headers=WEB_AUTH,
    )
    assert problem_locs(r) == [["body", "expires_at"]]


def test_idempotency_key_replays_the_same_invitation(
    web_client: TestClient, web_engine: Engine
) -> None:
    headers = {**WEB_AUTH, "Idempotency-Key": "ats-req-42"}
    first = web_client.post("/v1/invitations", json=body(roles=ROLES), headers=headers)
    again = web_client.post("/v1/invitations", json=body(roles=ROLES), headers=headers)
    assert first.status_code == 201, first.text
    assert again.status_code == 201, again.text
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert count(web_engine, Invitation) == 1

    other = web_client.post("/v1/invitations", json=body(roles=["retention"]), headers=headers)
    assert problem_locs(other) == [["header", "Idempotency-Key"]]
    assert other.json()["errors"][0]["msg"] == (
        "this Idempotency-Key was used with a different request; use a new key"
    )
    assert count(web_engine, Invitation) == 1

    # a key longer than 255 characters: the header is named, nothing is created
    long = web_client.post(
        "/v1/invitations",
        json=body(roles=ROLES),
        headers={**WEB_AUTH, "Idempotency-Key": "k" * 256},
    )
    assert long.status_code == 422
    assert problem_locs(long) == [["header", "Idempotency-Key"]]
    assert long.json()["errors"][0]["msg"] == "expected 1 to 255 characters"
    assert count(web_engine, Invitation) == 1

    # another key is another invitation
    third = web_client.post(
        "/v1/invitations", json=body(roles=ROLES), headers={**WEB_AUTH, "Idempotency-Key": "x"}
    )
    assert third.status_code == 201
    assert third.json()["invitation_id"] != first.json()["invitation_id"]
    assert count(web_engine, Invitation) == 2


def test_unknown_questionnaire_role_or_norms_is_a_422_naming_the_field(
    web_client: TestClient, web_engine: Engine
) -> None:
    r = web_client.post(
        "/v1/invitations", json={"candidate_id": "c", "questionnaire": "nope"}, headers=WEB_AUTH
    )
    assert problem_locs(r) == [["body", "questionnaire"]]
    assert "unknown questionnaire 'nope'" in r.json()["errors"][0]["msg"]

    r = web_client.post(
        "/v1/invitations", json=body(roles=["general-frontline", "nope"]), headers=WEB_AUTH
    )
    assert problem_locs(r) == [["body", "roles", 1]]
    assert "unknown role 'nope'" in r.json()["errors"][0]["msg"]

    # a role of another questionnaire
    r = web_client.post(
        "/v1/invitations", json=body(roles=["general-frontline-sjt"]), headers=WEB_AUTH
    )
    assert problem_locs(r) == [["body", "roles", 0]]

    r = web_client.post("/v1/invitations", json=body(norms="nope"), headers=WEB_AUTH)
    assert problem_locs(r) == [["body", "norms"]]
    assert "unknown norm table 'nope'" in r.json()["errors"][0]["msg"]

    # norms of another questionnaire
    r = web_client.post(
        "/v1/invitations",
        json={"candidate_id": "c", "questionnaire": "service-recovery", "norms": NORMS},
        headers=WEB_AUTH,
    )
    assert problem_locs(r) == [["body", "norms"]]

    # a callback needs a webhook secret on the server (none here)
    r = web_client.post(
        "/v1/invitations", json=body(callback_url="https://ats.example/hook"), headers=WEB_AUTH
    )
    assert problem_locs(r) == [["body", "callback_url"]]
    assert count(web_engine, Invitation) == 0


def test_the_api_needs_the_key(web_client: TestClient) -> None:
    assert web_client.post("/v1/invitations", json=body()).status_code == 401
    assert web_client.get("/v1/invitations").status_code == 401
    assert (
        web_client.get("/v1/invitations", headers={"Authorization": "Bearer " + "x" * 32})
    ).status_code == 401


# --------------------------------------------------------------------------- read, complete


def test_progress_and_timestamps_as_the_candidate_answers(web_client: TestClient) -> None:
    doc = invite(web_client)
    save(web_client, doc["invitation_id"], dict(list(pattern(0).items())[:12]), 2.0)
    one = get(web_client, doc["invitation_id"])
    assert one["status"] == "started"
    assert one["progress"] == {"answered": 12, "total": 80}
    started = when(one["started_at"])
    assert started >= when(doc["created_at"])
    assert when(one["updated_at"]) == started
    # the same items again: still 12 answered, started_at unchanged
    save(web_client, doc["invitation_id"], dict(list(pattern(1).items())[:12]), 2.0)
    one = get(web_client, doc["invitation_id"])
    assert one["progress"] == {"answered": 12, "total": 80}
    assert when(one["started_at"]) == started
    assert one["result"] is None


def test_completed_result_equals_score_and_fit_of_the_same_answers(
    web_client: TestClient, web_engine: Engine
) -> None:
    doc = invite(web_client, "cand-9", roles=ROLES, norms=NORMS)
    answers = pattern(3)
    save(web_client, doc["invitation_id"], answers, 1.5)
    stored = finish(web_client, doc["invitation_id"])

    record = {
        "candidate_id": "cand-9",
        "answers": answers,
        "item_seconds": {item: 1.5 for item in ITEMS},
    }
    req = {"questionnaire": "rep-types", "norms": NORMS, "candidates": [record]}
    score = web_client.post("/v1/score", json=req, headers=WEB_AUTH)
    fit = web_client.post("/v1/fit", json={**req, "roles": ROLES}, headers=WEB_AUTH)
    assert score.status_code == 200, score.text
    assert fit.status_code == 200, fit.text
    expected = {"score": score.json(), "fit": fit.json()}

    one = get(web_client, doc["invitation_id"])
    assert one["status"] == "completed"
    assert one["progress"] == {"answered": 80, "total": 80}
    assert when(one["completed_at"]) >= when(one["started_at"])
    assert one["result"] == expected
    assert stored == expected
    assert one["report_url"] == f"/v1/invitations/{doc['invitation_id']}/report"
    assert one["chart_url"] == f"/v1/invitations/{doc['invitation_id']}/chart"
    # the stored result's provenance
    with Session(web_engine) as s:
        res = s.get(Result, doc["invitation_id"])
        assert res is not None
        assert res.questionnaire_sha256 == Q.fingerprint
        assert res.questionnaire_version == Q.version
        assert res.norms == NORMS
        assert res.roles == ROLES
        assert res.library_version == repprofile.__version__
    # no callback URL: no webhook queued
    assert count(web_engine, Outbox) == 0


def test_a_result_without_roles_has_no_fit(web_client: TestClient) -> None:
    doc = invite(web_client, "cand-2")
    save(web_client, doc["invitation_id"], pattern(1), 2.0)
    finish(web_client, doc["invitation_id"])
    record = {
        "candidate_id": "cand-2",
        "answers": pattern(1),
        "item_seconds": dict.fromkeys(ITEMS, 2.0),
    }
    score = web_client.post(
        "/v1/score", json={"questionnaire": "rep-types", "candidates": [record]}, headers=WEB_AUTH
    )
    assert get(web_client, doc["invitation_id"])["result"] == {"score": score.json(), "fit": None}


def test_an_unknown_invitation_is_404(web_client: TestClient) -> None:
    for method, path in (
        ("GET", "/v1/invitations/inv_nope"),
        ("POST", "/v1/invitations/inv_nope/withdraw"),
        ("DELETE", "/v1/invitations/inv_nope"),
        ("GET", "/v1/invitations/inv_nope/report"),
    ):
        r = web_client.request(method, path, headers=WEB_AUTH)
        assert r.status_code == 404, (method, path, r.text)
        assert r.json()["detail"] == "no invitation 'inv_nope'"


# --------------------------------------------------------------------------- list


def test_cursor_pagination_visits_each_invitation_once(web_client: TestClient) -> None:
    ids = [invite(web_client, f"c{k}")["invitation_id"] for k in range(7)]
    seen: list[str] = []
    pages: list[int] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        r = web_client.get("/v1/invitations", params=params, headers=WEB_AUTH)
        assert r.status_code == 200, r.text
        page = r.json()
        pages.append(len(page["invitations"]))
        seen += [d["invitation_id"] for d in page["invitations"]]
        assert all(d["result"] is None for d in page["invitations"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == [3, 3, 1]
    assert seen == ids  # oldest change first, each exactly once
    # a change moves an invitation to the end of the order
    save(web_client, ids[0], {ITEMS[0]: 3}, 1.0)
    r = web_client.get("/v1/invitations", params={"limit": 100}, headers=WEB_AUTH)
    assert [d["invitation_id"] for d in r.json()["invitations"]] == [*ids[1:], ids[0]]
    assert r.json()["next_cursor"] is None


def test_updated_since_and_a_bad_cursor(web_client: TestClient) -> None:
    old = invite(web_client, "old")
    new = invite(web_client, "new")
    since = get(web_client, new["invitation_id"])["updated_at"]
    r = web_client.get("/v1/invitations", params={"updated_since": since}, headers=WEB_AUTH)
    assert [d["invitation_id"] for d in r.json()["invitations"]] == [new["invitation_id"]]
    assert old["invitation_id"] != new["invitation_id"]
    r = web_client.get("/v1/invitations", params={"cursor": "garbage"}, headers=WEB_AUTH)
    assert problem_locs(r) == [["body", "cursor"]]
    r = web_client.get("/v1/invitations", params={"status": "sleeping"}, headers=WEB_AUTH)
    assert problem_locs(r) == [["body", "status"]]


def test_status_filter(web_client: TestClient) -> None:
    ids = [invite(web_client, f"c{k}")["invitation_id"] for k in range(5)]
    save(web_client, ids[1], {ITEMS[0]: 2}, 1.0)
    for i in (2, 4):
        assert (
            web_client.post(f"/v1/invitations/{ids[i]}/withdraw", headers=WEB_AUTH).status_code
            == 200
        )

    def with_status(status: str) -> list[str]:
        r = web_client.get("/v1/invitations", params={"status": status}, headers=WEB_AUTH)
        assert r.status_code == 200, r.text
        return [d["invitation_id"] for d in r.json()["invitations"]]

    assert with_status("created") == [ids[0], ids[3]]
    assert with_status("started") == [ids[1]]
    assert with_status("withdrawn") == [ids[2], ids[4]]
    assert with_status("completed") == []


# --------------------------------------------------------------------------- withdraw, erase


def test_withdraw_and_the_transitions_it_refuses(web_client: TestClient) -> None:
    doc = invite(web_client)
    r = web_client.post(f"/v1/invitations/{doc['invitation_id']}/withdraw", headers=WEB_AUTH)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "withdrawn"
    assert when(out["withdrawn_at"]) >= when(doc["created_at"])
    assert when(out["updated_at"]) == when(out["withdrawn_at"])
    # withdrawing again changes nothing
    again = web_client.post(f"/v1/invitations/{doc['invitation_id']}/withdraw", headers=WEB_AUTH)
    assert again.status_code == 200
    assert again.json()["withdrawn_at"] == out["withdrawn_at"]
    assert get(web_client, doc["invitation_id"])["status"] == "withdrawn"

    done = invite(web_client, "cand-done")
    save(web_client, done["invitation_id"], pattern(2), 1.0)
    finish(web_client, done["invitation_id"])
    r = web_client.post(f"/v1/invitations/{done['invitation_id']}/withdraw", headers=WEB_AUTH)
    assert r.status_code == 409
    assert r.json()["detail"] == (
        f"invitation {done['invitation_id']} is completed: it cannot be withdrawn"
    )
    assert get(web_client, done["invitation_id"])["status"] == "completed"

    gone = invite(web_client, "cand-gone")
    assert (
        web_client.delete(f"/v1/invitations/{gone['invitation_id']}", headers=WEB_AUTH).status_code
        == 200
    )
    r = web_client.post(f"/v1/invitations/{gone['invitation_id']}/withdraw", headers=WEB_AUTH)
    assert r.status_code == 409


def test_delete_erases_answers_and_results_and_keeps_a_tombstone(
    web_client: TestClient, web_engine: Engine
) -> None:
    doc = invite(web_client, "cand-erase", roles=ROLES, metadata={"ats": "A-1"})
    keep = invite(web_client, "cand-keep")
    save(web_client, doc["invitation_id"], pattern(4), 1.0)
    finish(web_client, doc["invitation_id"])
    save(web_client, keep["invitation_id"], dict(list(pattern(5).items())[:7]), 1.0)
    assert count(web_engine, Answer, doc["invitation_id"]) == 80
    assert count(web_engine, Result, doc["invitation_id"]) == 1

    r = web_client.delete(f"/v1/invitations/{doc['invitation_id']}", headers=WEB_AUTH)
    assert r.status_code == 200, r.text
    tomb = r.json()
    assert count(web_engine, Answer, doc["invitation_id"]) == 0
    assert count(web_engine, Result, doc["invitation_id"]) == 0
    assert count(web_engine, Answer, keep["invitation_id"]) == 7  # others untouched
    assert count(web_engine, Invitation) == 2  # the tombstone stays

    assert tomb["status"] == "erased"
    assert tomb["invitation_id"] == doc["invitation_id"]
    assert tomb["candidate_id"] == "cand-erase"
    assert tomb["metadata"] == {}
    assert tomb["result"] is None
    assert tomb["report_url"] is None
    assert when(tomb["erased_at"]) >= when(tomb["completed_at"])
    assert when(tomb["created_at"]) == when(doc["created_at"])
    assert get(web_client, doc["invitation_id"]) == tomb
    with Session(web_engine) as s:
        inv = s.get(Invitation, doc["invitation_id"])
        assert inv is not None
        assert inv.token_sha256 is None
        assert inv.token_sealed is None
    # erasing again answers the same tombstone
    again = web_client.delete(f"/v1/invitations/{doc['invitation_id']}", headers=WEB_AUTH)
    assert again.status_code == 200
    assert again.json() == tomb
    # the report of an erased invitation is gone
    r = web_client.get(f"/v1/invitations/{doc['invitation_id']}/report", headers=WEB_AUTH)
    assert r.status_code == 404


# --------------------------------------------------------------------------- expiry, access log


def test_an_invitation_past_its_expiry_shows_expired(
    web_client: TestClient, web_engine: Engine
) -> None:
    doc = invite(web_client)
    started = invite(web_client, "cand-started")
    fresh = invite(web_client, "cand-fresh")
    save(web_client, started["invitation_id"], {ITEMS[0]: 1}, 1.0)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    with Session(web_engine) as s:
        s.execute(
            update(Invitation)
            .where(Invitation.id.in_([doc["invitation_id"], started["invitation_id"]]))
            .values(expires_at=past)
        )
        s.commit()
    r = web_client.get("/v1/invitations", params={"status": "expired"}, headers=WEB_AUTH)
    assert {d["invitation_id"] for d in r.json()["invitations"]} == {
        doc["invitation_id"],
        started["invitation_id"],
    }
    assert get(web_client, doc["invitation_id"])["status"] == "expired"
    assert get(web_client, started["invitation_id"])["status"] == "expired"
    assert get(web_client, fresh["invitation_id"])["status"] == "created"
    # an expired invitation may still be withdrawn
    r = web_client.post(f"/v1/invitations/{doc['invitation_id']}/withdraw", headers=WEB_AUTH)
    assert r.status_code == 200
    assert r.json()["status"] == "withdrawn"


def test_the_access_log_has_a_row_per_call_and_no_answers(
    web_client: TestClient, web_engine: Engine
) -> None:
    doc = invite(web_client, "cand-log")
    iid = doc["invitation_id"]
    answers = {item: 5 for item in ITEMS}
    save(web_client, iid, answers, 1.0)
    finish(web_client, iid)
    get(web_client, iid)
    web_client.get("/v1/invitations", headers=WEB_AUTH)
    web_client.post(f"/v1/invitations/{iid}/withdraw", headers=WEB_AUTH)  # 409: not logged
    web_client.delete(f"/v1/invitations/{iid}", headers=WEB_AUTH)
    with Session(web_engine) as s:
        rows = list(s.scalars(select(AccessLog).order_by(AccessLog.id)))
    assert [(r.actor, r.action, r.invitation_id) for r in rows] == [
        (ACTOR, "invitation.create", iid),
        ("candidate", "invitation.complete", iid),
        (ACTOR, "invitation.read", iid),
        (ACTOR, "invitation.list", None),
        (ACTOR, "invitation.erase", iid),
    ]
    assert all(r.detail is None for r in rows)
    # nothing in the log holds an answer, the key or the token
    text = json.dumps([[r.actor, r.action, r.invitation_id, r.detail] for r in rows])
    assert WEB_KEY not in text
    assert doc["url"].rsplit("/", 1)[1] not in text
    assert '"5"' not in text
    assert "answers" not in text


def test_unprocessable_names_a_header_whole_and_a_body_field_by_its_path() -> None:
    from repprofile.server._http import unprocessable

    assert unprocessable("roles.1", "m").errors()[0]["loc"] == ("body", "roles", 1)
    assert unprocessable("", "m").errors()[0]["loc"] == ("body",)
    # a header name is one location part, dots and digits included
    header = unprocessable("X-Key.2", "m", where="header").errors()[0]
    assert header == {"type": "value_error", "loc": ("header", "X-Key.2"), "msg": "m"}
    with pytest.raises(ValueError, match="where: expected body, header, query or path"):
        unprocessable("x", "m", where="cookie")
