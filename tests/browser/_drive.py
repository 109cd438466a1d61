"""Driving the candidate's pages with Playwright: read the radio groups of a page, answer
them by pointer or by keyboard only, move between pages, and run axe-core.

The selectors are the URL and form contract of the candidate pages (docs/web-assessment.md):
radio ``name`` = item id (an SJT option: ``ITEM.OPTION``, ``ITEM.most`` ...), ``value`` = the
answer; ``<button name="nav" value="back|next|finish">``; a checkbox ``accept_privacy`` on the
welcome page.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page

Chooser = Callable[[str, list[str]], str]

PAGE_URL = re.compile(r"/take/[^/]+/page/(\d+)$")
DONE_URL = re.compile(r"/take/[^/]+/done$")

_GROUPS = """() => {
  const out = {};
  for (const r of document.querySelectorAll('form input[type=radio]')) {
    (out[r.name] = out[r.name] || []).push(r.value);
  }
  return out;
}"""
_CHECKED = """() => {
  const out = {};
  for (const r of document.querySelectorAll('form input[type=radio]:checked')) {
    out[r.name] = r.value;
  }
  return out;
}"""
_ACTIVE = """() => {
  const e = document.activeElement;
  if (!e) return null;
  return {tag: e.tagName.toLowerCase(), type: e.type || '', name: e.name || '',
          value: e.value || '', checked: !!e.checked};
}"""
# Is the focused element visibly marked? An outline or a box shadow on it or on its label
# (a custom radio may draw the ring on the label).
_FOCUS_VISIBLE = """() => {
  const e = document.activeElement;
  const marked = (el) => {
    if (!el) return false;
    const s = getComputedStyle(el);
    const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
    return outline || (s.boxShadow && s.boxShadow !== 'none');
  };
  const label = e && (e.closest('label')
                      || (e.id && document.querySelector(`label[for="${e.id}"]`)));
  return marked(e) || marked(label);
}"""


def page_number(page: Page) -> int | None:
    """``n`` of ``/take/TOKEN/page/n``, or None on another page."""
    m = PAGE_URL.search(page.url.split("?", 1)[0])
    return int(m.group(1)) if m else None


def radio_groups(page: Page) -> dict[str, list[str]]:
    """The radio groups of the page's form: name -> values in document order."""
    out: dict[str, list[str]] = page.evaluate(_GROUPS)
    return out


def checked(page: Page) -> dict[str, str]:
    """The checked radio of each group: name -> value."""
    out: dict[str, str] = page.evaluate(_CHECKED)
    return out


def active(page: Page) -> dict[str, Any] | None:
    """The focused element: tag, type, name, value, checked."""
    out: dict[str, Any] | None = page.evaluate(_ACTIVE)
    return out


def focus_visible(page: Page) -> bool:
    """Whether the focused element (or its label) has an outline or box shadow."""
    return bool(page.evaluate(_FOCUS_VISIBLE))


def status_of(page: Page, url: str) -> int:
    """Open ``url``; the HTTP status of the page."""
    response = page.goto(url)
    assert response is not None, f"no response for {url}"
    return response.status


def accept_privacy(page: Page) -> None:
    """Welcome page: tick the privacy notice and start (pointer)."""
    page.check("input[name=accept_privacy]")
    with page.expect_navigation():
        page.locator("form[action$='/start'] [type=submit]").first.click()


def nav(page: Page, value: str) -> None:
    """Press the form's ``nav`` button ``back``, ``next`` or ``finish`` (pointer)."""
    with page.expect_navigation():
        page.click(f"button[name=nav][value={value}]")


def answer_page(page: Page, choose: Chooser, limit: int | None = None) -> dict[str, str]:
    """Check a radio in every group of the page (or the first ``limit``) by pointer;
    returns what was chosen."""
    chosen: dict[str, str] = {}
    for name, values in list(radio_groups(page).items())[:limit]:
        value = choose(name, values)
        page.check(f'input[type=radio][name="{name}"][value="{value}"]')
        chosen[name] = value
    return chosen


