"""The dashboard in headless Chromium: keyboard work, bulk, undo, security, screenshots."""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from moderation.config import Config
from moderation.resources import Resources
from moderation.store import model_versions
from moderation.store.accounts import create_site
from moderation.store.db import make_engine, make_session_factory, migrate, transaction
from moderation.store.tables import Decision
from moderation.web.app import create_app
from tests.browser import seed

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

CHROMIUM = Path("/usr/bin/chromium")
# `make screenshots` refreshes the committed pictures; ordinary runs write them to a scratch directory.
SCREENSHOTS = (
    Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    if os.environ.get("UPDATE_SCREENSHOTS")
    else Path(tempfile.mkdtemp(prefix="moderation-screenshots-"))
)
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian chromium is not installed (make test installs it)"
)


@dataclass
class Live:
    url: str
    sessions: sessionmaker[Session]
    site_id: int


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    from werkzeug.serving import make_server

    home = tmp_path_factory.mktemp("dashboard")
    url = f"sqlite:///{home / 'dashboard.db'}"
    engine = make_engine(url)
    migrate(engine)
    sessions = make_session_factory(engine)
    with transaction(sessions) as session:
        site = create_site(session, "welt-nachrichten").site
        seed.make_users(session)
        seed.seed(session, site.id, count=40)
        seed.add_comment(session, site.id, seed.XSS, scores={"toxicity": 0.55}, author="angreifer")
        card = {
            "version": "2026-11-24-de",
            "created": "2026-11-24T09:00:00Z",
            "corpora": [
                {"name": "germeval2018", "licence": "cc-by-4.0"},
                {"name": "synthetic_de", "licence": "cc0"},
            ],
            "metrics": {"toxicity_macro_f1": 0.74, "propaganda_f1": 0.69},
        }
        model_versions.register(session, "2026-11-20-de", dict(card, version="2026-11-20-de"))
        model_versions.register(session, card["version"], card)  # type: ignore[arg-type]
        model_versions.activate(session, "2026-11-24-de", actor="test")
        seed.add_site_models(session, site.id, site.name)
        site_id = site.id
    config = Config(home=home, database_url=url, redis_url=None, secret_key="browser-test-secret")
    app = create_app(
        resources=Resources(config, engine, sessions, None), test_config={"DASHBOARD_POLL_MS": 500}
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Live(f"http://127.0.0.1:{server.server_port}", sessions, site_id)
    server.shutdown()
    engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def new_page(browser: object, live: Live, email: str, password: str, **context: object) -> object:
    context.setdefault("locale", "de-DE")  # date inputs follow the browser's locale, as a moderator's would
    page = browser.new_context(viewport={"width": 1366, "height": 900}, **context).new_page()  # type: ignore[attr-defined]
    page.goto(live.url + "/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.press("#password", "Enter")
    page.wait_for_url(live.url + "/")
    return page


def held_count(page: object) -> int:
    return int(page.text_content('[data-count="held"]'))  # type: ignore[attr-defined]


def test_keyboard_clears_five_then_undo_and_audit(browser: object, live: Live) -> None:
    page = new_page(browser, live, "mod@example.org", "moderator-password-1")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "queue-held-de.png"), full_page=False)
    before = held_count(page)
    page.keyboard.press("j")
    for key in ("a", "a", "r", "a", "r"):
        cards = page.locator("#cards .card").count()
        page.keyboard.press(key)
        if key == "r":
            page.keyboard.press("4" if cards % 2 else "1")
        expect(page.locator("#cards .card")).to_have_count(cards - 1)
    assert held_count(page) == before - 5
    page.wait_for_selector(".toast:not([hidden])")
    page.keyboard.press("u")
    page.wait_for_load_state("load")
    expect(page.locator('[data-count="held"]')).to_have_text(str(before - 4))
    page.goto(live.url + "/audit?actor=mod%40example.org&event=comment.decided")
    rows = page.locator("table.audit tbody tr")
    assert rows.count() == 6  # five decisions and the undo's restored decision
    table = page.text_content("table.audit")
    assert "mod@example.org" in table and "moderator:" not in table
    assert "Entscheidung: " in table and "decision_id" not in table and "\\u" not in table
    page.screenshot(path=str(SCREENSHOTS / "audit.png"), full_page=False)


