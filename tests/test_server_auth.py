"""The outer guard of the HTTP API: the same 401 for every missing or wrong key, the
docs behind the key unless public, root paths, CORS, and the headers on every response.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

import repprofile
from repprofile.server import ServerSettings, create_app

from ._server_helpers import AUTH, KEY, KEY2, UNAUTHORIZED, answers, body, cand, post, problem
from .conftest import API_PATHS


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
    assert r.headers["content-type"] == "application/problem+json"  # RFC 9457
    # (with a body to drop before the connection closes, also Connection: close)
    assert sorted(r.headers.keys() - {"connection"}) == [
        "cache-control",
        "content-length",
        "content-type",
        "www-authenticate",
        "x-content-type-options",
    ]
    assert (r.headers["cache-control"], r.headers["x-content-type-options"]) == (
        "no-store",
        "nosniff",
    )


@pytest.mark.parametrize("key", [KEY, KEY2])
@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_every_configured_key_opens_the_api(client: TestClient, key: str, scheme: str) -> None:
    r = client.get("/v1/roles", headers={"Authorization": f"{scheme} {key}"})
    assert r.status_code == 200
    assert [role["id"] for role in r.json()] == [role.id for role in repprofile.list_roles()]


def test_an_unknown_path_with_a_key_is_404(client: TestClient) -> None:
    r = client.get("/v1/no-such-endpoint", headers=AUTH)
    assert (r.status_code, r.json()) == (404, problem(404, "not_found", "Not Found"))


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
