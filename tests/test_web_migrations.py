"""The Alembic migrations build exactly the tables the models describe, upgrading is
idempotent, and the app refuses to start on a database that is not up to date."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi.testclient import TestClient
from sqlalchemy import inspect

from repprofile._errors import InputError
from repprofile.server import ServerSettings
from repprofile.web import WebSettings, create_web_app
from repprofile.web._db import Base, current_revision, head_revision, make_engine, upgrade

if TYPE_CHECKING:
    from ._webdb import PgCluster


TABLES = {
    "alembic_version",
    "invitations",
    "answers",
    "results",
    "webhook_outbox",
    "access_log",
    "email_outbox",
    "ats_orders",
}


@pytest.fixture
def empty_url(db_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """An EMPTY database (no migration run yet): a SQLite file in a folder that does not
    exist yet, or a new database of the session's PostgreSQL cluster."""
    if db_kind == "sqlite":
        return f"sqlite:///{tmp_path / 'new' / 'r.db'}"  # the folder is created
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    return cluster.create_database()


def test_the_migrations_match_the_models_and_upgrading_twice_changes_nothing(
    empty_url: str, db_kind: str
) -> None:
    engine = make_engine(empty_url)
    try:
        assert current_revision(engine) is None
        assert upgrade(engine) == (None, head_revision())
        assert upgrade(engine) == (head_revision(), head_revision())
        with engine.connect() as conn:
            assert conn.dialect.name == db_kind
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
            assert diff == []
            assert set(inspect(conn).get_table_names()) == TABLES
    finally:
        engine.dispose()


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        upgrade(engine)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    finally:
        engine.dispose()


def test_the_app_does_not_start_on_a_database_that_is_not_upgraded(empty_url: str) -> None:
    engine = make_engine(empty_url)
    app = create_web_app(
        ServerSettings(api_keys=("k" * 32,)), WebSettings(database_url=empty_url), engine=engine
    )
    with (
        pytest.raises(InputError, match=r"needs 0002: run 'repprofile db upgrade'"),
        TestClient(app),
    ):
        pass
    engine.dispose()


def test_db_upgrade_creates_the_database_then_says_it_is_up_to_date(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from repprofile import cli

    monkeypatch.delenv("REPPROFILE_DATABASE_URL", raising=False)
    data = tmp_path / "data"
    assert cli.main(["db", "upgrade", "--data-dir", str(data)]) == 0
    assert capsys.readouterr().out == (
        f"the SQLite database in {data}: migration (empty) -> {head_revision()}\n"
    )
    assert (data / "repprofile.db").is_file()
    assert cli.main(["db", "upgrade", "--data-dir", str(data)]) == 0
    assert capsys.readouterr().out == (
        f"the SQLite database in {data} is up to date (migration {head_revision()})\n"
    )
