"""The web assessment's commands (repprofile/cli/_web.py): invite, invitations list,
results export and purge, on SQLite and on PostgreSQL (the ``db_url`` fixture of
tests/conftest.py)."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("sqlalchemy")
pytest.importorskip("fastapi")

from sqlalchemy import select

from repprofile.cli import main
from repprofile.cli._web import INVITATION_STATUSES, duration
from repprofile.server import ServerSettings
from repprofile.server._service import Service
from repprofile.web import WebSettings
from repprofile.web._db import AccessLog, Answer, Invitation, Result, as_utc, make_engine
from repprofile.web._service import WebService
from repprofile.web._store import (
    STATUSES,
    AnswerIn,
    NewInvitation,
    create_invitation,
    find_by_token,
    save_answers,
)

PUBLIC = "https://assess.example.com"


@pytest.fixture(scope="module")
def service() -> Iterator[Service]:
    svc = Service(ServerSettings())
    yield svc
    svc.render_pool.close()


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "REPPROFILE_DATABASE_URL",
        "REPPROFILE_DATA_DIR",
        "REPPROFILE_WEBHOOK_SECRET",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REPPROFILE_PUBLIC_URL", PUBLIC)


@pytest.fixture
def db(db_url: str) -> list[str]:
    """The database options of the commands (SQLite and PostgreSQL, tests/conftest.py)."""
    assert main(["db", "upgrade", "--database-url", db_url]) == 0
    return ["--database-url", db_url]


@pytest.fixture
def web(db: list[str], service: Service) -> Iterator[WebService]:
    option, value = db
    if option == "--data-dir":
        ws = WebSettings(data_dir=Path(value), public_url=PUBLIC, outbox=False)
    else:
        ws = WebSettings(database_url=value, public_url=PUBLIC, outbox=False)
    w = WebService(ws, service, make_engine(ws.url))
    yield w
    w.engine.dispose()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse's usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def answers_of(k: int, items: tuple[str, ...]) -> list[int]:
    """Candidate k's answers: a different pattern per candidate, 1 to 5."""
    return [1 + (i * (k + 2) + k * k) % 5 for i in range(len(items))]


def invite(
    web: WebService, candidate: str, now: dt.datetime | None = None, roles: tuple[str, ...] = ()
) -> Invitation:
    q = web.service.catalogue.questionnaires["rep-types"]
    with web.session() as s:
        inv, _, _ = create_invitation(
            s, NewInvitation(candidate_id=candidate, questionnaire=q, roles=roles), "test", now=now
        )
        return inv


def answer(web: WebService, inv: Invitation, values: list[int], finish: bool) -> None:
    q = web.service.catalogue.questionnaires["rep-types"]
    with web.session() as s:
        inv = s.get(Invitation, inv.id)  # type: ignore[assignment]
        rows = [AnswerIn(item, "", str(v)) for item, v in zip(q.item_ids, values, strict=False)]
        save_answers(s, inv, q, rows)
        if finish:
            web.finish(s, inv)


# ---------------------------------------------------------------------------- options


def test_status_choices_are_the_stores() -> None:
    assert INVITATION_STATUSES == STATUSES


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", dt.timedelta(days=7)),
        ("12h", dt.timedelta(hours=12)),
        ("90m", dt.timedelta(minutes=90)),
        ("180D", dt.timedelta(days=180)),
    ],
)
def test_duration(text: str, expected: dt.timedelta) -> None:
    assert duration(text) == expected


@pytest.mark.parametrize("text", ["7", "d", "2w", "0d", "-3d", "1.5d", ""])
def test_duration_refuses(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="7d, 12h or 90m"):
        duration(text)


# ---------------------------------------------------------------------------- invite


