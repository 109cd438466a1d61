"""Shared fixtures: the R reference data of tests/reference (made by make_reference.R)."""

from __future__ import annotations

import csv
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from numpy.typing import NDArray

import repprofile

if TYPE_CHECKING:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient
    from sqlalchemy import Engine

    from ._webdb import PgCluster

# The helpers of the server tests assert; show their values on failure as in a test module.
pytest.register_assert_rewrite("tests._server_helpers")

REFERENCE = Path(__file__).parent / "reference"

# A small questionnaire used by several test modules: 2 scales x 3 items, 1-5, one
# reverse-keyed item per scale.
MINI_YAML = """\
id: mini
version: "1.0"
title: Mini
response_scale: {min: 1, max: 5}
scales:
  - {id: alpha, name: Alpha}
  - {id: beta, name: Beta}
items:
  - {id: a1, text: A1, scale: alpha}
  - {id: a2, text: A2, scale: alpha, keyed: -1}
  - {id: a3, text: A3, scale: alpha}
  - {id: b1, text: B1, scale: beta}
  - {id: b2, text: B2, scale: beta}
  - {id: b3, text: B3, scale: beta, keyed: -1}
"""


def read_table(name: str) -> tuple[list[str], list[list[str]]]:
    """A reference CSV as (header, rows of strings)."""
    with (REFERENCE / name).open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def read_matrix(name: str) -> tuple[list[str], list[str], NDArray[np.float64]]:
    """A reference CSV whose first column labels rows: (header, row labels, floats; '' = NaN)."""
    header, rows = read_table(name)
    values = np.array([[float(v) if v != "" else np.nan for v in r[1:]] for r in rows])
    return header[1:], [r[0] for r in rows], values


def read_long(name: str) -> dict[tuple[str, ...], float]:
    """A long-format reference CSV: key columns then a final 'value' column."""
    _, rows = read_table(name)
    return {tuple(r[:-1]): (float(r[-1]) if r[-1] != "" else np.nan) for r in rows}


@pytest.fixture(scope="session")
def bfi() -> repprofile.Questionnaire:
    return repprofile.load_questionnaire(REFERENCE / "bfi.yaml")


@pytest.fixture(scope="session")
def bfi_answers(bfi: repprofile.Questionnaire) -> repprofile.AnswerSet:
    return repprofile.read_answers(REFERENCE / "bfi.csv", bfi)


# Every path of the HTTP API (tests/test_server*.py): the OpenAPI document lists exactly these.
API_PATHS = frozenset(
    {
        "/v1/health",
        "/v1/questionnaires",
        "/v1/questionnaires/{questionnaire_id}",
        "/v1/roles",
        "/v1/roles/{role_id}",
        "/v1/score",
        "/v1/fit",
        "/v1/rank",
        "/v1/chart",
        "/v1/report",
    }
)
# what `repprofile serve` serves besides: the invitations API of the web assessment
INVITATION_PATHS = frozenset(
    {
        "/v1/invitations",
        "/v1/invitations/{invitation_id}",
        "/v1/invitations/{invitation_id}/withdraw",
        "/v1/invitations/{invitation_id}/report",
        "/v1/invitations/{invitation_id}/chart",
        "/v1/invitations/{invitation_id}/report-link",
    }
)


# The in-process apps of tests/test_server_*.py (one per test module). FastAPI is imported
# only when a test asks for them.


@pytest.fixture(scope="module")
def app() -> FastAPI:
    """The app of the server tests: two keys, at most 30 candidates per request."""
    from repprofile.server import ServerSettings, create_app

    from ._server_helpers import KEY, KEY2, MAX_CANDIDATES

    return create_app(ServerSettings(api_keys=(KEY, KEY2), max_candidates=MAX_CANDIDATES))


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module")
def small() -> Iterator[TestClient]:
    """An app with a 1000-byte body limit and at most 2 candidates per request."""
    from fastapi.testclient import TestClient

    from repprofile.server import ServerSettings, create_app

    from ._server_helpers import KEY

    app = create_app(ServerSettings(api_keys=(KEY,), max_body_bytes=1000, max_candidates=2))
    with TestClient(app) as c:
        yield c


# --------------------------------------------------------------------------- web assessment
# The databases of the web-assessment tests (tests/_webdb.py): ``db_url`` runs a test on a
# fresh SQLite file and on a fresh database of a throwaway PostgreSQL cluster (started once
# per session). PostgreSQL binaries missing is a failure (install Debian's postgresql) unless
# REPPROFILE_TEST_POSTGRES=0.

WEB_KEY = "k" * 32
WEB_AUTH = {"Authorization": f"Bearer {WEB_KEY}"}


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """A PostgreSQL cluster for the whole session (socket only), stopped at the end."""
    from ._webdb import INSTALL_HINT, PgCluster, postgres_bin, postgres_disabled

    if postgres_disabled():
        pytest.skip("REPPROFILE_TEST_POSTGRES=0: PostgreSQL tests turned off")
    bindir = postgres_bin()
    if bindir is None:
        pytest.fail(INSTALL_HINT, pytrace=False)
    cluster = PgCluster(bindir)
    try:
        cluster.start()
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        log = cluster.log()
        cluster.stop()
        pytest.fail(f"could not start a PostgreSQL cluster: {exc}\n{log}", pytrace=False)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_kind(request: pytest.FixtureRequest) -> str:
    """Which database a web test runs on."""
    kind: str = request.param
    return kind


@pytest.fixture
def db_url(db_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A fresh database at the newest migration: a SQLite file in tmp_path, or a new
    database ``test_N`` of the session's PostgreSQL cluster."""
    from repprofile.web._db import make_engine, upgrade

    from ._webdb import sqlite_url

    if db_kind == "sqlite":
        url = sqlite_url(tmp_path / "web.db")
    else:
        cluster: PgCluster = request.getfixturevalue("pg_cluster")
        url = cluster.create_database()
    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    return url


@pytest.fixture
def web_engine(db_url: str) -> Iterator[Engine]:
    """An engine on ``db_url`` (disposed after the test)."""
    from repprofile.web._db import make_engine

    engine = make_engine(db_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def web_app(db_url: str, web_engine: Engine) -> FastAPI:
    """The whole server (scoring API + web assessment) on ``db_url``; key ``"k" * 32``,
    links under http://testserver."""
    from repprofile.server import ServerSettings
    from repprofile.web import WebSettings, create_web_app

    return create_web_app(
        ServerSettings(api_keys=(WEB_KEY,)),
        WebSettings(database_url=db_url, public_url="http://testserver"),
        engine=web_engine,
    )


@pytest.fixture
def web_client(web_app: FastAPI) -> Iterator[TestClient]:
    """A TestClient of ``web_app`` (named so as not to clash with the scoring ``client``)."""
    from fastapi.testclient import TestClient

    with TestClient(web_app) as c:
        yield c
