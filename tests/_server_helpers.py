"""Shared data and helpers of the in-process HTTP API tests (tests/test_server_*.py; the
``app``, ``client`` and ``small`` fixtures are in conftest.py).

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

import json
import re
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

import repprofile
from repprofile._formats.files import bundled_dir

# The operationIds of docs/server.md, a contract for generated clients.
OPERATION_IDS = {
    ("get", "/v1/health"): "health",
    ("get", "/v1/questionnaires"): "listQuestionnaires",
    ("get", "/v1/questionnaires/{questionnaire_id}"): "getQuestionnaire",
    ("get", "/v1/roles"): "listRoles",
    ("get", "/v1/roles/{role_id}"): "getRole",
    ("post", "/v1/score"): "score",
    ("post", "/v1/fit"): "fit",
    ("post", "/v1/rank"): "rank",
    ("post", "/v1/chart"): "chart",
    ("post", "/v1/report"): "report",
}


def documented_error_codes() -> dict[str, int]:
    """The table of docs/server.md "### Error codes" (| `code` | status | meaning |)."""
    doc = (Path(__file__).resolve().parents[1] / "docs" / "server.md").read_text("utf-8")
    rows = re.findall(r"^\| `([a-z_]+)` \| (\d{3}) \|", doc, re.M)
    return {code: int(status) for code, status in rows}


KEY = "test-key-0123456789-abcdef"
KEY2 = "second-key-ABCDEFGHIJKLMNOP"
AUTH = {"Authorization": f"Bearer {KEY}"}
UNAUTHORIZED = (
    b'{"type":"urn:repprofile:problem:unauthorized","title":"Unauthorized","status":401,'
    b'"detail":"missing or invalid API key","code":"unauthorized"}'
)
INTERNAL = {
    "type": "urn:repprofile:problem:internal_error",
    "title": "Internal Server Error",
    "status": 500,
    "detail": "internal server error",
    "code": "internal_error",
}


def problem(status: int, code: str, detail: str) -> dict[str, Any]:
    """The problem-details document of an error (written out, not built by the server)."""
    titles = {404: "Not Found", 406: "Not Acceptable", 413: "Request Entity Too Large"}
    return {
        "type": f"urn:repprofile:problem:{code}",
        "title": titles[status],
        "status": status,
        "detail": detail,
        "code": code,
    }


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


def post(client: TestClient, path: str, doc: Any, **headers: str) -> Any:
    """POST ``doc`` with the key; the response (status checked by the caller)."""
    return client.post(path, json=doc, headers={**AUTH, **headers})


def ok_json(client: TestClient, path: str, doc: Any) -> Any:
    r = post(client, path, doc)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    return r.json()


def loc_msgs(r: Any) -> list[tuple[list[Any], str]]:
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert all(set(d) == {"loc", "msg", "type"} for d in detail)
    return [(d["loc"], d["msg"]) for d in detail]


REPORT_DATE = "2024-03-05"


def report_doc(**extra: Any) -> dict[str, Any]:
    cands = [cand("a", answers()), cand("<b&c>", answers(**CONTROLLER)), *ABC[2:]]
    return body(cands, candidate_id="<b&c>", role="retention", date=REPORT_DATE) | extra
