"""The generic results push: the ``invitation.completed`` event's ``ats_result`` block
(issue 18), on SQLite and on PostgreSQL.

Expected values are worked out here, not read back from the server: the type scores
from answers chosen so that each type's keyed mean is known (POMP = 25 * (mean - 1) on
the 1-5 scale), the fit and the SJT competencies from the library's own ``score`` and
``fit`` on the same answers.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("sqlalchemy")

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

import repprofile
from repprofile.web._db import Invitation, Outbox
from repprofile.web._service import WebService
from repprofile.web._store import AnswerIn, save_answers

from .conftest import WEB_AUTH, WEB_KEY

SECRET = "s" * 40
HOOK = "http://127.0.0.1:9/hook"
TYPES = [
    ("accommodator", "Accommodator"),
    ("competitor", "Competitor"),
    ("controller", "Controller"),
    ("empathizer", "Empathizer"),
    ("hard_worker", "Hard Worker"),
    ("innovator", "Innovator"),
    ("rock", "Rock"),
]
SKILLS = [
    ("ownership", "Ownership"),
    ("validation", "Validating frustration"),
    ("plan", "Telling the plan"),
    ("listening", "Listening with intention"),
    ("empathy", "Empathy"),
    ("apology", "Apology"),
    ("action", "Taking action"),
    ("de_escalation", "De-escalation"),
    ("service_recovery", "Service recovery (total)"),
]
# the keyed mean of each type's items: every item answered so that its keyed score is this
LEVEL = {"accommodator": 5, "competitor": 4, "controller": 3, "empathizer": 2}
LEVEL |= {"hard_worker": 1, "innovator": 2, "rock": 4}
POMP = {scale: 25.0 * (level - 1) for scale, level in LEVEL.items()}  # 100, 75, 50, 25, 0, ...


def make_client(db_url: str, engine: Engine, tmp_path: Path) -> TestClient:
    """The whole server with a webhook secret, loopback callbacks allowed, a fixed
    secret key and no outbox worker (links under http://testserver)."""
    from repprofile.server import ServerSettings
    from repprofile.web import WebSettings, create_web_app

    app = create_web_app(
        ServerSettings(api_keys=(WEB_KEY,)),
        WebSettings(
            database_url=db_url,
            public_url="http://testserver",
            data_dir=tmp_path / "data",
            webhook_secret=SECRET,
            webhook_allow_private=True,
            secret_key="r" * 40,
            outbox=False,  # the tests deliver with deliver_due
        ),
        engine=engine,
    )
    return TestClient(app)


@pytest.fixture
def push_client(db_url: str, web_engine: Engine, tmp_path: Path) -> Iterator[TestClient]:
    """A client of the server of :func:`make_client` (the outbox worker is off)."""
    with make_client(db_url, web_engine, tmp_path) as c:
        yield c


def web_of(client: TestClient) -> WebService:
    web: WebService = client.app.state.web  # type: ignore[attr-defined]
    return web


def likert_answers(q: repprofile.Questionnaire) -> dict[str, int]:
    """Every Likert item answered so that its keyed score is its type's LEVEL (3 for the
    validity items)."""
    out = {}
    for item in q.likert_items:
        level = LEVEL.get(item.scale or "", 3)
        out[item.id] = level if item.keyed == 1 else 6 - level
    return out


def sjt_answers(q: repprofile.Questionnaire) -> dict[str, dict[str, int]]:
    """Every SJT option rated, a different 1-6 pattern per scenario."""
    return {
        item.id: {o: 1 + (n * 2 + k) % 6 for k, o in enumerate(item.option_ids)}
        for n, item in enumerate(q.sjt_items)
    }


def take(
    client: TestClient, questionnaire: str, role: str, hook: str = HOOK, **extra: Any
) -> dict[str, Any]:
    """Invite, answer every item through the store (what the candidate's pages do) and
    finish; the invitation document after completion."""
    r = client.post(
        "/v1/invitations",
        json={
            "candidate_id": "cand-push",
            "questionnaire": questionnaire,
            "roles": [role],
            "callback_url": hook,
            **extra,
        },
        headers=WEB_AUTH,
    )
    assert r.status_code == 201, r.text
    invitation_id = r.json()["invitation_id"]
    web = web_of(client)
    q = repprofile.load_questionnaire(questionnaire)
    rows = [AnswerIn(i, "", str(v), 5.0) for i, v in likert_answers(q).items()]
    for item, ratings in sjt_answers(q).items():
        rows += [AnswerIn(item, o, str(v), 2.0) for o, v in ratings.items()]
    with web.session() as s:
        inv = s.get(Invitation, invitation_id)
        assert inv is not None
        save_answers(s, inv, web.questionnaire(inv), rows)
    with web.session() as s:
        inv = s.get(Invitation, invitation_id)
        assert inv is not None
        web.finish(s, inv)
    r = client.get(f"/v1/invitations/{invitation_id}", headers=WEB_AUTH)
    assert r.status_code == 200, r.text
    doc: dict[str, Any] = r.json()
    assert doc["status"] == "completed"
    return doc


def event_body(engine: Engine, invitation_id: str, hook: str = HOOK) -> dict[str, Any]:
    """The body of the invitation's one ``invitation.completed`` outbox row."""
    with Session(engine) as s:
        rows = s.scalars(
            select(Outbox).where(
                Outbox.invitation_id == invitation_id, Outbox.event == "invitation.completed"
            )
        ).all()
        assert len(rows) == 1
        assert rows[0].url == hook
        body: dict[str, Any] = json.loads(rows[0].body)
    return body


def library_result(questionnaire: str, role_id: str) -> tuple[dict[str, Any], float]:
    """The library's profile and fit for the same answers (no server involved)."""
    q = repprofile.load_questionnaire(questionnaire)
    answers: dict[str, Any] = {**likert_answers(q), **sjt_answers(q)}
    result = repprofile.score(q, [{"candidate_id": "cand-push", "answers": answers}])
    role = next(r for r in repprofile.list_roles() if r.id == role_id)
    fitted = repprofile.fit(result, role)
    profile: dict[str, Any] = result.to_dict()["profiles"][0]
    fit_value = float(fitted.fit[0])
    return profile, fit_value


def when(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert value.tzinfo is not None
    return value


# ---------------------------------------------------------------------------- tests


def test_ats_result_of_rep_types_has_the_documented_shape_and_hand_worked_values(
    push_client: TestClient, web_engine: Engine
) -> None:
    doc = take(push_client, "rep-types", "general-frontline")
    body = event_body(web_engine, doc["invitation_id"])
    assert set(body) == {"event", "invitation_id", "candidate_id", "result", "ats_result"}
    assert body["event"] == "invitation.completed"
    block = body["ats_result"]
    assert list(block) == [
        "status",
        "completed_at",
        "score",
        "max_score",
        "result_url",
        "attributes",
    ]
    assert block["status"] == "COMPLETED"
    assert block["max_score"] == 100
    assert type(block["max_score"]) is int
    # completed_at: ISO 8601 with Z, the invitation's completion time (to the microsecond)
    assert block["completed_at"].endswith("Z")
    assert when(block["completed_at"]) == when(doc["completed_at"])
    # attributes: the seven types in the questionnaire's order, POMP worked out by hand
    assert [a["id"] for a in block["attributes"]] == [t for t, _ in TYPES]
    for attr, (scale, name) in zip(block["attributes"], TYPES, strict=True):
        assert attr == {
            "type": "SUB_RESULT",
            "id": scale,
            "label": name,
            "score": {"value": POMP[scale], "max": 100},
        }
        assert type(attr["score"]["value"]) is float
    # the fit: general-frontline's weights on those POMPs, as the library computes it
    _, fit_value = library_result("rep-types", "general-frontline")
    assert block["score"] == round(fit_value, 1)
    assert type(block["score"]) is float
    assert 0.0 <= block["score"] <= 100.0
    stored_fit = body["result"]["fit"]["candidates"][0]["fits"][0]["fit"]
    assert block["score"] == round(stored_fit, 1)
    # the link of the push is the invitation's result_url, and it is signed
    assert block["result_url"] == doc["result_url"]
    assert block["result_url"].startswith("http://testserver/reports/" + doc["invitation_id"] + ".")


def test_ats_result_of_rep_hiring_lists_the_types_then_the_sjt_competencies(
    push_client: TestClient, web_engine: Engine
) -> None:
    doc = take(push_client, "rep-hiring", "escalations-sjt")
    block = event_body(web_engine, doc["invitation_id"])["ats_result"]
    expected_ids = [t for t, _ in TYPES] + [s for s, _ in SKILLS]
    assert [a["id"] for a in block["attributes"]] == expected_ids
    assert [a["label"] for a in block["attributes"]] == [n for _, n in TYPES + SKILLS]
    profile, fit_value = library_result("rep-hiring", "escalations-sjt")
    for attr in block["attributes"]:
        assert set(attr) == {"type", "id", "label", "score"}
        assert attr["type"] == "SUB_RESULT"
        assert set(attr["score"]) == {"value", "max"}
        assert attr["score"]["max"] == 100
        library_pomp = profile["scales"][attr["id"]]["pomp"]
        assert attr["score"]["value"] == round(library_pomp, 1), attr["id"]
        if attr["id"] in POMP:
            assert attr["score"]["value"] == POMP[attr["id"]]
    assert block["score"] == round(fit_value, 1)
    # the SJT ratings do move the competencies (the test would not see a constant)
    skill_values = {a["score"]["value"] for a in block["attributes"] if a["id"] in dict(SKILLS)}
    assert len(skill_values) > 1


def test_without_a_role_the_score_and_the_link_are_null(
    push_client: TestClient, web_engine: Engine
) -> None:
    r = push_client.post(
        "/v1/invitations",
        json={"candidate_id": "c-norole", "questionnaire": "rep-types", "callback_url": HOOK},
        headers=WEB_AUTH,
    )
    invitation_id = r.json()["invitation_id"]
    web = web_of(push_client)
    q = repprofile.load_questionnaire("rep-types")
    with web.session() as s:
        inv = s.get(Invitation, invitation_id)
        assert inv is not None
        rows = [AnswerIn(i, "", str(v)) for i, v in likert_answers(q).items()]
        save_answers(s, inv, q, rows)
        web.finish(s, inv)
    block = event_body(web_engine, invitation_id)["ats_result"]
    assert block["score"] is None
    assert [a["score"]["value"] for a in block["attributes"]] == [POMP[t] for t, _ in TYPES]
    # a report is a role's report: without a role there is none to link to
    assert block["result_url"] is None


def test_the_push_link_opens_the_report(push_client: TestClient, web_engine: Engine) -> None:
    doc = take(push_client, "rep-types", "retention")
    url = event_body(web_engine, doc["invitation_id"])["ats_result"]["result_url"]
    path = url.removeprefix("http://testserver")
    r = push_client.get(path)  # no API key
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "cand-push" in r.text
    assert "Retention (save desk)" in r.text


def test_the_delivered_event_is_signed_and_carries_the_block(
    db_url: str, web_engine: Engine, tmp_path: Path
) -> None:
    """The event reaches a receiver with the body the outbox holds (ats_result
    included) and the Repprofile-Signature the receiver can check."""
    import hashlib
    import hmac
    import http.server
    import threading

    got: list[tuple[dict[str, str], bytes]] = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            n = int(self.headers["Content-Length"])
            got.append(({k.lower(): v for k, v in self.headers.items()}, self.rfile.read(n)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        hook = f"http://127.0.0.1:{server.server_address[1]}/hook"
        with make_client(db_url, web_engine, tmp_path) as client:
            doc = take(client, "rep-types", "general-frontline", hook)
            expected = event_body(web_engine, doc["invitation_id"], hook)
            from repprofile.web._outbox import deliver_due

            assert deliver_due(web_of(client)) == 1
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert len(got) == 1
    headers, raw = got[0]
    assert json.loads(raw) == expected
    assert json.loads(raw)["ats_result"]["result_url"] == doc["result_url"]
    signature = headers["repprofile-signature"]
    parts = dict(p.split("=", 1) for p in signature.split(","))
    signed = f"{parts['t']}.".encode() + raw
    assert hmac.compare_digest(
        parts["v1"], hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
    )