def test_invite_prints_a_working_link(
    db: list[str], web: WebService, capsys: pytest.CaptureFixture[str]
) -> None:
    before = dt.datetime.now(dt.UTC)
    code, out, err = run(
        capsys,
        "invite",
        "ats-42",
        "-q",
        "rep-types",
        "--role",
        "escalations",
        "--role",
        "retention",
        "--expires",
        "7d",
        "--metadata",
        "req=R-9",
        "--metadata",
        "team=north=east",
        *db,
    )
    after = dt.datetime.now(dt.UTC)
    assert code == 0
    (url,) = out.splitlines()
    assert url.startswith(PUBLIC + "/take/")
    token = url.rsplit("/", 1)[1]
    assert len(token) == 22
    with web.session() as s:
        inv = find_by_token(s, token)
        assert inv is not None
        assert inv.id in err
        assert inv.candidate_id == "ats-42"
        assert inv.roles == ["escalations", "retention"]
        assert inv.meta == {"req": "R-9", "team": "north=east"}
        assert inv.status == "created"
        assert inv.total == 80
        expires = as_utc(inv.expires_at)
        assert expires is not None
        assert before + dt.timedelta(days=7) <= expires <= after + dt.timedelta(days=7)
        log = list(s.scalars(select(AccessLog).where(AccessLog.invitation_id == inv.id)))
        assert [(r.actor, r.action) for r in log] == [("cli", "invitation.create")]


def test_invite_json(db: list[str], web: WebService, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "invite", "c-1", "-q", "rep-types", "--format", "json", *db)
    assert code == 0
    doc = json.loads(out)
    assert set(doc) == {"invitation_id", "url", "status", "expires_at", "created_at"}
    assert doc["status"] == "created"
    created = dt.datetime.fromisoformat(doc["created_at"])
    assert dt.datetime.fromisoformat(doc["expires_at"]) - created == dt.timedelta(days=14)
    with web.session() as s:
        inv = find_by_token(s, doc["url"].rsplit("/", 1)[1])
        assert inv is not None
        assert inv.id == doc["invitation_id"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-q", "nope"], "unknown questionnaire 'nope'"),
        (["-q", "rep-types", "--role", "escalations-sjt"], "unknown role 'escalations-sjt'"),
        (["-q", "rep-types", "--norms", "nope"], "unknown norm table 'nope'"),
        (["-q", "rep-types", "--expires", "400d"], "at most 366d"),
        (["-q", "rep-types", "--callback-url", "ftp://x.example"], "http:// or https://"),
        (["-q", "rep-types", "--callback-url", "https://x.example/h"], "REPPROFILE_WEBHOOK_SECRET"),
        (["-q", "rep-types", "--locale", "not a locale"], "locale"),
    ],
)
def test_invite_usage_errors(
    db: list[str],
    web: WebService,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    code, out, err = run(capsys, "invite", "c-1", *argv, *db)
    assert code == 2
    assert out == ""
    assert message in err
    with web.session() as s:
        assert s.scalars(select(Invitation)).first() is None


def test_a_database_without_tables_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REPPROFILE_DATABASE_URL", raising=False)
    code, out, err = run(capsys, "invitations", "list", "--data-dir", str(tmp_path / "empty"))
    assert out == ""
    assert code == 2
    assert "'repprofile db upgrade'" in err
    assert "no database in" in err
    assert not (tmp_path / "empty").exists()  # nothing created by a command that failed
    # a database file without tables (an interrupted upgrade, say)
    (tmp_path / "bare").mkdir()
    (tmp_path / "bare" / "repprofile.db").write_bytes(b"")
    code, out, err = run(capsys, "invitations", "list", "--data-dir", str(tmp_path / "bare"))
    assert code == 2
    assert "run 'repprofile db upgrade'" in err


# ---------------------------------------------------------------------------- list


def test_list_and_status(
    db: list[str], web: WebService, capsys: pytest.CaptureFixture[str]
) -> None:
    q = web.service.catalogue.questionnaires["rep-types"]
    a = invite(web, "cand-a")
    b = invite(web, "cand-b")
    c = invite(web, "cand-c")
    answer(web, b, answers_of(1, q.item_ids)[:10], finish=False)
    answer(web, c, answers_of(2, q.item_ids), finish=True)
    code, out, _ = run(capsys, "invitations", "list", *db)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        "INVITATION",
        "CANDIDATE",
        "QUESTIONNAIRE",
        "STATUS",
        "ANSWERED",
        "UPDATED",
    ]
    rows = [line.split()[:5] for line in lines[1:]]
    assert rows == [  # oldest change first
        [a.id, "cand-a", "rep-types", "created", "0/80"],
        [b.id, "cand-b", "rep-types", "started", "10/80"],
        [c.id, "cand-c", "rep-types", "completed", "80/80"],
    ]
    code, out, _ = run(
        capsys, "invitations", "list", "--status", "started", "--format", "json",
        *db,
    )  # fmt: skip
    docs = json.loads(out)["invitations"]
    assert [(d["invitation_id"], d["progress"]) for d in docs] == [
        (b.id, {"answered": 10, "total": 80})
    ]
    code, out, _ = run(
        capsys, "invitations", "list", "--limit", "2", "--format", "json",
        *db,
    )  # fmt: skip
    assert [d["invitation_id"] for d in json.loads(out)["invitations"]] == [a.id, b.id]
    code, _, err = run(capsys, "invitations", "list", "--status", "done")
    assert code == 2
    assert "invalid choice: 'done'" in err
    with web.session() as s:
        actions = [r.action for r in s.scalars(select(AccessLog).where(AccessLog.actor == "cli"))]
    assert actions == ["invitation.list"] * 3