def test_bulk_reject_a_score_band(browser: object, live: Live) -> None:
    page = new_page(browser, live, "mod@example.org", "moderator-password-1")
    before = held_count(page)
    page.click("details.band summary")
    page.fill(".band-form [name=band_min]", "0.8")
    page.fill(".band-form [name=band_max]", "0.9")
    page.select_option(".band-form [name=reason_code]", "propaganda")
    page.click(".band-form button.reject")
    page.wait_for_selector("section.confirm")
    page.screenshot(path=str(SCREENSHOTS / "band-confirm.png"))
    page.click("section.confirm button.reject")
    page.wait_for_selector(".flash-success")
    # Back on the held queue narrowed to that band: nothing left in it.
    assert page.locator("#cards .card").count() == 0
    with live.sessions() as session:
        band = session.scalars(select(Decision).where(Decision.reason_code == "propaganda")).all()
        assert band and all(d.source == "moderator" and d.action == "reject" for d in band)
    page.click(".flash-success button.undo")
    page.wait_for_selector(".flash-success")
    page.goto(live.url + "/")
    assert held_count(page) == before


def test_script_in_comment_renders_as_text(browser: object, live: Live) -> None:
    page = new_page(browser, live, "mod@example.org", "moderator-password-1")
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(live.url + "/?q=script")
    text = page.text_content(".card .text")
    assert text == seed.XSS
    page.wait_for_timeout(300)
    assert dialogs == []
    assert page.locator(".card .text img, .card .text script").count() == 0


def test_post_without_csrf_token_is_refused(browser: object, live: Live) -> None:
    page = new_page(browser, live, "mod@example.org", "moderator-password-1")
    target = page.get_attribute("#cards .card", "data-id")
    response = page.request.post(
        live.url + "/actions/decide", form={"comment_id": target, "action": "approve"}
    )
    assert response.status == 400
    page.reload()
    assert page.locator(f"#c-{target}").count() == 1


def test_moderator_cannot_open_admin_settings(browser: object, live: Live) -> None:
    page = new_page(browser, live, "mod@example.org", "moderator-password-1")
    assert page.locator("nav a", has_text="Einstellungen").count() == 0
    response = page.goto(live.url + "/settings")
    assert response.status == 403
    page.screenshot(path=str(SCREENSHOTS / "forbidden.png"))


def test_failed_policy_save_keeps_typed_values_and_marks_the_field(browser: object, live: Live) -> None:
    admin = new_page(browser, live, "admin@example.org", "admin-password-1")
    admin.goto(live.url + f"/settings/sites/{live.site_id}")
    admin.fill("[name=toxicity_hold]", "0,7")
    admin.fill("[name=toxicity_reject]", "0,5")
    admin.fill("[name=spam_hold]", "viel")
    admin.click("button[value=save]")
    reject = admin.locator("[name=toxicity_reject]")
    expect(reject).to_have_attribute("aria-invalid", "true")
    expect(reject).to_have_value("0,5")
    expect(admin.locator("[name=spam_hold]")).to_have_value("viel")
    expect(admin.locator("[name=toxicity_hold]")).to_have_value("0,7")
    expect(admin.locator("#field-toxicity_reject-error")).to_have_text(
        "„Toxizität: ablehnen ab“ darf nicht unter „Toxizität: zurückhalten ab“ liegen."
    )
    assert reject.evaluate("e => getComputedStyle(e).borderTopWidth") == "2px"


def test_new_held_comments_appear_without_reload(browser: object, live: Live) -> None:
    page = new_page(browser, live, "mod@example.org", "moderator-password-1")
    with transaction(live.sessions) as session:
        seed.add_comment(
            session,
            live.site_id,
            "Kasachstan wird als Nächstes fallen, ihr werdet sehen!",
            scores={"toxicity": 0.62, "propaganda": 0.7},
        )
    page.wait_for_selector("#new-cards .card", timeout=5000)
    assert "als Nächstes fallen" in page.text_content("#new-cards")


