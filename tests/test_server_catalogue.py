"""The bundled questionnaires and roles: GET /v1/questionnaires and /v1/roles."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

import repprofile

from ._server_helpers import AUTH, TRAITS, Q


def test_questionnaire_list_and_detail(client: TestClient) -> None:
    r = client.get("/v1/questionnaires", headers=AUTH)
    assert r.status_code == 200
    listed = r.json()
    assert [x["id"] for x in listed] == ["rep-hiring", "rep-types", "service-recovery"]
    assert [x["n_items"] for x in listed] == [97, 80, 17]  # 80 statements + 17 scenarios
    assert listed[1:2] == [
        {
            "id": "rep-types",
            "version": "1.1.0",
            "name": "Service Rep Types Inventory",
            "title": "Service Rep Types Inventory",  # 'name' is deprecated
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
        {
            "id": x.id,
            "name": x.name,
            "description": x.description,
            "questionnaire": x.questionnaire,
        }
        for x in roles
    ]
    # the six rep-types roles and their six rep-hiring (-sjt) versions
    assert [x.questionnaire for x in roles].count("rep-types") == 6
    assert [x.questionnaire for x in roles].count("rep-hiring") == 6
    assert len(roles) == 12
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
    assert list(r.json()) == ["type", "title", "status", "detail", "code"]
    assert r.json()["code"] == "not_found"
    assert r.json()["detail"].startswith(detail)
