"""Signed report links (issue 18): ``GET /reports/{token}`` without an API key, the
fresh-link endpoint ``POST /v1/invitations/{id}/report-link`` and ``result_url`` on the
invitation document, on SQLite and on PostgreSQL.

(tests/test_web_links.py is about the candidates' ``/take/`` links.)
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("sqlalchemy")

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

import repprofile.web._api as reportlinks
from repprofile.server._transport import mask_token
from repprofile.web._db import AccessLog
from repprofile.web._links import check_report_token, report_token

from .conftest import WEB_AUTH
from .test_web_push import make_client, take, web_of

SECRET_KEY = b"r" * 40  # make_client's
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
DAY = dt.timedelta(days=1)


@pytest.fixture
def links(db_url: str, web_engine: Engine, tmp_path: Path) -> Iterator[TestClient]:
    with make_client(db_url, web_engine, tmp_path) as c:
        yield c


def path_of(url: str) -> str:
    assert url.startswith("http://testserver/reports/"), url
    return url.removeprefix("http://testserver")


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def expires_of(url: str) -> dt.datetime:
    """The expiry written in a link's token (its second field, Unix seconds)."""
    return dt.datetime.fromtimestamp(int(token_of(url).split(".")[1]), dt.UTC)


def when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def assert_report_headers(r: Any) -> None:
    assert r.headers["content-security-policy"] == CSP
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["x-robots-tag"] == "noindex, nofollow"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"


def at(monkeypatch: pytest.MonkeyPatch, moment: dt.datetime) -> None:
    """The report route's clock set to ``moment``."""
    monkeypatch.setattr(reportlinks, "utcnow", lambda: moment)


# ---------------------------------------------------------------- the report route


def test_result_url_opens_the_html_report_without_a_key(
    links: TestClient, web_engine: Engine
) -> None:
    doc = take(links, "rep-types", "general-frontline")
    url = doc["result_url"]
    # the default link: valid report_link_days (30) after completion, to the second
    completed = when(doc["completed_at"])
    assert expires_of(url) == (completed + 30 * DAY).replace(microsecond=0)
    r = links.get(path_of(url))
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert_report_headers(r)
    assert "cand-push" in r.text
    assert "General front-line service" in r.text
    # the report page fetches nothing: no scripts, no external sheets or images
    assert "<script" not in r.text
    assert "<link" not in r.text
    assert 'src="http' not in r.text
    with Session(web_engine) as s:
        rows = s.scalars(select(AccessLog).where(AccessLog.action == "report.link")).all()
        assert [(a.actor, a.invitation_id, a.detail) for a in rows] == [
            ("link", doc["invitation_id"], "html")
        ]


def test_format_pdf_answers_the_pdf(links: TestClient) -> None:
    doc = take(links, "rep-types", "retention")
    r = links.get(path_of(doc["result_url"]) + "?format=pdf")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF-")
    assert r.headers["content-disposition"] == (
        f'inline; filename="report-{doc["invitation_id"]}.pdf"'
    )
    assert_report_headers(r)
    r = links.get(path_of(doc["result_url"]) + "?format=docx")
    assert r.status_code == 400
    assert "format=pdf" in r.text
    assert_report_headers(r)


