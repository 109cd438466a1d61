"""The candidate's pages at /take/{token}: the no-JS flow through form posts (scores equal
``repprofile.score`` on the same answers), resume, the JSON autosave, the closed-link
pages, the security headers, CSRF and the token-guessing limit."""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("sqlalchemy")

from fastapi.testclient import TestClient
from sqlalchemy import select, update

import repprofile
from repprofile.server import ServerSettings
from repprofile.server._transport import NoQueryFilter
from repprofile.web._app import create_web_app
from repprofile.web._db import AccessLog, Answer, Invitation, make_engine
from repprofile.web._pages import estimated_minutes
from repprofile.web._settings import WebSettings

KEY = "k" * 32
AUTH = {"Authorization": f"Bearer {KEY}"}


class Site:
    """A test client on a fresh database (SQLite or PostgreSQL), and helpers to invite
    and read back."""

    def __init__(self, client: TestClient, engine: Any) -> None:
        self.client = client
        self.engine = engine

    def invite(self, questionnaire: str = "rep-types", **extra: Any) -> tuple[str, str]:
        body = {"candidate_id": "cand-1", "questionnaire": questionnaire, "roles": [], **extra}
        r = self.client.post("/v1/invitations", json=body, headers=AUTH)
        assert r.status_code == 201, r.text
        doc = r.json()
        return doc["invitation_id"], doc["url"].rsplit("/take/", 1)[1]

    def answers(self, invitation_id: str) -> list[Answer]:
        with self.engine.connect() as conn:
            return list(
                conn.execute(select(Answer).where(Answer.invitation_id == invitation_id)).fetchall()
            )

    def set(self, invitation_id: str, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(Invitation).where(Invitation.id == invitation_id).values(**values))


def _site(db_url: str, **settings: Any) -> Iterator[Site]:
    engine = make_engine(db_url)
    ws = WebSettings(database_url=db_url, secure_cookies=False, **settings)
    app = create_web_app(ServerSettings(api_keys=(KEY,)), ws, engine=engine)
    client = TestClient(app, follow_redirects=False)
    try:
        yield Site(client, engine)
    finally:
        client.close()
        engine.dispose()


@pytest.fixture
def site(db_url: str) -> Iterator[Site]:
    """The site on a fresh database: SQLite and PostgreSQL (tests/conftest.py's db_url)."""
    yield from _site(db_url)


