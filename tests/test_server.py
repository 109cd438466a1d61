"""The HTTP API (repprofile.server._app, ``repprofile serve``) through its ASGI app in-process.

Every scoring answer is checked twice: against the Python API on the same records (the
HTTP path must add nothing but ``warnings``), and against numbers worked out by hand from
questionnaires/rep-types.yaml. Each of its seven trait scales has 10 items on a 1-5 scale,
items 03, 06 and 09 reverse-keyed (an answer x counts as 1 + 5 - x); the validity scale
``impression`` has 7 items, imp03 and imp06 reverse-keyed. Attention checks att01 (expects
2), att02 (expects 5) and the infrequency item inf01 (expects 1 or 2) belong to no scale.
``pomp = 100 (mean - 1) / 4``.

* Every answer 3: every scale raw 3 n, mean 3, pomp 50 (a reversed 3 is still 3).
* Every answer 5: a trait scale 7 x 5 + 3 x 1 = 38, mean 3.8, pomp 70; impression
  5 x 5 + 2 x 1 = 27 over 7, mean 27/7, pomp 100 (27/7 - 1) / 4 = 500/7 = 71.428...
* CONTROLLER below: ctl01..ctl09 = 5, 4, 2 (rev 4), 5, 3, 1 (rev 5), 4, 5, 4 (rev 2),
  ctl10 missing: raw 37 over 9 answered, mean 37/9, pomp 100 (28/9) / 4 = 700/9 = 77.78.

Without norms the fit uses ``z = (pomp - 50) / 25``; a role weighing only controller has
composite ``C = z`` and fit ``100 / (1 + exp(-1.702 C))``: 50 for all-3 answers and, for
CONTROLLER, ``C = (700/9 - 50) / 25 = 10/9``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import anyio
import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from matplotlib.figure import Figure
from starlette.types import Message

import repprofile
from repprofile._analysis.fit import fit, fit_report, rank
from repprofile._formats.files import bundled_dir
from repprofile._rendering.charts import _figure_bytes, radar_chart
from repprofile._rendering.report import candidate_report, render_html, render_pdf
from repprofile.cli import _main as _cli
from repprofile.server import ServerSettings, create_app
from repprofile.server._http import INLINE_BODY_BYTES
from repprofile.server._schemas import FitResponse, RankResponse, ScoreResponse

from .conftest import API_PATHS

KEY = "test-key-0123456789-abcdef"
KEY2 = "second-key-ABCDEFGHIJKLMNOP"
AUTH = {"Authorization": f"Bearer {KEY}"}
UNAUTHORIZED = b'{"detail":"missing or invalid API key"}'
INTERNAL = {"detail": "internal server error"}
MAX_CANDIDATES = 30
Z90 = 1.6448536269514722  # z_crit of the default 90% interval

Q = repprofile.load_questionnaire("rep-types")
ITEMS: tuple[str, ...] = tuple(Q.item_ids)
TRAITS: tuple[str, ...] = ("accommodator", "competitor", "controller", "empathizer")
TRAITS += ("hard_worker", "innovator", "rock")
SIM_PATH = bundled_dir() / "norms" / "rep-types-simulated.json"
SIM_JSON: dict[str, Any] = json.loads(SIM_PATH.read_text(encoding="utf-8"))
SIM = repprofile.load_norms(SIM_PATH)
EXPECTED_1_5 = "expected a whole number from 1 to 5"

CONTROLLER: dict[str, int | None] = {
    "ctl01": 5,
    "ctl02": 4,
    "ctl03": 2,
    "ctl04": 5,
    "ctl05": 3,
    "ctl06": 1,
    "ctl07": 4,
    "ctl08": 5,
    "ctl09": 4,
    "ctl10": None,
}
CTL_POMP = 700.0 / 9.0
CTL_ONLY: dict[str, Any] = {
    "id": "ctl-only",
    "name": "Controller only",
    "description": "For the tests.",
    "questionnaire": "rep-types",
    "weights": {"controller": 1.0},
    "minimums": {"controller": 60.0},
    "target": {"controller": 50.0},
    "rationale": "Hand-computable.",
}


def answers(fill: int | None = 3, **override: Any) -> dict[str, Any]:
    """Every item answered ``fill``, then the overrides."""
    out: dict[str, Any] = dict.fromkeys(ITEMS, fill)
    out.update(override)
    return out


def varied(seed: int) -> dict[str, Any]:
    """Answers that vary (no straight-lining) and pass the attention checks."""
    out: dict[str, Any] = {
        item: 1 + (seed * 7 + j * 3 + (j * j) % 7) % 5 for j, item in enumerate(ITEMS)
    }
    return out | {"att01": 2, "att02": 5, "inf01": 1}


def cand(cid: Any, ans: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"candidate_id": cid, "answers": ans, **extra}


def body(candidates: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return {"questionnaire": "rep-types", "candidates": candidates, **fields}


# a = every answer 3; b = CONTROLLER, else 3; bad = an answer out of range (rejected)
ABC = [
    cand("a", answers()),
    cand("b", answers(**CONTROLLER)),
    cand("bad", answers(acc01=7)),
]


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return create_app(ServerSettings(api_keys=(KEY, KEY2), max_candidates=MAX_CANDIDATES))


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module")
def small() -> Iterator[TestClient]:
    """An app with a 1000-byte body limit and at most 2 candidates per request."""
    app = create_app(ServerSettings(api_keys=(KEY,), max_body_bytes=1000, max_candidates=2))
    with TestClient(app) as c:
        yield c


def post(client: TestClient, path: str, doc: Any, **headers: str) -> Any:
    """POST ``doc`` with the key; the response (status checked by the caller)."""
    return client.post(path, json=doc, headers={**AUTH, **headers})


def ok_json(client: TestClient, path: str, doc: Any) -> Any:
    r = post(client, path, doc)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    return r.json()


# --------------------------------------------------------------------------- settings


def test_key_digests_are_the_sha256_of_every_key(tmp_path: Path) -> None:
    key_file = tmp_path / "keys.txt"
    key_file.write_text(
        f"# API keys of the ATS\r\n\r\n  {KEY2}  \r\n#{'x' * 20}\r\n"
        "third-key-from-the-file-1\nexactly-16-chars\n",
        encoding="utf-8",
    )
    digests = ServerSettings(api_keys=(KEY,), key_file=key_file).key_digests()
    expected = [KEY, KEY2, "third-key-from-the-file-1", "exactly-16-chars"]
    assert digests == tuple(hashlib.sha256(k.encode()).digest() for k in expected)


def test_no_key_at_all_is_refused() -> None:
    with pytest.raises(repprofile.InputError, match="no API key is configured") as info:
        ServerSettings().key_digests()
    assert "REPPROFILE_API_KEYS" in str(info.value)
    with pytest.raises(repprofile.InputError, match="no API key is configured"):
        create_app(ServerSettings())


@pytest.mark.parametrize(
    ("keys", "file_text", "where", "length"),
    [
        ((KEY, "short-key-123"), None, "REPPROFILE_API_KEYS key 2", 13),
        (("with space in the key 0123",), None, "REPPROFILE_API_KEYS key 1", 26),
        ((), f"# comment\n{KEY}\n\nfile-key-15char\n", "keys.txt line 4", 15),
    ],
)
def test_a_bad_key_names_its_source_never_the_key(
    tmp_path: Path, keys: tuple[str, ...], file_text: str | None, where: str, length: int
) -> None:
    key_file = None
    if file_text is not None:
        key_file = tmp_path / "keys.txt"
        key_file.write_text(file_text, encoding="utf-8")
    settings = ServerSettings(api_keys=keys, key_file=key_file)
    with pytest.raises(repprofile.InputError) as info:
        settings.key_digests()
    message = str(info.value)
    assert where in message
    assert f"at least 16 characters without spaces or commas, got {length} characters" in message
    for secret in ("short-key-123", "with space in the key", "file-key-15char", KEY):
        assert secret not in message
    with pytest.raises(repprofile.InputError):
        create_app(settings)


@pytest.mark.parametrize(
    ("name", "reason"), [("missing.txt", "No such file or directory"), ("", "Is a directory")]
)
def test_an_unreadable_key_file_is_refused(tmp_path: Path, name: str, reason: str) -> None:
    path = tmp_path / name if name else tmp_path
    with pytest.raises(repprofile.InputError) as info:
        ServerSettings(key_file=path).key_digests()
    assert str(info.value) == f"{path}: cannot read the API key file ({reason})"


def test_a_key_file_that_is_not_utf8_is_refused_with_input_error(tmp_path: Path) -> None:
    path = tmp_path / "keys.bin"
    path.write_bytes(b"\xff\xfe" + KEY.encode())
    with pytest.raises(repprofile.InputError, match=r"keys\.bin"):
        ServerSettings(key_file=path).key_digests()


def test_a_key_file_with_a_byte_order_mark_still_works(tmp_path: Path) -> None:
    path = tmp_path / "keys.txt"
    path.write_text(KEY + "\n", encoding="utf-8-sig")
    settings = ServerSettings(key_file=path)
    assert settings.key_digests() == (hashlib.sha256(KEY.encode()).digest(),)


def test_keys_never_appear_in_repr_or_str() -> None:
    settings = ServerSettings(api_keys=(KEY, KEY2))
    assert KEY not in repr(settings)
    assert KEY2 not in repr(settings)
    assert KEY not in str(settings)
    assert KEY2 not in str(settings)


def test_from_env_reads_every_variable(tmp_path: Path) -> None:
    env = {
        "REPPROFILE_API_KEYS": f" {KEY} ,, {KEY2},",
        "REPPROFILE_API_KEY_FILE": str(tmp_path / "keys.txt"),
        "REPPROFILE_MAX_BODY_BYTES": "12345",
        "REPPROFILE_MAX_CANDIDATES": "17",
        "REPPROFILE_CORS_ORIGINS": "https://ats.example, https://hr.example",
        "REPPROFILE_DOCS": "0",
        "UNRELATED": "x",
    }
    assert ServerSettings.from_env(env) == ServerSettings(
        api_keys=(KEY, KEY2),
        key_file=tmp_path / "keys.txt",
        max_body_bytes=12345,
        max_candidates=17,
        cors_origins=("https://ats.example", "https://hr.example"),
        docs=False,
    )


def test_from_env_defaults() -> None:
    settings = ServerSettings.from_env({})
    assert settings == ServerSettings()
    assert (settings.max_body_bytes, settings.max_candidates) == (5_000_000, 10_000)
    assert (settings.api_keys, settings.key_file, settings.cors_origins) == ((), None, ())
    assert settings.docs is True


@pytest.mark.parametrize(
    ("value", "docs"),
    [("0", False), ("false", False), (" OFF ", False), ("no", False), ("1", True), ("yes", True)],
)
def test_from_env_docs_switch(value: str, docs: bool) -> None:
    assert ServerSettings.from_env({"REPPROFILE_DOCS": value}).docs is docs


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("REPPROFILE_MAX_BODY_BYTES", "5MB", "max_body_bytes: Input should be a valid integer"),
        ("REPPROFILE_MAX_CANDIDATES", "0", "max_candidates: Input should be greater than 0"),
    ],
)
def test_from_env_refuses_bad_numbers(name: str, value: str, message: str) -> None:
    with pytest.raises(repprofile.InputError, match="server settings") as info:
        ServerSettings.from_env({name: value, "REPPROFILE_API_KEYS": KEY})
    assert message in str(info.value)
    assert KEY not in str(info.value)


@pytest.mark.parametrize(
    "settings",
    [
        ServerSettings(),
        ServerSettings(api_keys=(KEY,)),
        ServerSettings(
            api_keys=(KEY, KEY2),
            key_file=Path("/etc/repprofile/keys.txt"),
            max_body_bytes=1,
            max_candidates=3,
            cors_origins=("https://ats.example", "http://localhost:3000"),
            docs=False,
        ),
    ],
)
def test_to_env_round_trips(settings: ServerSettings) -> None:
    env = settings.to_env()
    assert all(isinstance(v, str) for v in env.values())
    assert ServerSettings.from_env(env) == settings


def test_create_app_without_settings_reads_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ServerSettings().to_env():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("REPPROFILE_API_KEY_FILE", raising=False)
    monkeypatch.setenv("REPPROFILE_API_KEYS", KEY2)
    monkeypatch.setenv("REPPROFILE_DOCS", "0")
    with TestClient(create_app()) as c:
        assert c.get("/v1/roles", headers={"Authorization": f"Bearer {KEY2}"}).status_code == 200
        assert c.get("/v1/roles", headers=AUTH).status_code == 401
        assert (
            c.get("/openapi.json", headers={"Authorization": f"Bearer {KEY2}"}).status_code == 404
        )


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


# --------------------------------------------------------------------------- repprofile serve

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


# --------------------------------------------------------------------------- authentication


def test_health_needs_no_key(client: TestClient) -> None:
    r = client.get("/v1/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "version": repprofile.__version__}
    assert client.get("/v1/health", headers={"Authorization": "Bearer wrong"}).status_code == 200


AUTH_FAILURES = [
    {},
    {"Authorization": ""},
    {"Authorization": KEY},
    {"Authorization": f"Basic {KEY}"},
    {"Authorization": f"Token {KEY}"},
    {"Authorization": f"Bearer {KEY[:-1]}"},
    {"Authorization": f"Bearer {KEY}x"},
    {"Authorization": f"Bearer {KEY.upper()}"},
    {"Authorization": "Bearer "},
    {"Authorization": "Bearer"},
    {"Authorization": f"Bearer{KEY}"},
    {"Authorization": f"Bearer\t{KEY}"},
]


@pytest.mark.parametrize("headers", AUTH_FAILURES)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/roles"),
        ("GET", "/v1/questionnaires/rep-types"),
        ("GET", "/v1/no-such-endpoint"),
        ("POST", "/v1/score"),
        ("POST", "/v1/report"),
        ("DELETE", "/v1/roles"),
    ],
)
def test_every_auth_failure_gets_the_same_401(
    client: TestClient, headers: dict[str, str], method: str, path: str
) -> None:
    r = client.request(method, path, headers=headers, json=body([cand("a", answers())]))
    assert r.status_code == 401
    assert r.content == UNAUTHORIZED  # byte-identical: nothing tells a near miss apart
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.headers["content-type"] == "application/json"
    assert sorted(r.headers.keys()) == ["content-length", "content-type", "www-authenticate"]


@pytest.mark.parametrize("key", [KEY, KEY2])
@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_every_configured_key_opens_the_api(client: TestClient, key: str, scheme: str) -> None:
    r = client.get("/v1/roles", headers={"Authorization": f"{scheme} {key}"})
    assert r.status_code == 200
    assert [role["id"] for role in r.json()] == [role.id for role in repprofile.list_roles()]


def test_an_unknown_path_with_a_key_is_404(client: TestClient) -> None:
    r = client.get("/v1/no-such-endpoint", headers=AUTH)
    assert (r.status_code, r.json()) == (404, {"detail": "Not Found"})


def test_the_key_is_checked_before_the_body_is_read(small: TestClient) -> None:
    r = small.post("/v1/score", content=b"x" * 5000, headers={"Content-Type": "application/json"})
    assert (r.status_code, r.content) == (401, UNAUTHORIZED)


@pytest.mark.parametrize("path", ["/v1/score", "/v1/no-such-endpoint"])
def test_options_without_a_key_and_without_cors_is_401(client: TestClient, path: str) -> None:
    r = client.options(path)
    assert (r.status_code, r.content) == (401, UNAUTHORIZED)


def test_openapi_and_docs_need_the_key_and_declare_the_bearer_key(client: TestClient) -> None:
    assert client.get("/docs").status_code == 401
    assert client.get("/openapi.json").status_code == 401
    assert client.get("/docs", headers=AUTH).status_code == 200
    r = client.get("/openapi.json", headers=AUTH)
    assert r.status_code == 200
    schema = r.json()
    assert schema["info"]["version"] == repprofile.__version__
    assert schema["components"]["securitySchemes"]["apiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key of this server: Authorization: Bearer KEY.",
    }
    assert "CandidateReport" in schema["components"]["schemas"]
    paths = schema["paths"]
    assert set(paths) == API_PATHS
    for path, operations in paths.items():
        for op in operations.values():
            assert ("security" in op) is (path != "/v1/health"), path
    assert "413" in paths["/v1/score"]["post"]["responses"]
    assert "406" in paths["/v1/chart"]["post"]["responses"]


def test_docs_false_hides_openapi_and_docs() -> None:
    app = create_app(ServerSettings(api_keys=(KEY,), docs=False, public_docs=True))
    with TestClient(app) as c:
        assert c.get("/openapi.json", headers=AUTH).status_code == 404
        assert c.get("/docs", headers=AUTH).status_code == 404
        assert c.get("/redoc", headers=AUTH).status_code == 404
        assert c.get("/openapi.json").status_code == 401  # docs off: nothing is public
        assert c.get("/v1/roles", headers=AUTH).status_code == 200


def test_public_docs_open_the_docs_only() -> None:
    app = create_app(ServerSettings(api_keys=(KEY,), public_docs=True))
    with TestClient(app) as c:
        assert c.get("/openapi.json").status_code == 200
        assert c.get("/docs").status_code == 200
        assert c.get("/v1/roles").status_code == 401
        assert c.get("/nothing-here").status_code == 401  # unknown paths tell nothing


# --------------------------------------------------------------------------- catalogue


def test_questionnaire_list_and_detail(client: TestClient) -> None:
    r = client.get("/v1/questionnaires", headers=AUTH)
    assert r.status_code == 200
    assert r.json() == [
        {
            "id": "rep-types",
            "version": "1.1.0",
            "name": "Service Rep Types Inventory",
            "n_items": 80,
            "scales": [*TRAITS, "impression"],
            "sha256": Q.fingerprint,
        }
    ]
    r = client.get("/v1/questionnaires/rep-types", headers=AUTH)
    assert r.status_code == 200
    assert r.json() == Q.model_dump(mode="json")
    keyed = {i["id"]: i["keyed"] for i in r.json()["items"] if i["scale"] == "controller"}
    assert [k for k, v in keyed.items() if v == -1] == ["ctl03", "ctl06", "ctl09"]


def test_role_list_and_detail(client: TestClient) -> None:
    roles = repprofile.list_roles()
    r = client.get("/v1/roles", headers=AUTH)
    assert r.json() == [
        {"id": x.id, "name": x.name, "description": x.description, "questionnaire": "rep-types"}
        for x in roles
    ]
    assert len(roles) == 6
    for role in roles:
        r = client.get(f"/v1/roles/{role.id}", headers=AUTH)
        assert r.status_code == 200
        assert r.json() == role.model_dump(mode="json")
    assert client.get("/v1/roles/retention", headers=AUTH).json()["weights"]["controller"] == 0.35


@pytest.mark.parametrize(
    ("path", "detail"),
    [
        ("/v1/questionnaires/rep-typez", "no questionnaire 'rep-typez'"),
        ("/v1/roles/cashier", "no role 'cashier'"),
    ],
)
def test_unknown_catalogue_ids_are_404(client: TestClient, path: str, detail: str) -> None:
    r = client.get(path, headers=AUTH)
    assert r.status_code == 404
    assert list(r.json()) == ["detail"]
    assert r.json()["detail"].startswith(detail)


# --------------------------------------------------------------------------- /v1/score


@pytest.mark.parametrize("norms", [None, "rep-types-simulated", "object"])
def test_score_equals_the_python_api(client: TestClient, norms: str | None) -> None:
    cands = [
        *ABC,
        cand("c", varied(1), seconds=612.5),
        cand("d", varied(2), item_seconds={"acc01": 4.0, "acc02": 3.5}),
        cand("e", answers(acc01="five")),
        cand(42, varied(3)),
    ]
    doc = body(cands, ci=0.8, reliability="omega_total")
    table = None
    if norms is not None:
        doc["norms"] = SIM_JSON if norms == "object" else norms
        table = SIM
    got = ok_json(client, "/v1/score", doc)
    expected = repprofile.score(
        "rep-types", cands, norms=table, ci=0.8, reliability="omega_total"
    ).to_dict()
    assert set(got) == {"profiles", "errors", "provenance", "warnings"}
    assert {k: got[k] for k in ("profiles", "errors", "provenance")} == expected
    assert [p["candidate_id"] for p in got["profiles"]] == ["a", "b", "c", "d", "42"]
    assert [e["candidate_id"] for e in got["errors"]] == ["e", "bad"]
    assert got["provenance"]["ci_level"] == 0.8
    assert len(got["warnings"]) == (0 if norms is None else 1)
    if norms is not None:
        assert got["provenance"]["norms"]["sha256"] == SIM.fingerprint()


def test_every_answer_3_scores_mean_3_pomp_50(client: TestClient) -> None:
    got = ok_json(client, "/v1/score", body([cand("a", answers())]))
    assert got["errors"] == []
    assert got["warnings"] == []
    [profile] = got["profiles"]
    assert profile["candidate_id"] == "a"
    for sid in TRAITS:
        scale = profile["scales"][sid]
        assert (scale["raw"], scale["mean"], scale["pomp"], scale["n_answered"]) == (30, 3, 50, 10)
        assert scale["z"] is None
        assert scale["t"] is None
        assert scale["reason"] is None
    imp = profile["scales"]["impression"]
    assert (imp["raw"], imp["mean"], imp["pomp"], imp["n_answered"]) == (21, 3, 50, 7)
    # a tie on every trait: the first two scales in file order
    assert (profile["primary_type"], profile["secondary_type"]) == ("accommodator", "competitor")


def test_every_answer_5_shows_the_reverse_keyed_items(client: TestClient) -> None:
    got = ok_json(client, "/v1/score", body([cand("five", answers(5))]))
    [profile] = got["profiles"]
    for sid in TRAITS:
        scale = profile["scales"][sid]
        assert scale["raw"] == 38  # 7 x 5 + 3 reversed x 1
        assert scale["mean"] == pytest.approx(3.8, abs=1e-12)
        assert scale["pomp"] == pytest.approx(70.0, abs=1e-12)
    imp = profile["scales"]["impression"]
    assert imp["raw"] == 27  # 5 x 5 + 2 reversed x 1
    assert imp["mean"] == pytest.approx(27 / 7, abs=1e-12)
    assert imp["pomp"] == pytest.approx(500 / 7, abs=1e-12)


def test_controller_hand_worked_with_a_missing_answer(client: TestClient) -> None:
    got = ok_json(client, "/v1/score", body([cand("b", answers(**CONTROLLER))]))
    scale = got["profiles"][0]["scales"]["controller"]
    assert scale["raw"] == 37
    assert scale["n_answered"] == 9
    assert scale["mean"] == pytest.approx(37 / 9, abs=1e-12)
    assert scale["pomp"] == pytest.approx(CTL_POMP, abs=1e-12)
    assert got["profiles"][0]["primary_type"] == "controller"


def test_too_few_answers_give_null_scores_with_the_reason(client: TestClient) -> None:
    few = answers(**dict.fromkeys(("ctl05", "ctl06", "ctl07", "ctl08", "ctl09", "ctl10")))
    got = ok_json(client, "/v1/score", body([cand("few", few)]))
    scale = got["profiles"][0]["scales"]["controller"]
    assert (scale["raw"], scale["mean"], scale["pomp"], scale["n_answered"]) == (None,) * 3 + (4,)
    assert scale["reason"] == "only 4 of 10 items answered; at least 5 needed for a score"


@pytest.mark.parametrize("reliability", ["alpha", "omega_total"])
def test_norm_scores_hand_worked(client: TestClient, reliability: str) -> None:
    doc = body([cand("a", answers())], norms="rep-types-simulated", reliability=reliability)
    got = ok_json(client, "/v1/score", doc)
    scales = got["profiles"][0]["scales"]
    for sid in TRAITS:
        norm = SIM_JSON["scales"][sid]
        z = (3.0 - norm["mean"]) / norm["sd"]
        sem = norm["sd"] * math.sqrt(1.0 - norm[reliability])
        s = scales[sid]
        assert s["z"] == pytest.approx(z, rel=1e-12, abs=1e-14)
        assert s["t"] == pytest.approx(50.0 + 10.0 * z, rel=1e-12)
        assert s["sem"] == pytest.approx(sem, rel=1e-12)
        assert s["ci_low"] == pytest.approx(3.0 - Z90 * sem, rel=1e-9)
        assert s["ci_high"] == pytest.approx(3.0 + Z90 * sem, rel=1e-9)
        assert 1 <= s["sten"] <= 10
        assert 1 <= s["stanine"] <= 9


def test_simulated_norms_give_a_warning(client: TestClient) -> None:
    for norms in ("rep-types-simulated", SIM_JSON):
        got = ok_json(client, "/v1/score", body([cand("a", answers())], norms=norms))
        [warning] = got["warnings"]
        assert warning.startswith("the norm table is SIMULATED, not real people: SIMULATED")
        assert got["provenance"]["norms"]["simulated"] is True
    real = SIM_JSON | {"simulated": False, "description": "our applicants 2024"}
    got = ok_json(client, "/v1/score", body([cand("a", answers())], norms=real))
    assert got["warnings"] == []
    assert got["provenance"]["norms"]["description"] == "our applicants 2024"


def test_bad_answers_reject_only_their_candidate(client: TestClient) -> None:
    cands = [
        cand("range", answers(acc01=6)),
        cand("zero", answers(acc02=0)),
        cand("frac", answers(cmp01=2.5)),
        cand("text", answers(ctl01="five")),
        cand("digits", answers(ctl02="5")),
        cand("bool", answers(emp01=True)),
        cand("unknown", answers(zzz99=3)),
        cand("good", answers()),
    ]
    got = ok_json(client, "/v1/score", body(cands))
    assert [p["candidate_id"] for p in got["profiles"]] == ["good"]
    assert got["profiles"][0]["scales"]["rock"]["pomp"] == 50
    not_a_number = EXPECTED_1_5 + ", or blank/null for a missing answer"
    errors = {e["candidate_id"]: e for e in got["errors"]}
    assert errors == {
        "text": {
            "candidate_id": "text",
            "item_id": "ctl01",
            "value": "five",
            "message": f"answer 'five' is not a number; {not_a_number}",
        },
        "digits": {
            "candidate_id": "digits",
            "item_id": "ctl02",
            "value": "5",
            "message": f"answer '5' is not a number; {not_a_number}",
        },
        "bool": {
            "candidate_id": "bool",
            "item_id": "emp01",
            "value": True,
            "message": f"answer True is not a number; {not_a_number}",
        },
        "unknown": {
            "candidate_id": "unknown",
            "item_id": "zzz99",
            "value": 3,
            "message": "'zzz99' is not an item of questionnaire 'rep-types' 1.1.0; check the "
            "questionnaire and the item ids",
        },
        "range": {
            "candidate_id": "range",
            "item_id": "acc01",
            "value": 6,
            "message": f"answer 6 is outside the response scale; {EXPECTED_1_5}",
        },
        "zero": {
            "candidate_id": "zero",
            "item_id": "acc02",
            "value": 0,
            "message": f"answer 0 is outside the response scale; {EXPECTED_1_5}",
        },
        "frac": {
            "candidate_id": "frac",
            "item_id": "cmp01",
            "value": 2.5,
            "message": f"answer 2.5 is not a whole number; {EXPECTED_1_5}",
        },
    }
    assert len(got["errors"]) == 7


def test_duplicate_and_empty_candidate_ids(client: TestClient) -> None:
    cands = [
        cand("dup", answers()),
        cand("solo", answers()),
        cand("dup", answers(4)),
        cand("", answers()),
        cand("   ", answers()),
        cand(7, answers()),
        cand("7", answers()),
    ]
    got = ok_json(client, "/v1/score", body(cands))
    assert [p["candidate_id"] for p in got["profiles"]] == ["solo"]
    assert got["errors"] == [
        {
            "candidate_id": None,
            "item_id": None,
            "value": "",
            "message": "answers record 4 needs a non-empty string 'candidate_id', got '' instead",
        },
        {
            "candidate_id": None,
            "item_id": None,
            "value": "   ",
            "message": "answers record 5 needs a non-empty string 'candidate_id', "
            "got '   ' instead",
        },
        {
            "candidate_id": "dup",
            "item_id": None,
            "value": "dup",
            "message": "candidate id 'dup' appears 2 times (records 1, 3); expected each "
            "candidate id once. None of them was scored.",
        },
        {
            "candidate_id": "7",
            "item_id": None,
            "value": "7",
            "message": "candidate id '7' appears 2 times (records 6, 7); expected each "
            "candidate id once. None of them was scored.",
        },
    ]


def test_a_boolean_or_fractional_candidate_id_is_a_malformed_body(client: TestClient) -> None:
    # The schema says a string or an integer; true or 1.0 are not coerced to "1".
    for bad in (True, 1.0):
        r = client.post("/v1/score", json=body([cand(bad, answers())]), headers=AUTH)
        msgs = loc_msgs(r)
        assert msgs
        assert all(loc[:4] == ["body", "candidates", 0, "candidate_id"] for loc, _ in msgs)
        assert all(m.startswith("candidates[0]") for _, m in msgs)


def loc_msgs(r: Any) -> list[tuple[list[Any], str]]:
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert all(set(d) == {"loc", "msg", "type"} for d in detail)
    return [(d["loc"], d["msg"]) for d in detail]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"not json", [(["body"], "Invalid JSON: expected ident at line 1 column 2")]),
        (
            b'{"questionnaire": "rep-types", ',
            [(["body"], "Invalid JSON: EOF while parsing a value at line 1 column 31")],
        ),
        (b"\xff\xfe", [(["body"], "Invalid JSON: expected value at line 1 column 1")]),
        (b"[1, 2]", [(["body"], "Input should be an object")]),
        (
            b'{"questionnaire": "rep-types", "candidates": {"a": 1}}',
            [(["body", "candidates"], "Input should be a valid array")],
        ),
        (
            b'{"questionnaire": "rep-types", "candidates": [], "ci": "0.5"}',
            [(["body", "ci"], "Input should be a valid number")],
        ),
        (
            b'{"questionnaire": "rep-types", "candidates": [], "extra": 1}',
            [(["body", "extra"], "Extra inputs are not permitted")],
        ),
        (
            b'{"candidates": []}',
            [(["body", "questionnaire"], "Field required")],
        ),
        (
            b'{"questionnaire": "rep-types", "candidates": [], "ci": 1.0}',
            [(["body", "ci"], "Input should be less than 1")],
        ),
        (
            b'{"questionnaire": "rep-types", "candidates": [], "reliability": "kr20"}',
            [(["body", "reliability"], "Input should be 'alpha' or 'omega_total'")],
        ),
    ],
)
def test_a_malformed_body_is_422(
    client: TestClient, content: bytes, expected: list[tuple[list[Any], str]]
) -> None:
    headers = {**AUTH, "Content-Type": "application/json"}
    got = loc_msgs(client.post("/v1/score", content=content, headers=headers))
    assert [loc for loc, _ in got] == [loc for loc, _ in expected]
    for (_, msg), (_, want) in zip(got, expected, strict=True):
        assert msg.startswith(want), msg


def test_a_422_inside_a_candidate_names_its_index_and_id(client: TestClient) -> None:
    cands: list[dict[str, Any]] = [
        cand("fine", answers()),
        {"candidate_id": "x-list", "answers": [1, 2]},
        {"answers": {}},
        {"candidate_id": 9, "answers": {}, "notes": "hi"},
        cand("x-secs", answers(), seconds="slow"),
    ]
    got = loc_msgs(post(client, "/v1/score", body(cands)))
    assert got == [
        (
            ["body", "candidates", 1, "answers"],
            "candidates[1] (candidate 'x-list'): answers: Input should be an object",
        ),
        (
            ["body", "candidates", 2, "candidate_id"],
            "candidates[2]: candidate_id: Field required",
        ),
        (
            ["body", "candidates", 3, "notes"],
            "candidates[3] (candidate '9'): notes: Extra inputs are not permitted",
        ),
        (
            ["body", "candidates", 4, "seconds"],
            "candidates[4] (candidate 'x-secs'): seconds: Input should be a valid number",
        ),
    ]


def test_a_422_never_echoes_the_input(client: TestClient) -> None:
    secret = "my-secret-answer-text"
    r = post(client, "/v1/score", body([cand("x", answers(), seconds=secret)]))
    assert r.status_code == 422
    assert secret not in r.text
    assert all("input" not in d for d in r.json()["detail"])


def test_any_json_answer_value_rejects_only_its_candidate(client: TestClient) -> None:
    # A list, an object, text, true or a NaN token: per-candidate errors, HTTP 200,
    # the other candidates scored; long values are clipped to 80 characters.
    long = "y" * 500
    bad = answers(acc01=[1, 2], acc02={"a": 1}, acc03=long, acc04=True)
    raw = json.dumps(body([cand("bad", bad), cand("good", answers())]))
    raw = raw.replace('"acc05": 3', '"acc05": NaN', 1)  # in the first candidate only
    r = client.post("/v1/score", content=raw, headers={**AUTH, "Content-Type": "application/json"})
    assert r.status_code == 200
    got = r.json()
    assert [p["candidate_id"] for p in got["profiles"]] == ["good"]
    shown = {e["item_id"]: e["value"] for e in got["errors"]}
    assert shown == {
        "acc01": "[1, 2]",
        "acc02": "{'a': 1}",
        "acc03": "y" * 77 + "...",
        "acc04": True,
        "acc05": "NaN",
    }
    assert all(e["candidate_id"] == "bad" for e in got["errors"])


def test_a_candidate_with_many_bad_answers_lists_ten_and_counts_the_rest(
    client: TestClient,
) -> None:
    bad = {f"nope{i:03d}": 1 for i in range(25)}
    got = ok_json(client, "/v1/score", body([cand("many", bad)]))
    assert [e["item_id"] for e in got["errors"]] == [f"nope{i:03d}" for i in range(10)] + [None]
    assert got["errors"][-1]["message"] == (
        "and 15 more problem(s) with this candidate's answers; only the first 10 are listed"
    )


@pytest.mark.parametrize(
    ("path", "fields", "loc", "msg"),
    [
        (
            "/v1/score",
            {"questionnaire": "rep-typez"},
            ["body", "questionnaire"],
            "unknown questionnaire 'rep-typez'; expected one of ['rep-types']",
        ),
        (
            "/v1/score",
            {"norms": "rep-types-real"},
            ["body", "norms"],
            "unknown norm table 'rep-types-real'; expected a norm table object or one of "
            "['rep-types-simulated']",
        ),
        (
            "/v1/score",
            {"norms": SIM_JSON | {"questionnaire_version": "9.9"}},
            ["body", "norms"],
            "The norm table was built for questionnaire 'rep-types' version 9.9, but the "
            "answers are to 'rep-types' version 1.1.0.",
        ),
        (
            "/v1/rank",
            {"role": "cashier"},
            ["body", "role"],
            "unknown role 'cashier'; expected one of ['back-office-quality', "
            "'complex-support', 'cx-improvement', 'escalations', 'general-frontline', "
            "'retention']",
        ),
        (
            "/v1/rank",
            {"role": CTL_ONLY | {"weights": {"impression": 1.0}}},
            ["body", "role"],
            "role: weights.impression: 'impression' is a validity scale; roles weigh trait "
            "scales only",
        ),
        (
            "/v1/rank",
            {"role": CTL_ONLY | {"questionnaire": "bfi"}},
            ["body", "role"],
            "role: role 'ctl-only' applies to questionnaire 'bfi', not 'rep-types'",
        ),
        (
            "/v1/report",
            {"role": "cashier"},
            ["body", "role"],
            "unknown role 'cashier'",
        ),
    ],
)
def test_unknown_or_mismatched_ids_are_422(
    client: TestClient, path: str, fields: dict[str, Any], loc: list[Any], msg: str
) -> None:
    doc = body([cand("a", answers())]) | fields
    [(got_loc, got_msg)] = loc_msgs(post(client, path, doc))
    assert got_loc == loc
    assert got_msg.startswith(msg), got_msg


def test_the_loc_of_a_bad_list_entry_has_an_integer_index(client: TestClient) -> None:
    doc = body([cand("a", answers())], roles=["retention", "cashier"])
    [(loc, _)] = loc_msgs(post(client, "/v1/fit", doc))
    assert loc == ["body", "roles", 1]
    doc = body([cand("a", answers())], candidate_id="a", compare=["a", "zz"])
    [(loc, _)] = loc_msgs(post(client, "/v1/chart", doc))
    assert loc == ["body", "compare", 1]


def test_a_batch_above_max_candidates_is_413(client: TestClient) -> None:
    cands = [cand(f"c{i}", varied(i)) for i in range(MAX_CANDIDATES + 1)]
    for path, extra in [("/v1/score", {}), ("/v1/fit", {"roles": ["retention"]})]:
        r = post(client, path, body(cands, **extra))
        assert r.status_code == 413
        assert r.json() == {
            "detail": f"the batch has {MAX_CANDIDATES + 1} candidates; this server takes at "
            f"most {MAX_CANDIDATES} per request: split the batch"
        }
    got = ok_json(client, "/v1/score", body(cands[:MAX_CANDIDATES]))
    assert len(got["profiles"]) == MAX_CANDIDATES


def padded(size: int) -> bytes:
    """A valid score request of exactly ``size`` bytes (JSON padded with spaces)."""
    raw = json.dumps(body([])).encode()
    assert len(raw) <= size
    return raw + b" " * (size - len(raw))


def test_body_limit_by_content_length(small: TestClient) -> None:
    headers = {**AUTH, "Content-Type": "application/json"}
    r = small.post("/v1/score", content=padded(1000), headers=headers)
    assert r.request.headers["content-length"] == "1000"
    assert r.status_code == 200
    assert r.json()["profiles"] == []
    r = small.post("/v1/score", content=padded(1001), headers=headers)
    assert r.status_code == 413
    assert r.json() == {
        "detail": "the request body is larger than this server's limit of 1000 bytes"
    }


def test_body_limit_without_content_length(small: TestClient) -> None:
    def chunks(data: bytes) -> Iterator[bytes]:
        for i in range(0, len(data), 64):
            yield data[i : i + 64]

    headers = {**AUTH, "Content-Type": "application/json"}
    r = small.post("/v1/score", content=chunks(padded(1000)), headers=headers)
    assert "content-length" not in r.request.headers
    assert r.request.headers["transfer-encoding"] == "chunked"
    assert r.status_code == 200
    assert r.json()["errors"] == []
    r = small.post("/v1/score", content=chunks(padded(1001)), headers=headers)
    assert r.status_code == 413
    assert "limit of 1000 bytes" in r.json()["detail"]


def asgi_post(app: FastAPI, path: str, chunks: list[bytes]) -> tuple[int, bytes, int]:
    """POST ``chunks`` as separate ASGI messages without Content-Length; returns the
    status, the body and how many chunks the app read."""
    pending = list(chunks)
    sent: list[Message] = []
    read = 0

    async def receive() -> Message:
        nonlocal read
        if not pending:
            return {"type": "http.disconnect"}
        read += 1
        chunk = pending.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"testserver"),
            (b"authorization", f"Bearer {KEY}".encode()),
            (b"content-type", b"application/json"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }

    async def run() -> None:
        await app(scope, receive, send)

    anyio.run(run)
    [start] = [m for m in sent if m["type"] == "http.response.start"]
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return int(start["status"]), content, read


def test_a_streamed_body_stops_being_read_at_the_limit() -> None:
    app = create_app(ServerSettings(api_keys=(KEY,), max_body_bytes=1000))
    # 300 + 300 + 300 = 900 is within the limit; the 4th chunk makes 1200 > 1000
    status, content, read = asgi_post(app, "/v1/score", [b" " * 300] * 10)
    assert status == 413
    assert json.loads(content) == {
        "detail": "the request body is larger than this server's limit of 1000 bytes"
    }
    assert read == 4


def test_a_body_in_several_messages_is_put_back_together(client: TestClient, app: FastAPI) -> None:
    doc = body([cand("a", answers()), cand("b", answers(**CONTROLLER))])
    raw = json.dumps(doc).encode()
    parts = [raw[:7], raw[7:500], b"", raw[500:]]
    status, content, read = asgi_post(app, "/v1/score", parts)
    assert (status, read) == (200, 4)
    assert content == post(client, "/v1/score", doc).content


def test_a_batch_above_the_inline_size_runs_in_a_thread_and_equals_python(
    client: TestClient,
) -> None:
    n = INLINE_BODY_BYTES // 1000 + 5  # about 1,200 bytes of JSON per candidate
    cands = [cand(f"cand-{i:02d}", varied(i)) for i in range(n)]
    cands[3] = cand("cand-03", varied(3) | {"rck01": 9})
    assert len(json.dumps(body(cands, norms="rep-types-simulated"))) > INLINE_BODY_BYTES
    got = ok_json(client, "/v1/score", body(cands, norms="rep-types-simulated"))
    expected = repprofile.score("rep-types", cands, norms=SIM).to_dict()
    assert {k: got[k] for k in expected} == expected
    assert len(got["profiles"]) == n - 1
    assert got["errors"][0]["candidate_id"] == "cand-03"


@pytest.mark.parametrize(
    ("path", "model", "extra"),
    [
        ("/v1/score", ScoreResponse, {"norms": "rep-types-simulated"}),
        ("/v1/fit", FitResponse, {"roles": ["retention", CTL_ONLY], "norms": SIM_JSON}),
        ("/v1/rank", RankResponse, {"role": "escalations", "norms": "rep-types-simulated"}),
    ],
)
def test_responses_validate_against_their_models(
    client: TestClient, path: str, model: Any, extra: dict[str, Any]
) -> None:
    got = ok_json(client, path, body([*ABC, cand("c", varied(5))], **extra))
    assert model.model_validate(got).model_dump(mode="json") == got
    assert got["warnings"][0].startswith("the norm table is SIMULATED")


# --------------------------------------------------------------------------- /v1/fit, /v1/rank


def test_fit_equals_the_python_api(client: TestClient) -> None:
    cands = [*ABC, *(cand(f"v{i}", varied(i)) for i in range(4))]
    roles: list[Any] = ["retention", "escalations", CTL_ONLY]
    got = ok_json(client, "/v1/fit", body(cands, roles=roles, cut=60.0, norms=SIM_JSON))
    scores = repprofile.score("rep-types", cands, norms=SIM)
    role_objs = [
        repprofile.load_role("retention"),
        repprofile.load_role("escalations"),
        repprofile.Role.model_validate(CTL_ONLY),
    ]
    expected = fit_report(scores, [fit(scores, r, cut=60.0) for r in role_objs])
    assert {k: got[k] for k in expected} == expected
    assert [r["id"] for r in got["roles"]] == ["retention", "escalations", "ctl-only"]
    assert all(r["cut"] == 60.0 for r in got["roles"])
    assert len(got["warnings"]) == 1


def test_fit_hand_worked_without_norms(client: TestClient) -> None:
    got = ok_json(client, "/v1/fit", body(ABC, roles=[CTL_ONLY, "retention"]))
    by_id = {c["candidate_id"]: c for c in got["candidates"]}
    assert set(by_id) == {"a", "b"}  # "bad" is rejected
    assert [e["candidate_id"] for e in got["errors"]] == ["bad"]
    a_ctl, a_ret = by_id["a"]["fits"]
    b_ctl, _ = by_id["b"]["fits"]
    # a: every z is 0, so every composite is 0 and every fit 50
    assert (a_ctl["role"], a_ctl["composite"], a_ctl["fit"]) == ("ctl-only", 0.0, 50.0)
    assert (a_ret["role"], a_ret["composite"], a_ret["fit"]) == ("retention", 0.0, 50.0)
    assert a_ctl["failed_minimums"] == ["controller"]  # pomp 50 < 60
    assert a_ctl["meets_minimums"] is False
    assert a_ctl["similarity"] == 100.0  # exactly on the target of 50
    # b: C = z = (700/9 - 50) / 25 = 10/9; similarity 100 - |700/9 - 50| = 100 - 250/9
    c_b = 10.0 / 9.0
    assert b_ctl["composite"] == pytest.approx(c_b, abs=1e-12)
    assert b_ctl["contributions"] == {"controller": pytest.approx(c_b, abs=1e-12)}
    assert b_ctl["fit"] == pytest.approx(100.0 / (1.0 + math.exp(-1.702 * c_b)), abs=1e-9)
    assert b_ctl["fit"] == pytest.approx(86.8882166838, abs=1e-9)
    assert b_ctl["meets_minimums"] is True
    assert b_ctl["failed_minimums"] == []
    assert b_ctl["similarity"] == pytest.approx(100.0 - 250.0 / 9.0, abs=1e-9)
    assert b_ctl["explanation"] == "high Controller raises the fit"
    # no reliabilities and no norms: no standard error, never a guess
    assert (b_ctl["fit_se"], b_ctl["ci_low"], b_ctl["p_above_cut"]) == (None, None, None)
    assert by_id["b"]["best_role"] == "ctl-only"


@pytest.mark.parametrize(
    ("top", "exclude_flagged", "cut"), [(None, False, 50.0), (3, False, 70.0), (None, True, 40.0)]
)
def test_rank_equals_the_python_api(
    client: TestClient, top: int | None, exclude_flagged: bool, cut: float
) -> None:
    cands = [*ABC, *(cand(f"v{i}", varied(i)) for i in range(5))]
    doc = body(cands, role="retention", cut=cut, exclude_flagged=exclude_flagged)
    if top is not None:
        doc["top"] = top
    got = ok_json(client, "/v1/rank", doc)
    scores = repprofile.score("rep-types", cands)
    fitted = fit(scores, repprofile.load_role("retention"), cut=cut)
    expected = rank(fitted, top=top, exclude_flagged=exclude_flagged)
    assert {k: got[k] for k in expected} == expected
    assert got["warnings"] == []
    assert [e["rank"] for e in got["ranking"]] == list(range(1, len(got["ranking"]) + 1))
    fits = [e["fit"] for e in got["ranking"]]
    assert fits == sorted(fits, reverse=True)
    assert "bad" not in [e["candidate_id"] for e in got["ranking"]]
    if top is not None:
        assert len(got["ranking"]) == top
    if exclude_flagged:
        valid = np.asarray(scores.quality.valid) & scores.scored
        ids = [c["candidate_id"] for c, ok in zip(cands, valid.tolist(), strict=True) if ok]
        assert sorted(e["candidate_id"] for e in got["ranking"]) == sorted(ids)
        # a and b straight-line and fail the attention checks; v1-v3 answer the even and
        # odd halves of the scales inconsistently (a negative even-odd index)
        assert ids == ["v0", "v4"]


def test_rank_hand_worked(client: TestClient) -> None:
    got = ok_json(client, "/v1/rank", body(ABC, role=CTL_ONLY, top=1))
    [first] = got["ranking"]
    assert (first["rank"], first["candidate_id"]) == (1, "b")
    assert first["fit"] == pytest.approx(100.0 / (1.0 + math.exp(-1.702 * 10.0 / 9.0)), abs=1e-9)
    assert got["role"]["id"] == "ctl-only"
    assert got["role"]["weights"] == {"controller": 1.0}
    assert got["provenance"]["role"]["id"] == "ctl-only"
    assert [e["candidate_id"] for e in got["errors"]] == ["bad"]


# --------------------------------------------------------------------------- /v1/chart


def chart_bytes(ax: Any, fmt: Literal["png", "svg"]) -> bytes:
    """What the Python API gives for a chart drawn on ``ax``."""
    fig = ax.get_figure(root=True)
    assert isinstance(fig, Figure)
    return _figure_bytes(fig, fmt)


def test_chart_png_by_default_equals_the_python_chart(client: TestClient) -> None:
    doc = body([cand("a", answers(**CONTROLLER))])
    r = post(client, "/v1/chart", doc)
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    assert r.content.startswith(b"\x89PNG\r\n\x1a\n")
    scores = repprofile.score("rep-types", doc["candidates"])
    assert r.content == chart_bytes(radar_chart(scores, "a"), "png")
    assert post(client, "/v1/chart", doc).content == r.content  # deterministic


@pytest.mark.parametrize(
    "accept",
    ["image/svg+xml", "image/png;q=0.1, image/svg+xml;q=0.9", "text/html, image/svg+xml;q=0.5"],
)
def test_chart_svg_when_asked(client: TestClient, accept: str) -> None:
    doc = body([cand("a", answers()), cand("b", answers(**CONTROLLER))], candidate_id="b")
    doc |= {"compare": ["a"], "role": "retention"}
    r = post(client, "/v1/chart", doc, Accept=accept)
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/svg+xml"
    assert "<svg" in r.text
    scores = repprofile.score("rep-types", doc["candidates"])
    ax = radar_chart(scores, ["b", "a"], role=repprofile.load_role("retention"))
    assert r.content == chart_bytes(ax, "svg")
    assert post(client, "/v1/chart", doc, Accept=accept).content == r.content


@pytest.mark.parametrize("accept", ["image/*", "*/*", "image/png", ""])
def test_chart_png_for_generic_accept(client: TestClient, accept: str) -> None:
    r = post(client, "/v1/chart", body([cand("a", answers())]), Accept=accept)
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"


@pytest.mark.parametrize("accept", ["application/json", "image/png;q=0, text/html"])
def test_chart_406_when_no_image_is_acceptable(client: TestClient, accept: str) -> None:
    r = post(client, "/v1/chart", body([cand("a", answers())]), Accept=accept)
    assert r.status_code == 406
    assert r.json() == {
        "detail": f"cannot produce any of {accept!r}; available: ['image/png', 'image/svg+xml']"
    }


def test_chart_honours_an_explicit_refusal_of_png(client: TestClient) -> None:
    r = post(client, "/v1/chart", body([cand("a", answers())]), Accept="image/png;q=0, */*")
    assert r.headers["content-type"] == "image/svg+xml"


def test_chart_needs_a_scored_candidate(client: TestClient) -> None:
    doc = body(ABC)
    cases = [
        ({}, "the request has 3 candidates; say which one in 'candidate_id'"),
        ({"candidate_id": "zz"}, "no candidate 'zz' in 'candidates'"),
        (
            {"candidate_id": "bad"},
            "candidate 'bad' was rejected, so it has no scores: item 'acc01': answer 7 is "
            f"outside the response scale; {EXPECTED_1_5}",
        ),
    ]
    for extra, msg in cases:
        assert loc_msgs(post(client, "/v1/chart", doc | extra)) == [(["body", "candidate_id"], msg)]
    [(loc, msg)] = loc_msgs(
        post(client, "/v1/chart", doc | {"candidate_id": "a", "compare": ["zz"]})
    )
    assert loc == ["body", "compare", 0]
    assert msg == "no candidate 'zz' in 'candidates'"


def test_chart_selects_an_integer_candidate_id(client: TestClient) -> None:
    doc = body([cand(7, answers()), cand(8, answers())], candidate_id=7)
    assert post(client, "/v1/chart", doc).status_code == 200


# --------------------------------------------------------------------------- /v1/report

REPORT_DATE = "2024-03-05"


def report_doc(**extra: Any) -> dict[str, Any]:
    cands = [cand("a", answers()), cand("<b&c>", answers(**CONTROLLER)), *ABC[2:]]
    return body(cands, candidate_id="<b&c>", role="retention", date=REPORT_DATE) | extra


def python_report(doc: dict[str, Any]) -> tuple[Any, Any, Any]:
    scores = repprofile.score("rep-types", doc["candidates"], norms=SIM)
    role = repprofile.load_role("retention")
    report = candidate_report(
        scores,
        doc["candidate_id"],
        role,
        date=dt.date.fromisoformat(REPORT_DATE),
        cut=doc.get("cut", 50.0),
        fit_result=fit(scores, role, cut=doc.get("cut", 50.0)),
    )
    return report, scores, role


def test_report_pdf_by_default(client: TestClient) -> None:
    doc = report_doc(norms="rep-types-simulated")
    r = post(client, "/v1/report", doc)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF")
    assert r.content == render_pdf(*python_report(doc))
    assert post(client, "/v1/report", doc).content == r.content


def test_report_json_carries_the_date(client: TestClient) -> None:
    doc = report_doc(norms="rep-types-simulated", cut=65.0)
    r = post(client, "/v1/report", doc, Accept="application/json")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    got = r.json()
    assert got["date"] == REPORT_DATE
    assert (got["candidate_id"], got["role_id"], got["cut"]) == ("<b&c>", "retention", 65.0)
    assert got["norms_simulated"] is True
    assert got == python_report(doc)[0].model_dump(mode="json")


def test_report_html_escapes_the_candidate_id(client: TestClient) -> None:
    doc = report_doc(norms="rep-types-simulated")
    r = post(client, "/v1/report", doc, Accept="text/html")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert REPORT_DATE in r.text
    assert "<svg" in r.text
    assert "&lt;b&amp;c&gt;" in r.text
    assert "<b&c>" not in r.text
    assert r.text == render_html(*python_report(doc))


def test_report_406_and_422(client: TestClient) -> None:
    r = post(client, "/v1/report", report_doc(), Accept="image/png")
    assert r.status_code == 406
    assert "available: ['application/pdf', 'text/html', 'application/json']" in r.json()["detail"]
    got = loc_msgs(post(client, "/v1/report", report_doc(candidate_id="bad")))
    assert got[0][0] == ["body", "candidate_id"]
    assert got[0][1].startswith("candidate 'bad' was rejected, so it has no scores: item 'acc01'")
    [(loc, msg)] = loc_msgs(post(client, "/v1/report", report_doc(date="2024-13-01")))
    assert loc == ["body", "date"]
    assert "date" in msg


# --------------------------------------------------------------------------- logging

LOG_IDS = [
    cand("zebra-candidate", answers(**CONTROLLER)),
    cand("yak-candidate", answers(acc01=7)),
    cand("okapi-candidate", varied(4)),
]


def score_strings(got: dict[str, Any]) -> set[str]:
    """Every non-integer score of a response, as the text a log line would show."""
    out: set[str] = set()
    for p in got["profiles"]:
        for s in p["scales"].values():
            for k in ("mean", "pomp", "z", "t", "sem", "ci_low", "ci_high"):
                v = s[k]
                if isinstance(v, float) and not v.is_integer():
                    out |= {repr(v), f"{v:.2f}", f"{v:.1f}"}
    return out


def test_debug_logs_candidate_ids_only(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="repprofile")
    got = ok_json(client, "/v1/score", body(LOG_IDS, norms="rep-types-simulated"))
    records = [r for r in caplog.records if r.name.startswith("repprofile")]
    assert [(r.name, r.levelno, r.getMessage()) for r in records] == [
        (
            "repprofile.server",
            logging.DEBUG,
            "scored 3 candidate(s): ids ['zebra-candidate', 'yak-candidate', "
            "'okapi-candidate']; rejected ids ['yak-candidate']",
        )
    ]
    scores = score_strings(got)
    assert f"{CTL_POMP:.2f}" in scores
    assert len(scores) > 20
    assert not any(s in caplog.text for s in scores)


def test_info_logs_nothing_about_candidates(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="repprofile")
    ok_json(client, "/v1/score", body(LOG_IDS))
    ok_json(client, "/v1/rank", body(LOG_IDS, role="retention"))
    assert (
        post(client, "/v1/chart", body(LOG_IDS, candidate_id="zebra-candidate")).status_code == 200
    )
    assert [r for r in caplog.records if r.name.startswith("repprofile")] == []
    assert "candidate" not in caplog.text


@pytest.mark.parametrize(
    ("path", "extra", "n"),
    [
        ("/v1/score", {}, 1),
        ("/v1/fit", {"roles": ["retention"]}, INLINE_BODY_BYTES // 1000 + 5),  # in a thread
        ("/v1/chart", {}, 1),  # a sync endpoint
    ],
)
def test_a_500_never_leaks_the_message(
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    path: str,
    extra: dict[str, Any],
    n: int,
) -> None:
    import repprofile._analysis.scoring

    def broken(questionnaire: Any, records: Any, **kwargs: Any) -> Any:
        value = records[0]["answers"]["acc01"]
        raise ValueError(f"secret-answer-{value}")  # a message quoting an answer

    monkeypatch.setattr(repprofile._analysis.scoring, "score", broken)
    caplog.set_level(logging.DEBUG, logger="repprofile")
    cands = [cand(f"c{i}", answers(acc01=5)) for i in range(n)]
    r = post(client, path, body(cands, **extra))
    assert r.status_code == 500
    assert r.json() == INTERNAL
    assert "secret" not in r.text
    [record] = [x for x in caplog.records if x.name == "repprofile.server"]
    assert record.levelno == logging.ERROR
    assert record.getMessage().startswith(f"internal error on POST {path}: ValueError\n")
    assert record.exc_info is None
    assert "secret-answer-5" not in caplog.text
    monkeypatch.undo()
    assert post(client, path, body(cands, **extra)).status_code == 200  # still serving


# --------------------------------------------------------------------------- CORS


def test_no_cors_headers_by_default(client: TestClient) -> None:
    r = client.get("/v1/roles", headers={**AUTH, "Origin": "https://ats.example"})
    assert r.status_code == 200
    assert not any(h.startswith("access-control-") for h in r.headers)


def test_cors_for_the_configured_origins_only() -> None:
    origin = "https://ats.example"
    app = create_app(ServerSettings(api_keys=(KEY,), cors_origins=(origin,)))
    with TestClient(app) as c:
        r = c.post(
            "/v1/score", json=body([cand("a", answers())]), headers={**AUTH, "Origin": origin}
        )
        assert r.status_code == 200
        assert r.json()["profiles"][0]["candidate_id"] == "a"
        assert r.headers["access-control-allow-origin"] == origin
        preflight = {
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        }
        r = c.options("/v1/score", headers=preflight)  # no key: browsers send none
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == origin
        assert set(r.headers["access-control-allow-methods"].split(", ")) == {"GET", "POST"}
        assert "Authorization" in r.headers["access-control-allow-headers"]
        evil = {**preflight, "Origin": "https://evil.example"}
        r = c.options("/v1/score", headers=evil)
        assert r.status_code == 400
        assert "access-control-allow-origin" not in r.headers
        r = c.get("/v1/roles", headers={**AUTH, "Origin": "https://evil.example"})
        assert r.status_code == 200
        assert "access-control-allow-origin" not in r.headers
        # CORS never replaces the key
        r = c.get("/v1/roles", headers={"Origin": origin})
        assert (r.status_code, r.content) == (401, UNAUTHORIZED)


# --------------------------------------------------------------------------- statelessness


def test_identical_requests_give_identical_bytes_and_nothing_is_written(
    client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    requests = [
        ("/v1/score", body(ABC, norms="rep-types-simulated"), {}),
        ("/v1/fit", body(ABC, roles=["retention"]), {}),
        ("/v1/rank", body(ABC, role="escalations"), {}),
        ("/v1/chart", body(ABC, candidate_id="b"), {"Accept": "image/svg+xml"}),
        ("/v1/report", report_doc(), {"Accept": "text/html"}),
    ]
    first = [post(client, p, d, **h).content for p, d, h in requests]
    post(client, "/v1/score", body([cand("a", answers(5)), cand("z", varied(9))]))
    second = [post(client, p, d, **h).content for p, d, h in requests]
    assert first == second
    assert list(tmp_path.iterdir()) == []


def test_nothing_is_remembered_between_requests(client: TestClient) -> None:
    ok_json(client, "/v1/score", body([cand("remember-me", answers())]))
    r = post(client, "/v1/chart", body([cand("other", answers())], candidate_id="remember-me"))
    assert loc_msgs(r) == [(["body", "candidate_id"], "no candidate 'remember-me' in 'candidates'")]
    got = ok_json(client, "/v1/score", body([cand("other", answers(5))]))
    assert [p["candidate_id"] for p in got["profiles"]] == ["other"]


def test_an_empty_batch_gives_only_the_provenance(client: TestClient) -> None:
    assert ok_json(client, "/v1/score", body([])) == {
        "profiles": [],
        "errors": [],
        "provenance": {
            "questionnaire_id": "rep-types",
            "questionnaire_version": "1.1.0",
            "questionnaire_sha256": Q.fingerprint,
            "repprofile_version": repprofile.__version__,
            "norms": None,
            "ci_level": 0.9,
            "role": None,
        },
        "warnings": [],
    }
    assert re.fullmatch(r"[0-9a-f]{64}", Q.fingerprint)


def test_a_key_with_a_comma_is_refused_since_it_could_not_survive_the_environment() -> None:
    settings = ServerSettings(api_keys=("abcdefgh,ijklmnopqrs",))
    with pytest.raises(repprofile.InputError, match="without spaces or commas, got 20 characters"):
        settings.key_digests()


# --------------------------------------------------------------------------- review fixes


def test_every_response_says_no_store_and_nosniff(client: TestClient) -> None:
    for r in (
        client.get("/v1/health"),
        client.get("/v1/roles", headers=AUTH),
        post(client, "/v1/score", body([cand("a", answers())])),
        post(client, "/v1/score", {"questionnaire": "nope", "candidates": []}),
    ):
        assert r.headers["cache-control"] == "no-store"
        assert r.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("root_path", ["/", "/v", "/v1", "/api"])
def test_a_root_path_never_opens_a_protected_path(root_path: str) -> None:
    # The key check strips the root path only at a "/" boundary, as Starlette routes.
    app = create_app(ServerSettings(api_keys=(KEY,)))
    with TestClient(app, root_path=root_path) as c:
        assert c.get("/v1/roles").status_code == 401
        assert c.get(f"{root_path.rstrip('/')}/v1/roles").status_code == 401


def test_a_root_path_still_serves_health_and_keyed_requests() -> None:
    app = create_app(ServerSettings(api_keys=(KEY,)))
    with TestClient(app, root_path="/api") as c:
        assert c.get("/api/v1/health").json()["status"] == "ok"
        assert c.get("/api/v1/roles", headers=AUTH).status_code == 200


@pytest.mark.parametrize(
    ("fields", "loc"),
    [
        ({"compare": [str(i) for i in range(20)]}, ["body", "compare"]),
        ({"candidate_id": "x" * 257}, ["body", "candidate_id", "constrained-str"]),
    ],
)
def test_chart_requests_are_bounded(
    client: TestClient, fields: dict[str, Any], loc: list[Any]
) -> None:
    r = post(client, "/v1/chart", body([cand("a", answers())], **fields))
    assert r.status_code == 422
    assert loc in [d["loc"] for d in r.json()["detail"]]


def test_fit_takes_at_most_20_roles(client: TestClient) -> None:
    r = post(client, "/v1/fit", body([cand("a", answers())], roles=["retention"] * 21))
    assert r.status_code == 422
    assert [d["loc"] for d in r.json()["detail"]] == [["body", "roles"]]
    assert ok_json(client, "/v1/fit", body([cand("a", answers())], roles=["retention"] * 20))


def test_a_candidate_takes_at_most_1000_answers_and_256_character_ids(
    client: TestClient,
) -> None:
    many = {f"i{n}": 3 for n in range(1001)}
    r = post(client, "/v1/score", body([cand("a", many)]))
    assert [d["loc"] for d in r.json()["detail"]] == [["body", "candidates", 0, "answers"]]
    long_item = {"x" * 257: 3}
    r = post(client, "/v1/score", body([cand("a", long_item)]))
    assert r.status_code == 422
    assert ok_json(client, "/v1/score", body([cand("c" * 256, answers())]))["profiles"]


def test_deeply_nested_json_is_a_422_not_a_500(client: TestClient) -> None:
    r = client.post(
        "/v1/score", content=b"[" * 1001, headers={**AUTH, "Content-Type": "application/json"}
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["type"] == "json_invalid"


def test_settings_never_show_the_keys() -> None:
    settings = ServerSettings(api_keys=(KEY,))
    for text in (repr(settings), str(settings), settings.model_dump_json()):
        assert KEY not in text
    assert settings.to_env()["REPPROFILE_API_KEYS"] == KEY  # handed to the workers
    app = create_app(settings)
    assert app.state.service.settings.api_keys == ()  # the app keeps digests only