# ---------------------------------------------------------------------------- export


@pytest.fixture
def completed(web: WebService, tmp_path: Path) -> tuple[list[Invitation], Path]:
    """Three completed invitations (and one only started), and the answers file of the
    completed ones as `repprofile score` reads it."""
    q = web.service.catalogue.questionnaires["rep-types"]
    invs = []
    for k, cid in enumerate(["zoe", "adam", "mia"]):
        inv = invite(web, cid, roles=("escalations",))
        answer(web, inv, answers_of(k, q.item_ids), finish=True)
        invs.append(inv)
    started = invite(web, "half")
    answer(web, started, answers_of(7, q.item_ids)[:40], finish=False)
    path = tmp_path / "answers.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["candidate_id", *q.item_ids])
        for k, inv in enumerate(invs):
            w.writerow([inv.candidate_id, *answers_of(k, q.item_ids)])
    return invs, path


def test_export_csv_equals_score_csv(
    db: list[str],
    completed: tuple[list[Invitation], Path],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    _, answers = completed
    code, expected, _ = run(capsys, "score", str(answers), "-q", "rep-types", "--format", "csv")
    assert code == 0
    code, out, _ = run(capsys, "results", "export", "--format", "csv", *db)
    assert code == 0
    assert out == expected
    assert [r.split(",")[0] for r in out.splitlines()[1:]] == ["zoe", "adam", "mia"]
    target = tmp_path / "out.csv"
    code, out, _ = run(
        capsys, "results", "export", "--format", "csv", "-o", str(target),
        *db,
    )  # fmt: skip
    assert out == ""
    assert target.read_text(encoding="utf-8") == expected


def test_export_json_and_ndjson(
    db: list[str], completed: tuple[list[Invitation], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, answers = completed
    _, score_json, _ = run(capsys, "score", str(answers), "-q", "rep-types", "--format", "json")
    code, out, _ = run(capsys, "results", "export", "--format", "json", *db)
    assert code == 0
    got, expected = json.loads(out), json.loads(score_json)
    got.pop("provenance")
    expected.pop("provenance")
    assert got == expected
    _, score_nd, _ = run(capsys, "score", str(answers), "-q", "rep-types", "--format", "ndjson")
    code, out, _ = run(capsys, "results", "export", "--format", "ndjson", *db)
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 3  # one line per candidate
    assert [json.loads(line)["candidate_id"] for line in lines] == ["zoe", "adam", "mia"]
    assert lines == score_nd.splitlines()[:3]  # score adds a summary line at the end


def test_export_since_and_questionnaire(
    db: list[str], completed: tuple[list[Invitation], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).date().isoformat()
    code, out, err = run(
        capsys, "results", "export", "--format", "ndjson", "--since", future,
        *db,
    )  # fmt: skip
    assert code == 0
    assert out == ""
    assert "no completed invitations" in err
    code, out, _ = run(
        capsys, "results", "export", "--format", "ndjson", "--since", "2020-01-01",
        "-q", "rep-types", *db,
    )  # fmt: skip
    assert len(out.splitlines()) == 3
    code, _, err = run(
        capsys, "results", "export", "--format", "csv", "--since", "yesterday",
        *db,
    )  # fmt: skip
    assert code == 2
    assert "expected a date such as 2027-01-31" in err


# ---------------------------------------------------------------------------- purge


def test_purge_counts(db: list[str], web: WebService, capsys: pytest.CaptureFixture[str]) -> None:
    q = web.service.catalogue.questionnaires["rep-types"]
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=200)
    old_done = invite(web, "old-1", now=long_ago)
    answer(web, old_done, answers_of(0, q.item_ids), finish=True)
    old_started = invite(web, "old-2", now=long_ago)
    answer(web, old_started, answers_of(1, q.item_ids)[:5], finish=False)
    invite(web, "old-3", now=long_ago)  # never opened
    recent = invite(web, "new-1", now=dt.datetime.now(dt.UTC) - dt.timedelta(days=170))
    answer(web, recent, answers_of(2, q.item_ids), finish=True)

    code, out, _ = run(capsys, "purge", "--older-than", "180d", *db)
    assert code == 0
    assert out.startswith("erased 3 invitation(s), 85 answer(s) and 1 result(s) of invitations")
    with web.session() as s:
        statuses = {i.candidate_id: i.status for i in s.scalars(select(Invitation))}
        assert statuses == {
            "old-1": "erased",
            "old-2": "erased",
            "old-3": "erased",
            "new-1": "completed",
        }
        assert {a.invitation_id for a in s.scalars(select(Answer))} == {recent.id}
        assert [r.invitation_id for r in s.scalars(select(Result))] == [recent.id]
        purges = list(s.scalars(select(AccessLog).where(AccessLog.action == "purge")))
        assert [(r.actor, json.loads(r.detail or "")) for r in purges] == [
            ("cli", {"answers": 85, "invitations": 3, "results": 1})
        ]
    code, out, _ = run(capsys, "purge", "--older-than", "180d", "--format", "json", *db)
    assert code == 0
    doc: dict[str, Any] = json.loads(out)
    assert (doc["invitations"], doc["answers"], doc["results"]) == (0, 0, 0)
    code, _, err = run(capsys, "purge", *db)
    assert code == 2
    assert "--older-than" in err


def test_a_candidate_completed_twice_is_rejected_as_score_rejects_it(
    db: list[str], web: WebService, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    q = web.service.catalogue.questionnaires["rep-types"]
    for k in (0, 1):
        answer(web, invite(web, "twice"), answers_of(k, q.item_ids), finish=True)
    answer(web, invite(web, "once"), answers_of(2, q.item_ids), finish=True)
    path = tmp_path / "answers.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["candidate_id", *q.item_ids])
        for k, cid in enumerate(["twice", "twice", "once"]):
            w.writerow([cid, *answers_of(k, q.item_ids)])
    code, expected, _ = run(capsys, "score", str(path), "-q", "rep-types", "--format", "csv")
    assert code == 1
    code, out, err = run(capsys, "results", "export", "--format", "csv", *db)
    assert code == 1
    assert out == expected
    assert "1 of 2 candidates rejected" in err
