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
)


@pytest.fixture
def serve_env(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Blank REPPROFILE_* variables (restored afterwards, whatever serve sets) and a fake
    uvicorn.run that records its arguments."""
    import uvicorn

    for name in SERVE_VARS:
        monkeypatch.setenv(name, "")
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
    assert capsys.readouterr().err == ""  # 127.0.0.1: no warning
    [call] = serve_env
    assert call["app"] == "repprofile.server._app:app_from_env"
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