def next_or_finish(page: Page) -> str:
    """``finish`` on the last page, else ``next``."""
    return "finish" if page.locator("button[name=nav][value=finish]").count() else "next"


def take_by_pointer(page: Page, url: str, choose: Chooser, max_pages: int = 40) -> dict[str, str]:
    """Open the link, accept the notice, answer every page and finish; returns every answer
    given (radio name -> value). Ends on the thank-you page."""
    page.goto(url)
    accept_privacy(page)
    given: dict[str, str] = {}
    for _ in range(max_pages):
        assert page_number(page) is not None, f"expected a questionnaire page, at {page.url}"
        given.update(answer_page(page, choose))
        nav(page, next_or_finish(page))
        if DONE_URL.search(page.url):
            return given
    raise AssertionError(f"not finished after {max_pages} pages, at {page.url}")


# --------------------------------------------------------------------------- keyboard only


def tab_to(
    page: Page, accept: Callable[[dict[str, Any]], bool], what: str, limit: int = 80
) -> None:
    """Press Tab until the focused element satisfies ``accept``."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        el = active(page)
        if el is not None and accept(el):
            return
    raise AssertionError(f"{limit} presses of Tab never reached {what}; last focus {active(page)}")


def keyboard_choose(page: Page, name: str, values: list[str], value: str) -> None:
    """Tab into radio group ``name``, then Space and arrow keys until ``value`` is checked."""
    tab_to(page, lambda e: e["type"] == "radio" and e["name"] == name, f"radio group {name!r}")
    assert focus_visible(page), f"no visible focus on radio group {name!r}"
    el = active(page)
    assert el is not None
    if not el["checked"]:
        page.keyboard.press("Space")
    steps = values.index(value) - values.index(active(page)["value"])  # type: ignore[index]
    for _ in range(abs(steps)):
        page.keyboard.press("ArrowRight" if steps > 0 else "ArrowLeft")
    got = checked(page).get(name)
    assert got == value, f"radio group {name!r}: keyboard gave {got!r}, wanted {value!r}"


def keyboard_press_button(page: Page, value: str) -> None:
    """Tab to ``<button name=nav value=VALUE>`` and press Enter."""
    tab_to(
        page,
        lambda e: e["tag"] == "button" and e["name"] == "nav" and e["value"] == value,
        f"the {value!r} button",
    )
    assert focus_visible(page), f"no visible focus on the {value!r} button"
    with page.expect_navigation():
        page.keyboard.press("Enter")


def take_by_keyboard(page: Page, url: str, choose: Chooser, max_pages: int = 40) -> dict[str, str]:
    """:func:`take_by_pointer` with the keyboard alone: Tab, Space, arrow keys, Enter."""
    page.goto(url)
    tab_to(page, lambda e: e["name"] == "accept_privacy", "the privacy checkbox")
    assert focus_visible(page), "no visible focus on the privacy checkbox"
    page.keyboard.press("Space")
    assert page.is_checked("input[name=accept_privacy]")
    tab_to(page, lambda e: e["tag"] in ("button", "input") and e["type"] == "submit", "start")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    given: dict[str, str] = {}
    for _ in range(max_pages):
        assert page_number(page) is not None, f"expected a questionnaire page, at {page.url}"
        for name, values in radio_groups(page).items():
            value = choose(name, values)
            keyboard_choose(page, name, values, value)
            given[name] = value
        keyboard_press_button(page, next_or_finish(page))
        if DONE_URL.search(page.url):
            return given
    raise AssertionError(f"not finished after {max_pages} pages, at {page.url}")


# --------------------------------------------------------------------------- axe-core

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def axe_violations(page: Page, axe_source: str) -> list[dict[str, Any]]:
    """axe-core's violations on the page (WCAG 2.0/2.1/2.2 A and AA rules). The script is
    injected through the DevTools protocol's evaluate, which the page's CSP does not
    block."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source)
    out: list[dict[str, Any]] = page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}}))"
        ".violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' '))}))",
        AXE_TAGS,
    )
    return out


def serious(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The violations of impact serious or critical."""
    return [v for v in violations if v["impact"] in ("serious", "critical")]
