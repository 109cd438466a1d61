"""Security review of issue 18 (Greenhouse partner endpoints, signed report links, email,
the completion PATCH, the secret key): each test shows one problem found (fixed) or a
rule checked (no problem found, kept as a regression test)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("sqlalchemy")
pytest.importorskip("fastapi")

from pydantic import ValidationError

from repprofile._errors import InputError
from repprofile.web import WebSettings, _outbox
from repprofile.web._db import AtsOrder, Invitation, Outbox, utcnow
from repprofile.web._service import secret_key_of

from .test_web_greenhouse import BASE, GH, GH_KEY, KEY, Partner, _partner, send_test

PUBLIC_IP = "93.184.216.34"


def _resolver(address: str) -> Any:
    """A ``socket.getaddrinfo`` that resolves every name to ``address``."""

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))]

    return getaddrinfo


@pytest.fixture
def strict_partner(db_url: str, tmp_path: Path) -> Iterator[Partner]:
    """A partner that refuses private callback URLs (the production setting)."""
    yield from _partner(db_url, tmp_path, webhook_allow_private=False)


# ---------------------------------------------------------------------------- the guard


@pytest.mark.parametrize(
    ("path", "root"),
    [
        ("/integrations/greenhouse/../../v1/invitations", ""),
        ("/reports/../v1/invitations", ""),
        ("/reports/x/../../v1/invitations", ""),
        ("/integrations/greenhouse//v1/invitations", ""),
        ("/integrations/greenhouse/v1/invitations", "/integrations/greenhouse"),
        ("/integrations/greenhouse/v1/invitations", "/integrations/greenhouse/"),
        ("/reports/v1/invitations", "/reports"),
        ("/x/integrations/greenhouse/v1/invitations", "/x/"),
    ],
)
def test_public_prefixes_reach_nothing_else(strict_partner: Partner, path: str, root: str) -> None:
    """No path or root-path trick reaches a keyed route through a public prefix: the
    answer is the guard's 401 or a 404, never the invitations list."""
    app = strict_partner.client.app
    out: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        out.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": root,
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "client": ("203.0.113.9", 1),
        "server": ("testserver", 80),
    }
    asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
    status = next(m["status"] for m in out if m["type"] == "http.response.start")
    assert status in (401, 404)


# ---------------------------------------------------------------------------- the PATCH


