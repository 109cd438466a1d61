"""Two tabs finishing the same invitation at the same moment (WebService.finish in two
threads, each with its own session and connection), on SQLite and on PostgreSQL: exactly
one result and one webhook event are stored, the invitation is completed, neither caller
sees an exception, and both get the same (the stored) result document."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("sqlalchemy")
pytest.importorskip("fastapi")

from sqlalchemy import Engine, func, select

from repprofile.server import ServerSettings
from repprofile.server._service import Service
from repprofile.web import WebSettings
from repprofile.web._db import AccessLog, Invitation, Outbox, Result
from repprofile.web._service import WebService
from repprofile.web._store import AnswerIn, NewInvitation, create_invitation, save_answers

ROUNDS = 3  # a few invitations, so that the two threads meet in different orders


@pytest.fixture(scope="module")
def service() -> Iterator[Service]:
    svc = Service(ServerSettings())
    yield svc
    svc.render_pool.close()


def answered_invitation(web: WebService, candidate: str) -> str:
    """An invitation with a callback URL and every item answered (not finished yet)."""
    q = web.service.catalogue.questionnaires["rep-types"]
    with web.session() as s:
        inv, _, _ = create_invitation(
            s,
            NewInvitation(
                candidate_id=candidate,
                questionnaire=q,
                roles=("escalations",),
                callback_url="http://127.0.0.1:9/hook",
            ),
            "test",
        )
        answers = [AnswerIn(item, "", str(1 + i % 5)) for i, item in enumerate(q.item_ids)]
        save_answers(s, inv, q, answers)
        return inv.id


def finish_twice_at_once(web: WebService, invitation_id: str) -> list[Any]:
    """Both threads load the (not yet completed) invitation in their own session, wait
    for each other, then finish; each returns its document or the exception it raised."""
    barrier = threading.Barrier(2, timeout=30)
    out: list[Any] = [None, None]

    def tab(i: int) -> None:
        try:
            with web.session() as s:
                inv = s.get(Invitation, invitation_id)
                assert inv is not None
                assert inv.status == "started"
                barrier.wait()
                out[i] = web.finish(s, inv)
        except BaseException as exc:  # handed to the test to report
            out[i] = exc

    threads = [threading.Thread(target=tab, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a finish did not return in 60 s"
    return out


def test_two_finishes_at_once_store_one_result_and_one_event(
    db_url: str, web_engine: Engine, service: Service
) -> None:
    web = WebService(WebSettings(database_url=db_url, outbox=False), service, web_engine)
    for n in range(ROUNDS):
        inv_id = answered_invitation(web, f"cand-{n}")
        docs = finish_twice_at_once(web, inv_id)
        errors = [d for d in docs if isinstance(d, BaseException)]
        assert errors == []
        with web.session() as s:
            results = list(s.scalars(select(Result).where(Result.invitation_id == inv_id)))
            events = s.scalar(
                select(func.count()).select_from(Outbox).where(Outbox.invitation_id == inv_id)
            )
            inv = s.get(Invitation, inv_id)
            completions = s.scalar(
                select(func.count())
                .select_from(AccessLog)
                .where(AccessLog.invitation_id == inv_id)
                .where(AccessLog.action == "invitation.complete")
            )
        assert len(results) == 1
        assert events == 1
        assert completions == 1
        assert inv is not None
        assert inv.status == "completed"
        assert inv.completed_at is not None
        # both tabs see the result that was stored, not one each
        assert docs[0] == docs[1] == results[0].document
        assert docs[0]["score"]["profiles"][0]["candidate_id"] == f"cand-{n}"