class Inputs(HTMLParser):
    """The inputs of a page: hidden values, radio groups (name -> values), checked ones."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.hidden: dict[str, str] = {}
        self.radios: dict[str, list[str]] = {}
        self.checked: dict[str, str] = {}
        self.labels: set[str] = set()
        self.ids: set[str] = set()
        self.fieldsets = 0
        self.legends = 0
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "input" and a.get("type") == "hidden":
            self.hidden[a["name"]] = a["value"]
        elif tag == "input" and a.get("type") == "radio":
            self.radios.setdefault(a["name"], []).append(a["value"])
            self.ids.add(a["id"])
            if "checked" in a:
                self.checked[a["name"]] = a["value"]
        elif tag == "label" and "for" in a:
            self.labels.add(a["for"])
        elif tag == "fieldset":
            self.fieldsets += 1
        elif tag == "legend":
            self.legends += 1


def _start(site: Site, token: str) -> str:
    page = site.client.get(f"/take/{token}")
    assert page.status_code == 200
    csrf = Inputs(page.text).hidden["csrf"]
    r = site.client.post(f"/take/{token}/start", data={"csrf": csrf, "accept_privacy": "yes"})
    assert r.status_code == 303
    return r.headers["location"]


def _choose(name: str, values: list[str], rng: random.Random) -> str:
    return rng.choice(values)


def _take_all(
    site: Site, token: str, rng: random.Random, stop_after: int | None = None
) -> tuple[dict[str, str], int]:
    """Answer every page through form posts (no JavaScript); returns the posted answers
    (form name -> value) and the number of pages."""
    where = _start(site, token)
    given: dict[str, str] = {}
    pages = 0
    while where.startswith(f"/take/{token}/page/"):
        page = site.client.get(where)
        assert page.status_code == 200, page.text
        inputs = Inputs(page.text)
        assert len(inputs.radios) > 0
        # every radio has its label; a fieldset and legend per group
        assert inputs.ids <= inputs.labels
        assert inputs.legends == inputs.fieldsets
        form = dict(inputs.hidden)
        for name, values in inputs.radios.items():
            form[name] = given[name] = _choose(name, values, rng)
        pages += 1
        last = 'value="finish"' in page.text
        form["nav"] = "finish" if last else "next"
        r = site.client.post(where, data=form)
        assert r.status_code == 303, r.text
        where = r.headers["location"]
        if stop_after is not None and pages == stop_after:
            return given, pages
    assert where == f"/take/{token}/done"
    return given, pages


def _record(q: Any, given: dict[str, str], site: Site, inv_id: str) -> dict[str, Any]:
    """The scoring record of the posted answers (worked out from the form, not the store),
    with the stored per-item seconds."""
    answers: dict[str, Any] = {}
    for name, value in given.items():
        item, _, part = name.partition(".")
        if item in q.sjt_item_index and part:
            sjt = q.sjt_item_index[item]
            answers.setdefault(item, {})[part] = (
                int(value) if sjt.response_format == "rate" else value
            )
        else:
            answers[name] = int(value)
    seconds: dict[str, float] = {}
    for row in site.answers(inv_id):
        assert row.seconds is not None
        assert row.seconds >= 0
        seconds[row.item_id] = seconds.get(row.item_id, 0.0) + row.seconds
    return {"candidate_id": "cand-1", "answers": answers, "item_seconds": seconds}


def _stored_profile(site: Site, inv_id: str) -> dict[str, Any]:
    r = site.client.get(f"/v1/invitations/{inv_id}", headers=AUTH)
    assert r.status_code == 200
    doc = r.json()
    assert doc["status"] == "completed"
    profile: dict[str, Any] = doc["result"]["score"]["profiles"][0]
    return profile


def test_whole_flow_without_javascript_scores_like_the_library(site: Site) -> None:
    inv_id, token = site.invite("rep-types")
    given, pages = _take_all(site, token, random.Random(17))
    q = repprofile.load_questionnaire("rep-types")
    assert pages == 8  # 80 items, 10 a page
    assert set(given) == set(q.item_ids)
    expected = repprofile.score(q, [_record(q, given, site, inv_id)]).to_dict()["profiles"][0]
    stored = _stored_profile(site, inv_id)
    assert json.dumps(stored, sort_keys=True) == json.dumps(expected, sort_keys=True)
    # the stored values are the posted ones
    assert {r.item_id: r.value for r in site.answers(inv_id)} == given
    done = site.client.get(f"/take/{token}/done")
    assert done.status_code == 200
    assert "<h1>Thank you</h1>" in done.text
    assert "Your profile" not in done.text  # no scores unless show_results
    # the completed link shows the thank-you page, and no more answers are taken
    assert site.client.get(f"/take/{token}").headers["location"] == f"/take/{token}/done"
    with site.engine.connect() as conn:
        actions = {
            a
            for (a,) in conn.execute(select(AccessLog.action).where(AccessLog.actor == "candidate"))
        }
        inv = conn.execute(select(Invitation).where(Invitation.id == inv_id)).one()
    assert {"take.open", "take.start", "take.save", "take.complete"} <= actions
    assert inv.privacy_accepted_at is not None


def test_show_results_shows_primary_type_and_scales(site: Site) -> None:
    inv_id, token = site.invite("rep-types", show_results=True)
    _take_all(site, token, random.Random(3))
    profile = _stored_profile(site, inv_id)
    done = site.client.get(f"/take/{token}/done").text
    assert "Your profile" in done
    q = repprofile.load_questionnaire("rep-types")
    names = {s.id: s.name for s in q.scales}
    if profile["primary_type"]:
        assert f"Your strongest type: {names[profile['primary_type']]}" in done
    ctl = round(profile["scales"]["controller"]["pomp"])
    assert f'<tr><th scope="row">Controller</th><td>{ctl}</td></tr>' in done


def test_rep_hiring_sjt_items_through_the_form(site: Site) -> None:
    inv_id, token = site.invite("rep-hiring")
    given, pages = _take_all(site, token, random.Random(5))
    q = repprofile.load_questionnaire("rep-hiring")
    sjt_names = {f"{i.id}.{o}" for i in q.sjt_items for o in i.option_ids}
    assert sjt_names <= set(given)
    assert all(given[n] in {"1", "2", "3", "4", "5", "6"} for n in sjt_names)
    assert pages == 8 + 6  # 80 Likert items 10 a page, 17 scenarios 3 a page
    expected = repprofile.score(q, [_record(q, given, site, inv_id)]).to_dict()["profiles"][0]
    stored = _stored_profile(site, inv_id)
    assert json.dumps(stored, sort_keys=True) == json.dumps(expected, sort_keys=True)


def test_sjt_page_shows_scenario_and_option_grid(site: Site) -> None:
    _, token = site.invite("service-recovery")
    where = _start(site, token)
    page = site.client.get(where).text
    q = repprofile.load_questionnaire("service-recovery")
    first = q.sjt_items[0]
    inputs = Inputs(page)
    assert f"{first.id}.{first.option_ids[0]}" in inputs.radios
    assert inputs.radios[f"{first.id}.a"] == ["1", "2", "3", "4", "5", "6"]
    assert "Very ineffective" in page
    from markupsafe import escape

    assert str(escape(first.scenario)) in page


def test_resume_after_leaving_halfway(site: Site) -> None:
    _inv_id, token = site.invite("rep-types")
    given, _pages = _take_all(site, token, random.Random(1), stop_after=3)
    # a new device with the same link: straight to page 4, where it stopped
    fresh = TestClient(site.client.app, follow_redirects=False)
    try:
        r = fresh.get(f"/take/{token}")
        assert r.status_code == 303
        assert r.headers["location"] == f"/take/{token}/page/4"
        back = fresh.get(f"/take/{token}/page/2")
        assert "30 of 80 answered" in back.text
        checked = Inputs(back.text).checked
        assert len(checked) == 10
        assert all(given[name] == value for name, value in checked.items())
    finally:
        fresh.close()
    # finishing with items missing: back to the first page with a missing item, summary
    page4 = site.client.get(f"/take/{token}/page/8")
    form = dict(Inputs(page4.text).hidden, nav="finish")
    r = site.client.post(f"/take/{token}/page/8", data=form)
    assert r.headers["location"] == f"/take/{token}/page/4?missing=1"
    page = site.client.get(r.headers["location"]).text
    assert "There is a problem" in page
    q = repprofile.load_questionnaire("rep-types")
    assert 'href="#q-' + q.item_ids[30] + '-1"' in page
    assert "40 more question(s) on other pages" in page


def _autosave(site: Site, token: str, body: Any, csrf: str) -> Any:
    return site.client.post(f"/take/{token}/answers", json=body, headers={"X-CSRF-Token": csrf})


def test_json_autosave(site: Site) -> None:
    inv_id, token = site.invite("rep-types")
    where = _start(site, token)
    csrf = Inputs(site.client.get(where).text).hidden["csrf"]
    one = {"answers": [{"item": "ctl01", "part": "", "value": "4", "seconds": 3.2}], "page": 2}
    r = _autosave(site, token, one, csrf)
    assert r.status_code == 200
    assert r.json() == {"saved": 1, "answered": 1, "total": 80}
    # a double save: the last value wins, still one answer
    two = {"answers": [{"item": "ctl01", "value": 2, "seconds": 1.5}]}
    assert _autosave(site, token, two, csrf).json() == {"saved": 1, "answered": 1, "total": 80}
    rows = site.answers(inv_id)
    assert [(a.item_id, a.value, a.seconds) for a in rows] == [("ctl01", "2", 1.5)]
    # a bad value: 422 naming the item, nothing of the batch saved
    bad = {
        "answers": [
            {"item": "acc01", "value": "3"},
            {"item": "emp01", "value": "9"},
        ]
    }
    r = _autosave(site, token, bad, csrf)
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "answers", 1, "value"]
    assert "emp01" in r.json()["errors"][0]["msg"]
    assert "1 to 5" in r.json()["errors"][0]["msg"]
    assert len(site.answers(inv_id)) == 1
    # a wrong or missing CSRF token: 403, nothing saved
    assert _autosave(site, token, one, "0" * 64).status_code == 403
    assert site.client.post(f"/take/{token}/answers", json=one).status_code == 403
    assert len(site.answers(inv_id)) == 1
    # the page reached is where the candidate resumes
    assert site.client.get(f"/take/{token}").headers["location"] == f"/take/{token}/page/2"
    # unknown link
    assert _autosave(site, "x" * 22, one, csrf).status_code == 404


def test_form_post_needs_csrf_and_privacy(site: Site) -> None:
    inv_id, token = site.invite("rep-types")
    welcome = site.client.get(f"/take/{token}")
    csrf = Inputs(welcome.text).hidden["csrf"]
    assert 'name="accept_privacy"' in welcome.text
    assert "about 10 minutes" in welcome.text
    # pages are not shown before the privacy notice is accepted
    assert site.client.get(f"/take/{token}/page/1").headers["location"] == f"/take/{token}"
    r = site.client.post(f"/take/{token}/start", data={"csrf": csrf})
    assert r.status_code == 422
    assert "There is a problem" in r.text
    assert 'href="#accept_privacy"' in r.text
    r = site.client.post(f"/take/{token}/start", data={"csrf": "nope", "accept_privacy": "yes"})
    assert r.status_code == 403
    _start(site, token)
    r = site.client.post(f"/take/{token}/page/1", data={"csrf": "nope", "ctl01": "3"})
    assert r.status_code == 403
    assert site.answers(inv_id) == []
    # a value off the scale: the page again, 422, naming the item, nothing saved
    page = Inputs(site.client.get(f"/take/{token}/page/1").text)
    r = site.client.post(f"/take/{token}/page/1", data={**page.hidden, "acc01": "3", "ctl01": "7"})
    assert r.status_code == 422
    assert "&#39;ctl01&#39;: expected a whole number from 1 to 5" in r.text
    assert site.answers(inv_id) == []


def test_unknown_and_erased_links_get_the_same_404(site: Site) -> None:
    inv_id, token = site.invite("rep-types")
    _start(site, token)
    assert site.client.delete(f"/v1/invitations/{inv_id}", headers=AUTH).status_code == 200
    erased = site.client.get(f"/take/{token}")
    unknown = site.client.get("/take/AAAAAAAAAAAAAAAAAAAAAA")
    assert erased.status_code == unknown.status_code == 404
    assert erased.content == unknown.content
    assert "This link does not work" in erased.text
    assert site.client.get(f"/take/{token}/page/1").content == unknown.content


def test_expired_and_withdrawn_pages(site: Site) -> None:
    inv_id, token = site.invite("rep-types")
    site.set(inv_id, expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
    r = site.client.get(f"/take/{token}")
    assert r.status_code == 410
    assert "This link has expired" in r.text
    inv2, token2 = site.invite("rep-types")
    _start(site, token2)
    csrf = Inputs(site.client.get(f"/take/{token2}/page/1").text).hidden["csrf"]
    assert site.client.post(f"/v1/invitations/{inv2}/withdraw", headers=AUTH).status_code == 200
    r = site.client.get(f"/take/{token2}/page/1")
    assert r.status_code == 410
    assert "This invitation was withdrawn" in r.text
    saved = _autosave(site, token2, {"answers": []}, csrf)
    assert saved.status_code == 410


def test_security_headers_on_every_take_response(site: Site) -> None:
    _, token = site.invite("rep-types")
    for r in (
        site.client.get(f"/take/{token}"),
        site.client.get("/take/unknown-token"),
        site.client.get(f"/take/{token}/page/1"),  # a redirect
        site.client.post(f"/take/{token}/answers", json={}),
    ):
        assert r.headers["content-security-policy"].startswith("default-src 'self'")
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert r.headers["cache-control"] == "no-store"
        assert "set-cookie" not in r.headers
    page = site.client.get(f"/take/{token}").text
    assert "<script>" not in page
    assert "style=" not in page
    assert "<style" not in page
    assert 'lang="en"' in page
    assert "<title>" in page
    assert 'href="#main"' in page
    css = site.client.get("/assets/take.css")
    assert css.status_code == 200
    assert css.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert ":focus-visible" in css.text
    js = site.client.get("/assets/take.js")
    assert js.status_code == 200
    assert "X-CSRF-Token" in js.text


def test_unknown_token_lookups_are_rate_limited(db_url: str) -> None:
    for s in _site(db_url, token_guess_limit=3):
        _, token = s.invite("rep-types")
        codes = [s.client.get(f"/take/guess{i:017d}").status_code for i in range(3)]
        assert codes == [404, 404, 404]
        r = s.client.get("/take/guess-four")
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) >= 1
        # while blocked, a real link gets the same answer (nothing to learn)
        assert s.client.get(f"/take/{token}").status_code == 429


def test_two_tabs_finishing(site: Site) -> None:
    _inv_id, token = site.invite("service-recovery")
    _given, pages = _take_all(site, token, random.Random(9))
    # a second tab still showing the last page posts finish again: the thank-you page
    r = site.client.post(f"/take/{token}/page/{pages}", data={"nav": "finish", "csrf": "whatever"})
    assert r.status_code == 303
    assert r.headers["location"] == f"/take/{token}/done"
    r = site.client.post(
        f"/take/{token}/answers", json={"answers": []}, headers={"X-CSRF-Token": "x"}
    )
    assert r.status_code == 409


def test_access_log_filter_hides_the_token() -> None:
    rec = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", "/take/SeCrEtToKeN_123/page/2?missing=1", "1.1", 200),
        None,
    )
    NoQueryFilter().filter(rec)
    assert rec.getMessage() == '127.0.0.1:5 - "GET /take/***/page/2 HTTP/1.1" 200'


@pytest.mark.parametrize("questionnaire", ["rep-types", "service-recovery", "rep-hiring"])
def test_welcome_page_shows_candidate_text_and_one_estimated_time(
    site: Site, questionnaire: str
) -> None:
    q = repprofile.load_questionnaire(questionnaire)
    _, token = site.invite(questionnaire)
    text = site.client.get(f"/take/{token}").text
    # the instructions are for the candidate; the description is the recruiter's
    assert q.instructions is not None
    assert q.instructions.split(". ")[0].replace('"', "&#34;") in text
    assert q.description is not None
    for sentence in q.description.split(". "):
        if sentence[:60] not in q.instructions:  # a sentence both share may show
            assert sentence[:60] not in text
    for internal in ("SME", "draft key", "not validated", "validated instrument"):
        assert internal not in text
    # every time the page states is the one the instructions state (rep-hiring: 35,
    # where the computed estimate, 36, used to stand beside it)
    stated = {"rep-types": "10", "service-recovery": "25", "rep-hiring": "35"}[questionnaire]
    times = re.findall(r"about (\d+) minutes", text)
    assert times == [stated, stated]


def _questionnaire(tmp_path: Path, instructions: str | None) -> repprofile.Questionnaire:
    from tests.conftest import MINI_YAML

    text = MINI_YAML if instructions is None else MINI_YAML + f"instructions: {instructions}\n"
    path = tmp_path / "mini.yaml"
    path.write_text(text, encoding="utf-8")
    return repprofile.load_questionnaire(path)


def test_estimated_minutes_follows_the_instructions(tmp_path: Path) -> None:
    # stated once: that number (not the computed one, 1)
    assert estimated_minutes(_questionnaire(tmp_path, "It takes about 12 minutes.")) == 12
    # stated twice alike: still that number
    q = _questionnaire(tmp_path, "About 3 minutes. Really, 3 minutes.")
    assert estimated_minutes(q) == 3
    # different numbers (one per part): no separate estimate on the page
    q = _questionnaire(tmp_path, "Part one takes 10 minutes, part two 25 minutes.")
    assert estimated_minutes(q) is None
    # no time stated: computed, 6 Likert items x 7.5 s = 45 s -> 1 minute
    assert estimated_minutes(_questionnaire(tmp_path, None)) == 1
    assert estimated_minutes(_questionnaire(tmp_path, "Answer honestly.")) == 1
    # the bundled rep-hiring: 80 Likert items and 17 scenarios would compute to 36
    rh = repprofile.load_questionnaire("rep-hiring")
    assert estimated_minutes(rh) == 35