def test_send_test_refuses_a_plain_http_url(
    strict_partner: Partner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The completion PATCH carries the Greenhouse key (perhaps an API key) in its
    Authorization header: to an http:// URL it would cross the internet in clear text.
    Without REPPROFILE_WEBHOOK_ALLOW_PRIVATE, send_test takes https:// URLs only."""
    monkeypatch.setattr(socket, "getaddrinfo", _resolver(PUBLIC_IP))
    r = send_test(strict_partner, "http://gh.example/v1/partner/interviews/1")
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["body", "url"]
    assert "https" in r.json()["detail"][0]["msg"]
    r = send_test(strict_partner, "https://gh.example/v1/partner/interviews/1")
    assert r.status_code == 200, r.text


def _queued_patch(p: Partner, url: str) -> None:
    """A completion PATCH row for a new order, due now."""
    with p.web.session() as s:
        order = s.query(AtsOrder).one()
        now = utcnow()
        s.add(
            Outbox(
                invitation_id=order.invitation_id,
                event="greenhouse.completed",
                url=url,
                body="",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
                auth_key_sha256=order.key_sha256,
            )
        )
        s.commit()


def test_the_patch_checks_the_address_again_when_it_is_sent(
    strict_partner: Partner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: a name public when the order was placed, private (or the cloud
    metadata address) when the PATCH goes out, is refused at delivery too."""
    p = strict_partner
    url = "https://gh.example/v1/partner/interviews/1"
    monkeypatch.setattr(socket, "getaddrinfo", _resolver(PUBLIC_IP))
    assert send_test(p, url).status_code == 200
    _queued_patch(p, url)
    monkeypatch.setattr(socket, "getaddrinfo", _resolver("169.254.169.254"))
    sent: list[str] = []

    def patch(url: str, key: str, address: str | None = None) -> tuple[int, None]:
        sent.append(url)
        return 200, None

    monkeypatch.setattr(_outbox, "_patch", patch)
    _outbox.deliver_due(p.web)
    assert sent == []
    with p.web.session() as s:
        row = s.query(Outbox).one()
        assert row.delivered_at is None
        assert row.last_error is not None
        assert "not a public one" in row.last_error


def test_the_connection_goes_to_the_address_that_was_checked(
    strict_partner: Partner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between the check at delivery and urllib's own lookup, a name can change again
    (a resolver answering public, then private): the request must connect to the very
    address that was checked."""
    p = strict_partner
    url = "https://gh.example/v1/partner/interviews/1"
    monkeypatch.setattr(socket, "getaddrinfo", _resolver(PUBLIC_IP))
    assert send_test(p, url).status_code == 200
    _queued_patch(p, url)
    answers = iter([PUBLIC_IP] + ["127.0.0.1"] * 10)
    connected: list[str] = []

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        return _resolver(next(answers))(host, port)  # type: ignore[no-any-return]

    def create_connection(address: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
        connected.append(address[0])
        raise OSError("no network in tests")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    _outbox.deliver_due(p.web)
    assert connected == [PUBLIC_IP]


# ---------------------------------------------------------------------------- personal data


def test_a_greenhouse_candidate_id_does_not_reveal_the_email(
    strict_partner: Partner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The candidate id of a Greenhouse order outlives erasure (the tombstone keeps the
    ids) and is shown to every API key: a plain SHA-256 of the address is found again
    by hashing a list of addresses. It is keyed with the server's secret key instead."""
    monkeypatch.setattr(socket, "getaddrinfo", _resolver(PUBLIC_IP))
    p = strict_partner
    address = "ann.lee@example.com"
    r = send_test(p, "https://gh.example/v1/partner/interviews/1", address)
    interview = r.json()["partner_interview_id"]
    r = p.client.delete(f"/v1/invitations/{interview}", headers={"Authorization": f"Bearer {KEY}"})
    assert r.status_code == 200
    with p.web.session() as s:
        inv = s.get(Invitation, interview)
        assert inv is not None
        assert inv.status == "erased"
        plain = hashlib.sha256(address.encode()).hexdigest()
        assert plain[:16] not in inv.candidate_id
    # repeated orders for one person still share the id
    r2 = send_test(p, "https://gh.example/v1/partner/interviews/2", address.upper())
    r3 = send_test(p, "https://gh.example/v1/partner/interviews/3", address)
    with p.web.session() as s:
        a = s.get(Invitation, r2.json()["partner_interview_id"])
        b = s.get(Invitation, r3.json()["partner_interview_id"])
        assert a is not None
        assert b is not None
        assert a.candidate_id == b.candidate_id


# ---------------------------------------------------------------------------- the secret key


def test_a_short_secret_key_is_refused() -> None:
    """REPPROFILE_SECRET_KEY signs report links: a short one is guessed offline from a
    single link (the HMAC is checkable without the server)."""
    with pytest.raises(ValidationError):
        WebSettings(secret_key="hunter2-hunter2")
    with pytest.raises(InputError) as info:
        WebSettings.from_env({"REPPROFILE_SECRET_KEY": "hunter2-hunter2"})
    assert "hunter2" not in str(info.value)  # the message never quotes the key
    WebSettings(secret_key="x" * 32)


def test_a_secret_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    """A DATA_DIR/secret.key that group or others can read (an operator's ``echo ... >``
    under umask 022) would let any local user forge report links."""
    path = tmp_path / "secret.key"
    path.write_text("ab" * 32 + "\n")
    os.chmod(path, 0o644)
    with pytest.raises(InputError, match="chmod 600"):
        secret_key_of(WebSettings(data_dir=tmp_path))
    os.chmod(path, 0o600)
    assert secret_key_of(WebSettings(data_dir=tmp_path)) == b"ab" * 32


def test_a_new_secret_key_file_is_private(tmp_path: Path) -> None:
    key = secret_key_of(WebSettings(data_dir=tmp_path / "data"))
    assert len(key) == 64
    assert (tmp_path / "data" / "secret.key").stat().st_mode & 0o077 == 0


# ---------------------------------------------------------------------------- test_status


def test_an_order_of_one_key_is_404_to_another(
    strict_partner: Partner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from .test_web_greenhouse import OTHER_GH_KEY, basic

    monkeypatch.setattr(socket, "getaddrinfo", _resolver(PUBLIC_IP))
    p = strict_partner
    interview = send_test(p, "https://gh.example/i/1").json()["partner_interview_id"]
    ok = p.client.get(BASE + "test_status", params={"partner_interview_id": interview}, headers=GH)
    assert ok.status_code == 200
    other = p.client.get(
        BASE + "test_status",
        params={"partner_interview_id": interview},
        headers=basic(OTHER_GH_KEY),
    )
    assert other.status_code == 404
    assert GH_KEY not in other.text


# ---------------------------------------------------------------------------- response_error


def test_response_error_logs_no_report_link_or_email(
    strict_partner: Partner, caplog: pytest.LogCaptureFixture
) -> None:
    """Greenhouse may quote our answer back in response_error: a report link there is a
    credential to the report, an address personal data. Neither reaches the server's log
    or the access log; the rest of the report does."""
    from sqlalchemy import select

    from repprofile.web._db import AccessLog

    link = "https://testserver/reports/inv_0123456789abcdef01234567.1900000000." + "A" * 43
    body = {
        "partner_interview_id": "inv_0123456789abcdef01234567",
        "response_body": f'{{"partner_profile_url": "{link}", "to": "ann.lee@example.com"}}',
        "error": "metadata must be flat",
    }
    with caplog.at_level("WARNING", logger="repprofile.web.greenhouse"):
        r = strict_partner.client.post(BASE + "response_error", json=body, headers=GH)
    assert r.status_code == 200
    assert "metadata must be flat" in caplog.text
    with strict_partner.web.session() as s:
        details = [a.detail or "" for a in s.scalars(select(AccessLog))]
    for text in (caplog.text, *details):
        assert "A" * 43 not in text
        assert "ann.lee@example.com" not in text


# ---------------------------------------------------------------------------- the push


def test_a_push_with_a_report_link_is_not_sent_over_plain_http(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Since issue 18 the invitation.completed body holds ats_result.result_url, a link
    that opens the report without a key: over http:// anyone on the path could read it,
    so it is null there (the scores, already in the body, are the receiver's choice of
    transport; the link is a credential the server hands out); over https:// it is sent."""
    import json as _json

    from repprofile.web._store import AnswerIn, save_answers

    monkeypatch.setattr(socket, "getaddrinfo", _resolver(PUBLIC_IP))
    for p in _partner(db_url, tmp_path, webhook_allow_private=False, webhook_secret="w" * 32):
        links = {}
        for url in ("http://hooks.example/repprofile", "https://hooks.example/repprofile"):
            body = {
                "candidate_id": "c-1",
                "questionnaire": "rep-types",
                "roles": ["escalations"],
                "callback_url": url,
            }
            r = p.client.post(
                "/v1/invitations", json=body, headers={"Authorization": f"Bearer {KEY}"}
            )
            assert r.status_code == 201, r.text
            inv_id = r.json()["invitation_id"]
            q = p.web.service.catalogue.questionnaires["rep-types"]
            with p.web.session() as s:
                inv = s.get(Invitation, inv_id)
                assert inv is not None
                rows = [AnswerIn(i, "", str(1 + n % 5)) for n, i in enumerate(q.item_ids)]
                save_answers(s, inv, q, rows)
                p.web.finish(s, inv)
                event = s.query(Outbox).filter(Outbox.invitation_id == inv_id).one()
                links[url.split(":")[0]] = _json.loads(event.body)["ats_result"]["result_url"]
        assert links["http"] is None
        assert links["https"] is not None
        assert links["https"].startswith("http://testserver/reports/")
