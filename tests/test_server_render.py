"""POST /v1/chart and /v1/report: the same bytes as the Python API, content negotiation
(PNG/SVG, PDF/HTML/JSON, 406) and the candidate to draw.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import pytest
from fastapi.testclient import TestClient
from matplotlib.figure import Figure

import repprofile
from repprofile import candidate_report, fit, radar_chart
from repprofile._rendering.charts import _figure_bytes
from repprofile._rendering.report import render_html, render_pdf

from ._server_helpers import (
    ABC,
    CONTROLLER,
    EXPECTED_1_5,
    REPORT_DATE,
    SIM,
    answers,
    body,
    cand,
    loc_msgs,
    post,
    problem,
    report_doc,
)


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
    assert r.json() == problem(
        406,
        "not_acceptable",
        f"cannot produce any of {accept!r}; available: ['image/png', 'image/svg+xml']",
    )


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
