"""``repprofile serve`` and the worker factory ``repprofile.server._app:app_from_env``: the
options reach every worker as REPPROFILE_* environment variables.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from repprofile.cli import _main as _cli
from repprofile.server import ServerSettings

from ._server_helpers import KEY, KEY2, answers, body, cand, post


def test_app_from_env_is_the_factory_of_the_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    from repprofile.server._app import app_from_env

    for name in SERVE_VARS:
        monkeypatch.setenv(name, "")
    monkeypatch.setenv("REPPROFILE_API_KEYS", KEY)
    monkeypatch.setenv("REPPROFILE_MAX_CANDIDATES", "1")
    thresholds = gc.get_threshold()
    try:
        factory_app = app_from_env()
        assert gc.get_freeze_count() > 0  # start-up objects are out of the collector's sight
        assert gc.get_threshold() == (20_000, 50, 100)
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
    with TestClient(factory_app) as c:
        r = post(c, "/v1/score", body([cand("a", answers()), cand("b", answers())]))
        assert r.status_code == 413
        assert "at most 1 per request" in r.json()["detail"]


SERVE_VARS = (
    "REPPROFILE_API_KEYS",
    "REPPROFILE_API_KEY_FILE",
    "REPPROFILE_MAX_BODY_BYTES",
    "REPPROFILE_MAX_CANDIDATES",
    "REPPROFILE_CORS_ORIGINS",
    "REPPROFILE_DOCS",
    "REPPROFILE_PUBLIC_DOCS",
    "REPPROFILE_MAX_HEADER_BYTES",
    "REPPROFILE_MAX_HEADERS",
    "REPPROFILE_HEADER_TIMEOUT",
    "REPPROFILE_BODY_TIMEOUT",
    "REPPROFILE_KEEP_ALIVE_TIMEOUT",
    "REPPROFILE_LIMIT_CONCURRENCY",
    "REPPROFILE_BACKLOG",
    "REPPROFILE_DATABASE_URL",
    "REPPROFILE_DATA_DIR",
    "REPPROFILE_PUBLIC_URL",
    "REPPROFILE_WEBHOOK_SECRET",
    "REPPROFILE_SECURE_COOKIES",
    "REPPROFILE_AUTO_UPGRADE",
    "REPPROFILE_TOKEN_GUESS_LIMIT",
    "REPPROFILE_OUTBOX",
)


@pytest.fixture
def serve_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[dict[str, Any]]:
    """Blank REPPROFILE_* variables (restored afterwards, whatever serve sets), the web
    assessment's data directory in ``tmp_path / "data"``, and a fake uvicorn.run that
    records its arguments."""
    import uvicorn

    for name in SERVE_VARS:
        monkeypatch.setenv(name, "")
    monkeypatch.setenv("REPPROFILE_DATA_DIR", str(tmp_path / "data"))
    calls: list[dict[str, Any]] = []

    def fake_run(app: str, **kwargs: Any) -> None:
        calls.append({"app": app, **kwargs})

    monkeypatch.setattr(uvicorn, "run", fake_run)
    return calls


def test_serve_hands_its_options_to_the_workers_as_environment(
    serve_env: list[dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from uvicorn.config import LOGGING_CONFIG

    key_file = tmp_path / "keys.txt"
    key_file.write_text(KEY2 + "\n", encoding="utf-8")
    argv = ["serve", "--key-file", str(key_file), "--max-body-bytes", "4096"]
    argv += ["--max-candidates", "7", "--cors-origin", "https://ats.example"]
    argv += ["--cors-origin", "https://hr.example", "--no-docs", "--port", "8123"]
    argv += ["--log-level", "debug", "--workers", "2"]
    assert _cli.main(argv) == 0
    # 127.0.0.1: no warning; the new database is created before the workers start
    assert capsys.readouterr().err == "repprofile: database: migration (empty) -> 0002\n"
    [call] = serve_env
    assert call["app"] == "repprofile.web._app:web_app_from_env"
    assert call["factory"] is True
    assert (call["host"], call["port"], call["workers"]) == ("127.0.0.1", 8123, 2)
    assert call["access_log"] is True
    assert call["log_config"]["loggers"]["repprofile"]["level"] == "DEBUG"
    assert "repprofile" not in LOGGING_CONFIG["loggers"]  # uvicorn's default is not changed
    assert ServerSettings.from_env() == ServerSettings(
        key_file=key_file,
        max_body_bytes=4096,
        max_candidates=7,
        cors_origins=("https://ats.example", "https://hr.example"),
        docs=False,
    )
    # the web assessment: links on the address served, the database upgraded before start
    from repprofile.web import WebSettings
    from repprofile.web._db import current_revision, head_revision, make_engine

    web = WebSettings.from_env()
    assert web == WebSettings(data_dir=tmp_path / "data", public_url="http://127.0.0.1:8123")
    engine = make_engine(web.url)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_serve_without_a_key_exits_2_before_starting(
    serve_env: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cli.main(["serve"]) == 2
    assert "no API key is configured" in capsys.readouterr().err
    assert serve_env == []


def test_serve_with_a_short_key_exits_2_without_showing_it(
    serve_env: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("REPPROFILE_API_KEYS", f"{KEY},tiny-secret")
    assert _cli.main(["serve"]) == 2
    err = capsys.readouterr().err
    assert "REPPROFILE_API_KEYS key 2: an API key must be at least 16 characters" in err
    assert "tiny-secret" not in err
    assert KEY not in err
    assert serve_env == []


def test_serve_warns_when_listening_beyond_this_machine(
    serve_env: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("REPPROFILE_API_KEYS", KEY)
    assert _cli.main(["serve", "--host", "0.0.0.0", "--log-level", "warning"]) == 0
    assert "listening on 0.0.0.0" in capsys.readouterr().err
    [call] = serve_env
    assert call["access_log"] is False
    assert call["log_config"]["loggers"]["repprofile"]["level"] == "WARNING"


def test_serve_hands_the_transport_limits_to_uvicorn_and_the_workers(
    serve_env: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from repprofile.server._protocol import LimitedHttpToolsProtocol

    monkeypatch.setenv("REPPROFILE_API_KEYS", KEY)
    monkeypatch.setenv("REPPROFILE_BACKLOG", "64")  # from the environment
    for name in ("REPPROFILE_MAX_HEADERS", "REPPROFILE_LIMIT_CONCURRENCY"):
        monkeypatch.setenv(name, "")
    argv = ["serve", "--max-header-bytes", "4096", "--max-headers", "30"]
    argv += ["--header-timeout", "2.5", "--body-timeout", "7", "--keep-alive-timeout", "3"]
    argv += ["--limit-concurrency", "12"]
    assert _cli.main(argv) == 0
    [call] = serve_env
    assert call["http"] is LimitedHttpToolsProtocol
    assert call["h11_max_incomplete_event_size"] == 4096
    assert (call["timeout_keep_alive"], call["backlog"]) == (3, 64)
    assert call["limit_concurrency"] is None  # the protocol answers it, in JSON
    access = call["log_config"]["loggers"]["uvicorn.access"]
    assert access["filters"] == ["no_query"]
    assert call["log_config"]["filters"]["no_query"]["()"].endswith("NoQueryFilter")
    st = ServerSettings.from_env()  # what every worker reads
    assert (st.max_header_bytes, st.max_headers, st.limit_concurrency) == (4096, 30, 12)
    assert (st.header_timeout, st.body_timeout, st.keep_alive_timeout) == (2.5, 7.0, 3)
    assert st.backlog == 64


def test_transport_defaults() -> None:
    st = ServerSettings()
    assert (st.max_header_bytes, st.max_headers) == (16_384, 100)
    assert (st.header_timeout, st.body_timeout, st.keep_alive_timeout) == (10.0, 30.0, 5)
    assert (st.limit_concurrency, st.backlog) == (100, 2048)


@pytest.mark.parametrize("value", ["0", "-1", "nan", "soon"])
def test_serve_refuses_a_timeout_that_is_not_above_0(
    serve_env: list[dict[str, Any]], value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        _cli.main(["serve", "--header-timeout", value])
    assert exc.value.code == 2
    assert "argument --header-timeout: must be" in capsys.readouterr().err
    assert serve_env == []


def test_the_access_log_filter_drops_the_query_string() -> None:
    import logging

    from repprofile.server._transport import NoQueryFilter

    args = ("127.0.0.1:5", "GET", "/v1/roles?api_key=SECRET", "1.1", 401)
    record = logging.LogRecord("uvicorn.access", 20, "", 0, '%s - "%s %s HTTP/%s" %d', args, None)
    assert NoQueryFilter().filter(record)
    assert record.getMessage() == '127.0.0.1:5 - "GET /v1/roles HTTP/1.1" 401'


def test_docs_list_every_transport_limit_with_its_option_and_variable() -> None:
    from repprofile.cli._serve import _TRANSPORT_OPTIONS
    from repprofile.server._settings import ENV_TRANSPORT

    doc = (Path(__file__).resolve().parents[1] / "docs" / "server.md").read_text("utf-8")
    section = doc.split("### Transport limits", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    for flag, *_ in _TRANSPORT_OPTIONS:
        field = flag[2:].replace("-", "_")
        [env] = [name for name, f in ENV_TRANSPORT.items() if f == field]
        assert any(f"`{flag} " in row and f"`{env}`" in row for row in rows), flag


def test_without_httptools_serve_falls_back_to_h11_with_a_warning(
    serve_env: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import sys

    monkeypatch.setenv("REPPROFILE_API_KEYS", KEY)
    monkeypatch.delitem(sys.modules, "repprofile.server._protocol", raising=False)
    monkeypatch.setitem(sys.modules, "httptools", None)  # import httptools: ImportError
    assert _cli.main(["serve", "--limit-concurrency", "9", "--max-header-bytes", "5000"]) == 0
    assert "httptools is not installed" in capsys.readouterr().err
    [call] = serve_env
    assert call["http"] == "h11"
    assert (call["limit_concurrency"], call["h11_max_incomplete_event_size"]) == (9, 5000)


def test_render_options_set_the_drawing_workers() -> None:
    from repprofile.cli._main import build_parser
    from repprofile.cli._serve import _settings_update

    args = build_parser().parse_args(
        ["serve", "--render-workers", "3", "--render-timeout", "2.5", "--render-max-rss-mb", "300"]
    )
    update = _settings_update(args)
    assert (update["render_workers"], update["render_timeout"], update["render_max_rss_mb"]) == (
        3,
        2.5,
        300,
    )
    assert "render_workers" not in _settings_update(build_parser().parse_args(["serve"]))
    doc = (Path(__file__).resolve().parents[1] / "docs" / "server.md").read_text("utf-8")
    for flag, env in (
        ("--render-workers N", "REPPROFILE_RENDER_WORKERS"),
        ("--render-timeout S", "REPPROFILE_RENDER_TIMEOUT"),
        ("--render-max-rss-mb N", "REPPROFILE_RENDER_MAX_RSS_MB"),
    ):
        assert any(f"`{flag}`" in row and f"`{env}`" in row for row in doc.splitlines())
