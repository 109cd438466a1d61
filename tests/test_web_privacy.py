"""Accepting the privacy notice starts the invitation, and never undoes a close that was
committed meanwhile (an erase or withdrawal between the page's read and its write)."""

from __future__ import annotations

import datetime as dt

import pytest

pytest.importorskip("sqlalchemy")

from sqlalchemy import Engine

from repprofile.server import ServerSettings
from repprofile.server._service import Service
from repprofile.web._db import Invitation, as_utc
from repprofile.web._service import WebService
from repprofile.web._settings import WebSettings
from repprofile.web._store import NewInvitation, accept_privacy, create_invitation, erase

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def web(db_url: str, web_engine: Engine) -> WebService:
    return WebService(WebSettings(database_url=db_url), Service(ServerSettings()), web_engine)


def _invite(web: WebService) -> str:
    q = web.service.catalogue.questionnaires["rep-types"]
    with web.session() as s:
        inv, _, _ = create_invitation(s, NewInvitation("cand-1", q, ()), "test", now=T0)
        return inv.id


def test_accepting_the_notice_starts_the_invitation_once(web: WebService) -> None:
    inv_id = _invite(web)
    with web.session() as s:
        inv = s.get(Invitation, inv_id)
        assert inv is not None
        assert inv.status == "created"
        assert accept_privacy(s, inv, "candidate", T0 + dt.timedelta(minutes=5))
        assert inv.status == "started"
        assert as_utc(inv.started_at) == T0 + dt.timedelta(minutes=5)
        assert as_utc(inv.privacy_accepted_at) == T0 + dt.timedelta(minutes=5)
        # a second acceptance (another tab) keeps the first times
        assert accept_privacy(s, inv, "candidate", T0 + dt.timedelta(minutes=9))
        assert as_utc(inv.started_at) == T0 + dt.timedelta(minutes=5)
        assert as_utc(inv.updated_at) == T0 + dt.timedelta(minutes=9)


def test_an_erase_committed_meanwhile_is_not_undone(web: WebService) -> None:
    inv_id = _invite(web)
    with web.session() as page, web.session() as admin:
        stale = page.get(Invitation, inv_id)  # the page read the row: still 'created'
        assert stale is not None
        assert stale.status == "created"
        fresh = admin.get(Invitation, inv_id)
        assert fresh is not None
        erase(admin, fresh, "api:test")
        assert not accept_privacy(page, stale, "candidate", T0 + dt.timedelta(minutes=5))
    with web.session() as s:
        inv = s.get(Invitation, inv_id)
        assert inv is not None
        assert (inv.status, inv.started_at, inv.privacy_accepted_at) == ("erased", None, None)
        assert inv.answered == 0