def test_every_link_that_does_not_open_a_report_gets_the_same_404(
    links: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = take(links, "rep-types", "general-frontline")
    good = token_of(doc["result_url"])
    inv_id, expires, signature = good.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    # a not-yet-completed invitation, with a correctly signed token
    r = links.post(
        "/v1/invitations",
        json={"candidate_id": "c-open", "questionnaire": "rep-types", "roles": ["retention"]},
        headers=WEB_AUTH,
    )
    open_id = r.json()["invitation_id"]
    far = dt.datetime.now(dt.UTC) + 10 * DAY
    bad = {
        "malformed": "not-a-token",
        "truncated": good[:-1],
        "forged signature": f"{inv_id}.{expires}.{flipped}",
        "later expiry, same signature": f"{inv_id}.{int(expires) + 86400}.{signature}",
        "another key": report_token(b"x" * 40, inv_id, far),
        "unknown invitation": report_token(SECRET_KEY, "inv_" + "0" * 24, far),
        "not completed": report_token(SECRET_KEY, open_id, far),
        "expired": report_token(SECRET_KEY, inv_id, dt.datetime.now(dt.UTC) - DAY),
    }
    first = links.get("/reports/not-a-token")
    assert first.status_code == 404
    assert "This report link is not valid" in first.text
    for what, token in bad.items():
        r = links.get(f"/reports/{token}")
        assert (r.status_code, r.content) == (404, first.content), what
        assert_report_headers(r)
    assert links.get(f"/reports/{good}").status_code == 200  # the good one still works


def test_a_link_stops_working_when_it_expires(
    links: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = take(links, "rep-types", "general-frontline")
    path, expires = path_of(doc["result_url"]), expires_of(doc["result_url"])
    at(monkeypatch, expires - dt.timedelta(seconds=1))
    assert links.get(path).status_code == 200
    at(monkeypatch, expires)
    assert links.get(path).status_code == 404
    # check_report_token agrees, with its own clock
    token = token_of(doc["result_url"])
    assert (
        check_report_token(SECRET_KEY, token, expires - dt.timedelta(seconds=1))
        == (doc["invitation_id"])
    )
    assert check_report_token(SECRET_KEY, token, expires) is None


def test_erasing_the_invitation_revokes_its_links(links: TestClient) -> None:
    doc = take(links, "rep-types", "general-frontline")
    fresh = links.post(f"/v1/invitations/{doc['invitation_id']}/report-link", headers=WEB_AUTH)
    assert fresh.status_code == 200
    paths = [path_of(doc["result_url"]), path_of(fresh.json()["result_url"])]
    assert all(links.get(p).status_code == 200 for p in paths)
    r = links.delete(f"/v1/invitations/{doc['invitation_id']}", headers=WEB_AUTH)
    assert r.status_code == 200
    assert r.json()["status"] == "erased"
    assert r.json()["result_url"] is None
    assert [links.get(p).status_code for p in paths] == [404, 404]


def test_report_tokens_never_reach_the_logs(
    links: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    doc = take(links, "rep-types", "general-frontline")
    token = token_of(doc["result_url"])
    assert mask_token(f"/reports/{token}?format=pdf") == "/reports/***"
    assert mask_token(f"/prefix/reports/{token}") == "/prefix/reports/***"
    assert mask_token("/take/abc/page/2") == "/take/***/page/2"
    with caplog.at_level(logging.DEBUG):
        links.get(f"/reports/{token}")
        links.get(f"/reports/{token[:-2]}xx")
    # what the server logs (the test client's own request log is not the server's)
    server_text = "\n".join(
        r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))
    )
    assert token.split(".")[2] not in server_text
    assert token.split(".")[2] in caplog.text  # the client's log did see it: the check works


# ---------------------------------------------------------------- the invitation document


def test_result_url_is_null_until_completed_and_listed_once_completed(
    links: TestClient,
) -> None:
    r = links.post(
        "/v1/invitations",
        json={"candidate_id": "c-1", "questionnaire": "rep-types"},
        headers=WEB_AUTH,
    )
    pending = r.json()["invitation_id"]
    got = links.get(f"/v1/invitations/{pending}", headers=WEB_AUTH).json()
    assert "result_url" in got
    assert got["result_url"] is None
    doc = take(links, "rep-types", "general-frontline")
    listed = links.get("/v1/invitations", headers=WEB_AUTH).json()["invitations"]
    by_id = {d["invitation_id"]: d["result_url"] for d in listed}
    assert by_id == {pending: None, doc["invitation_id"]: doc["result_url"]}
    # the same link every time it is asked for (it is derived, not stored)
    again = links.get(f"/v1/invitations/{doc['invitation_id']}", headers=WEB_AUTH).json()
    assert again["result_url"] == doc["result_url"]
    assert (
        web_of(links).report_link(doc["invitation_id"], when(doc["completed_at"]))
        == (doc["result_url"])
    )


# ---------------------------------------------------------------- fresh links


def test_a_fresh_link_lasts_the_days_asked_for(
    links: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = take(links, "rep-types", "general-frontline")
    endpoint = f"/v1/invitations/{doc['invitation_id']}/report-link"
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    r = links.post(endpoint, json={"days": 2}, headers=WEB_AUTH)
    after = dt.datetime.now(dt.UTC)
    assert r.status_code == 200, r.text
    out = r.json()
    assert set(out) == {"result_url", "expires_at"}
    expires = when(out["expires_at"])
    assert before + 2 * DAY <= expires <= after + 2 * DAY
    assert expires.microsecond == 0
    assert expires_of(out["result_url"]) == expires
    assert out["result_url"] != doc["result_url"]
    path = path_of(out["result_url"])
    assert links.get(path).status_code == 200
    # three days on: the 2-day link is dead, the default (30-day) link still works
    at(monkeypatch, after + 3 * DAY)
    assert links.get(path).status_code == 404
    assert links.get(path_of(doc["result_url"])).status_code == 200
    monkeypatch.undo()
    # no body (or an empty object): the server's report_link_days (30)
    bodies: list[dict[str, Any]] = [{}, {"json": {}}]
    for kwargs in bodies:
        r = links.post(endpoint, headers=WEB_AUTH, **kwargs)
        assert r.status_code == 200, r.text
        expires = when(r.json()["expires_at"])
        assert before + 30 * DAY <= expires <= dt.datetime.now(dt.UTC) + 30 * DAY


def test_fresh_link_errors(links: TestClient) -> None:
    doc = take(links, "rep-types", "general-frontline")
    endpoint = f"/v1/invitations/{doc['invitation_id']}/report-link"
    assert links.post(endpoint).status_code == 401  # the API key is needed here
    for days in (0, 367, "7", 1.5, None):
        r = links.post(endpoint, json={"days": days}, headers=WEB_AUTH)
        if days is None:
            assert r.status_code == 200
            continue
        assert r.status_code == 422, days
        assert [e["loc"] for e in r.json()["errors"]] == [["body", "days"]]
    r = links.post(endpoint, json={"days": 3, "extra": 1}, headers=WEB_AUTH)
    assert r.status_code == 422
    r = links.post(
        "/v1/invitations",
        json={"candidate_id": "c-open", "questionnaire": "rep-types"},
        headers=WEB_AUTH,
    )
    open_id = r.json()["invitation_id"]
    r = links.post(f"/v1/invitations/{open_id}/report-link", headers=WEB_AUTH)
    assert r.status_code == 409
    assert r.json()["detail"] == f"invitation {open_id} is created, not completed"
    r = links.post("/v1/invitations/inv_nope/report-link", headers=WEB_AUTH)
    assert (r.status_code, r.json()["code"]) == (404, "not_found")
    links.delete(f"/v1/invitations/{doc['invitation_id']}", headers=WEB_AUTH)
    r = links.post(endpoint, headers=WEB_AUTH)
    assert (r.status_code, r.json()["code"]) == (404, "not_found")


def test_no_fresh_link_without_a_role(links: TestClient) -> None:
    """An invitation that names no role has no report: no link to a 404 is handed out."""
    doc = take(links, "rep-types", "general-frontline", roles=[])
    assert doc["result_url"] is None
    r = links.post(f"/v1/invitations/{doc['invitation_id']}/report-link", headers=WEB_AUTH)
    assert r.status_code == 409
    assert "names no role" in r.json()["detail"]
    r = links.get(f"/v1/invitations/{doc['invitation_id']}/report", headers=WEB_AUTH)
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["query", "role"]