def test_screenshots_of_each_page(browser: object, live: Live) -> None:
    admin = new_page(browser, live, "admin@example.org", "admin-password-1")
    shots = {
        "stats.png": "/stats",
        "models.png": "/models",
        "settings.png": "/settings",
        "queue-rejected.png": "/queue/rejected",
    }
    for name, path in shots.items():
        admin.goto(live.url + path)
        admin.screenshot(path=str(SCREENSHOTS / name), full_page=name == "stats.png")
    admin.goto(live.url + "/models")
    section = admin.locator(f"#site-{live.site_id}")
    expect(section).to_contain_text("Seitenmodell")
    expect(section.locator("button", has_text="Zurück zu")).to_be_visible()
    section.scroll_into_view_if_needed()
    admin.screenshot(path=str(SCREENSHOTS / "models-site.png"), full_page=True)
    admin.goto(live.url + f"/settings/sites/{live.site_id}")
    admin.fill("[name=toxicity_hold]", "0.4")
    admin.click("button[value=preview]")
    admin.wait_for_selector("section.preview")
    admin.screenshot(path=str(SCREENSHOTS / "site-policy-preview.png"), full_page=True)
    admin.goto(live.url + "/")
    admin.click("form.inline button[value=en]")
    admin.wait_for_selector("html[lang=en]")
    admin.screenshot(path=str(SCREENSHOTS / "queue-held-en.png"))
    admin.keyboard.press("?")
    admin.wait_for_selector("dialog.help[open]")
    admin.screenshot(path=str(SCREENSHOTS / "keyboard-help.png"))
    admin.keyboard.press("Escape")
    tagged = admin.get_attribute("#cards .card:has(.tag-narrative)", "data-id")
    admin.goto(live.url + "/comments/" + tagged)
    admin.screenshot(path=str(SCREENSHOTS / "comment.png"), full_page=True)
    tablet = browser.new_context(viewport={"width": 820, "height": 1180}, locale="de-DE").new_page()  # type: ignore[attr-defined]
    tablet.goto(live.url + "/login")
    tablet.screenshot(path=str(SCREENSHOTS / "login.png"))
    tablet.fill("#email", "mod@example.org")
    tablet.fill("#password", "moderator-password-1")
    tablet.press("#password", "Enter")
    tablet.wait_for_url(live.url + "/")
    tablet.screenshot(path=str(SCREENSHOTS / "queue-tablet.png"))
    tablet.goto(live.url + "/stats")
    tablet.screenshot(path=str(SCREENSHOTS / "stats-tablet.png"), full_page=True)
    assert len(list(SCREENSHOTS.glob("*.png"))) >= 12


def _focused(page: object) -> dict[str, object]:
    return page.evaluate(  # type: ignore[attr-defined,no-any-return]
        """() => {
          const el = document.activeElement;
          const style = getComputedStyle(el);
          return {
            tag: el.tagName.toLowerCase(),
            text: (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 40),
            inFooter: Boolean(el.closest('footer, .pager')),
            isFirstApprove: el === document.querySelector('#cards .card button.approve'),
            visible: style.outlineStyle !== 'none' || style.boxShadow !== 'none',
          };
        }"""
    )


def test_keyboard_only_tab_order_and_skip_link(browser: object, live: Live) -> None:
    page = new_page(browser, live, "mod@example.org", "moderator-password-1")
    page.keyboard.press("Tab")
    skip = _focused(page)
    assert skip["text"] in ("Zum Inhalt springen", "Skip to content") and skip["visible"]
    page.screenshot(
        path=str(SCREENSHOTS / "skip-link.png"), clip={"x": 0, "y": 0, "width": 700, "height": 120}
    )
    # Every stop on the way shows where focus is, and the first card's approve button comes before the
    # footer (and the pager), within a reasonable number of presses.
    seen = []
    for _ in range(60):
        page.keyboard.press("Tab")
        now = _focused(page)
        seen.append(now)
        assert now["visible"], f"no visible focus on {now}"
        assert not now["inFooter"], f"reached the footer before the first card: {seen}"
        if now["isFirstApprove"]:
            break
    else:
        pytest.fail(f"the first card's approve button was not reached: {seen}")
    assert [s["tag"] for s in seen].count("a") >= 4  # the main navigation and the queue tabs came first
    page.screenshot(path=str(SCREENSHOTS / "focus-approve.png"))
    # The skip link moves focus into the main content: the next Tab lands on the first queue tab.
    page.goto(live.url + "/")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('nav.tabs') !== null")
    # Every control on the page has an accessible name (a label, aria-label or text).
    unnamed = page.evaluate(
        """() => Array.from(document.querySelectorAll(
              'button, input:not([type=hidden]), select, textarea, a[href]'))
            .filter(el => el.offsetParent !== null || el.closest('details:not([open])'))
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                          && !(el.textContent || '').trim())
            .map(el => el.outerHTML.slice(0, 80))"""
    )
    assert unnamed == []
