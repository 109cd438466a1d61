"""axe-core (npm, tests/browser/package.json) on every candidate page: the welcome page, a
page of Likert items, a page of SJT items of 'rep-hiring', the thank-you page and the
pages of an expired, a withdrawn and an unknown link. No violation of impact serious or
critical of the WCAG 2.0, 2.1 and 2.2 A/AA rules is allowed.

With REPPROFILE_SCREENSHOTS=1 the test also (re)makes the screenshots of
docs/web-assessment.md (docs/img/web-*.png).
"""

from __future__ import annotations

import secrets
from typing import Any

from playwright.sync_api import BrowserContext, Page

import repprofile

from ._drive import (
    DONE_URL,
    accept_privacy,
    axe_violations,
    page_number,
    radio_groups,
    serious,
    status_of,
    take_by_pointer,
)
from ._harness import (
    SCREENSHOTS,
    Server,
    answer_for,
    api,
    expire,
    invitation,
    invite,
    screenshots_on,
)


def _shot(page: Page, name: str, full_page: bool = False, height: int | None = None) -> None:
    """docs/img/web-NAME.png, only with REPPROFILE_SCREENSHOTS=1 (the whole page, the
    viewport, or its top ``height`` pixels)."""
    if screenshots_on():
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = str(SCREENSHOTS / f"web-{name}.png")
        if height is not None:
            page.screenshot(path=path, clip={"x": 0, "y": 0, "width": 1280, "height": height})
        else:
            page.screenshot(path=path, full_page=full_page)


def _report(found: dict[str, list[dict[str, Any]]]) -> str:
    lines = []
    for where, violations in found.items():
        for v in violations:
            lines.append(f"{where}: {v['impact']} {v['id']} ({v['help']}) at {v['nodes'][:3]}")
    return "\n".join(lines)


def test_axe_on_every_candidate_page(
    server: Server, context: BrowserContext, axe_source: str
) -> None:
    """Every page a candidate can meet, checked by axe-core."""
    found: dict[str, list[dict[str, Any]]] = {}
    page = context.new_page()

    def check(where: str) -> None:
        found[where] = axe_violations(page, axe_source)

    hiring = invite(server, "axe-hiring", "rep-hiring")
    page.goto(hiring.url)
    assert page.locator("h1").count() == 1
    check("welcome")
    _shot(page, "welcome", full_page=True)
    accept_privacy(page)
    assert page_number(page) == 1
    check("page 1 (Likert)")
    _shot(page, "item-desktop")
    for n in range(2, 41):
        page.goto(f"{hiring.url}/page/{n}")
        if any("." in name for name in radio_groups(page)):
            break
    else:
        raise AssertionError("no page of rep-hiring holds an SJT item")
    check(f"page {n} (SJT)")
    _shot(page, "sjt")

    done = invite(server, "axe-done", "rep-types")
    take_by_pointer(page, done.url, answer_for(repprofile.load_questionnaire("rep-types"), 4))
    assert DONE_URL.search(page.url)
    check("thank-you")
    _shot(page, "done", height=360)
    thanks = page.inner_text("h1")
    page.goto(done.url)  # a completed link shows the thank-you page again
    assert page.inner_text("h1") == thanks

    expired = invite(server, "axe-expired", "rep-types")
    expire(server, expired)
    assert status_of(page, expired.url) == 410
    check("expired")

    withdrawn = invite(server, "axe-withdrawn", "rep-types")
    assert api(server, "POST", f"/v1/invitations/{withdrawn.id}/withdraw")[0] == 200
    assert status_of(page, withdrawn.url) == 410
    check("withdrawn")

    assert status_of(page, f"{server.url}/take/{secrets.token_urlsafe(16)}") == 404
    check("unknown")

    # the check itself can fail: an unlabelled input added to the page is a critical finding
    page.evaluate("() => document.body.append(document.createElement('input'))")
    assert "label" in [v["id"] for v in serious(axe_violations(page, axe_source))]

    bad = {where: serious(v) for where, v in found.items() if serious(v)}
    counts = {where: len(v) for where, v in found.items()}
    print("axe violations per page (all impacts):", counts)  # shown with -rP / -s
    assert not bad, "axe-core found serious or critical violations:\n" + _report(bad)


def test_erased_link_shows_the_unknown_page(server: Server, context: BrowserContext) -> None:
    """An erased invitation's link and a made-up link get the same 404 page (no probing)."""
    inv = invite(server, "erased-1", "rep-types")
    assert api(server, "DELETE", f"/v1/invitations/{inv.id}")[0] == 200
    assert invitation(server, inv)["status"] == "erased"
    page = context.new_page()
    assert status_of(page, inv.url) == 404
    erased_text = page.inner_text("body")
    assert status_of(page, f"{server.url}/take/{secrets.token_urlsafe(16)}") == 404
    assert page.inner_text("body") == erased_text
