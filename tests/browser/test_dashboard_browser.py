"""The dashboard in headless Chromium: keyboard work, bulk, undo, security, screenshots."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass

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
from tests.browser.chromium import SCREENSHOTS, requires_chromium
from tests.browser.model_cards import model_card

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

# The browser (`browser`, one Chromium per session) comes from tests/browser/conftest.py.
pytestmark = requires_chromium


# A long reader letter whose threatening sentence comes late: folded on the queue, the sentence must stay
# in view.
LONG_SPAN = "dann wird es Zeit, dass jemand diesen Redakteuren einen Besuch abstattet"
LONG_TEXT = (
    "Ich lese diese Zeitung seit zwanzig Jahren und habe mir vieles gefallen lassen. "
    + "Die Berichterstattung über Zentralasien ist einseitig, die Quellen sind dünn, und wer anders "
    "denkt, wird als Troll abgestempelt. "
    * 8
    + "Wenn das so weitergeht, "
    + LONG_SPAN
    + ". Das meine ich ernst. "
    + "Im Übrigen fehlt jede Einordnung der Energiepolitik Kasachstans. " * 4
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
        seed.add_comment(
            session,
            site.id,
            LONG_TEXT,
            scores={"toxicity": 0.72, "threat": 0.7},
            attribute="threat",
            words=LONG_SPAN,
            author="vielschreiber",
        )
        model_versions.register(session, "2026-11-20-de", model_card("2026-11-20T09:00:00Z", 0.741, 0.081))
        model_versions.register(session, "2026-11-24-de", model_card("2026-11-24T09:00:00Z", 0.769, 0.064))
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
    # The live poll may briefly show a count from before the last decision; it settles on the next one.
    expect(page.locator('[data-count="held"]')).to_have_text(str(before - 5))
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
    confirm = page.locator("section.confirm")
    expect(confirm).to_contain_text("höchsten Wert")
    expect(confirm.locator("ul.examples li a").first).to_have_attribute("href", re.compile(r"^/comments/"))
    assert 1 <= confirm.locator("ul.examples li").count() <= 5
    page.screenshot(path=str(SCREENSHOTS / "band-confirm.png"))
    page.click("section.confirm button.reject")
    page.wait_for_selector(".flash-success")
    # Back on the held queue narrowed to that band: nothing left in it.
    assert page.locator("#cards .card").count() == 0
    with live.sessions() as session:
        band = session.scalars(select(Decision).where(Decision.reason_code == "propaganda")).all()
        assert band and all(d.source == "moderator" and d.action == "reject" for d in band)
        band = [d for d in band if d.created_at == max(d.created_at for d in band)]  # this action's
    # "u" undoes the band too (the flash's undo button does the same), and the restored cards come into
    # view with focus on the first.
    page.keyboard.press("u")
    restored = page.locator("#cards .card.restored")
    expect(restored).to_have_count(len(band))
    expect(page.locator(".toast-text")).to_have_text(f"{len(band)} Entscheidungen rückgängig gemacht.")
    assert page.evaluate("document.activeElement.classList.contains('restored')")
    box = restored.first.bounding_box()
    assert box is not None and 0 <= box["y"] < 900
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


def test_an_admin_chooses_to_decide_kazakh_comments_by_their_scores(browser: object, live: Live) -> None:
    admin = new_page(browser, live, "admin@example.org", "admin-password-1")
    admin.goto(live.url + f"/settings/sites/{live.site_id}")
    languages = admin.locator("fieldset.languages")
    expect(languages.locator("legend")).to_have_text("Kommentare auf Ukrainisch und Kasachisch")
    kazakh = languages.get_by_label("Kommentare auf Kasachisch nach ihren Werten entscheiden")
    expect(kazakh).not_to_be_checked()
    kazakh.check()
    admin.click("button[value=save]")
    expect(admin.locator(".flash-success")).to_be_visible()
    languages = admin.locator("fieldset.languages")
    ukrainian = languages.get_by_label("Kommentare auf Ukrainisch nach ihren Werten entscheiden")
    expect(languages.get_by_label("Kommentare auf Kasachisch nach ihren Werten entscheiden")).to_be_checked()
    expect(ukrainian).not_to_be_checked()
    languages.scroll_into_view_if_needed()
    box = languages.bounding_box()
    assert box is not None
    admin.screenshot(path=str(SCREENSHOTS / "site-policy-languages.png"), clip=box)
    # Back to the default, so the other tests see the site as seeded.
    languages.get_by_label("Kommentare auf Kasachisch nach ihren Werten entscheiden").uncheck()
    admin.click("button[value=save]")
    expect(admin.locator(".flash-success")).to_be_visible()


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
        "settings.png": "/settings",
        "queue-rejected.png": "/queue/rejected",
    }
    for name, path in shots.items():
        admin.goto(live.url + path)
        admin.screenshot(path=str(SCREENSHOTS / name), full_page=name == "stats.png")
    admin.goto(live.url + "/models")
    # The active model's licences spelled out, with the warning and the way to a model without them.
    warning = admin.locator(".licence-warning")
    expect(warning).to_be_visible()
    for corpus in ("germs_at", "semeval2021_task6", "germeval2019"):
        expect(warning).to_contain_text(corpus)
    expect(warning.locator("pre.command")).to_have_text(
        "moderation train --licences cc-by-4.0,mit,cc0 --activate"
    )
    # Key figures in the interface's format, against the version before; raw values folded away.
    figures = admin.locator("table.figures-table")
    expect(figures.locator("tr", has_text="GermEval 2018 Makro-F1")).to_contain_text("0,769")
    expect(figures.locator("tr", has_text="GermEval 2018 Makro-F1")).to_contain_text("+0,028")
    expect(figures.locator("tr", has_text="zivile Kommentare")).to_contain_text("0,064")
    assert not re.search(r"\d\.\d", figures.inner_text()), "dot decimals in the German figures"
    assert admin.locator("pre.json").count() == 0
    expect(admin.locator("details.raw-metrics")).not_to_have_attribute("open", "")
    admin.screenshot(path=str(SCREENSHOTS / "models.png"), full_page=True)
    section = admin.locator(f"#site-{live.site_id}")
    expect(section).to_contain_text("Seitenmodell")
    expect(section.locator("button", has_text="Zurück zu")).to_be_visible()
    section.scroll_into_view_if_needed()
    admin.screenshot(path=str(SCREENSHOTS / "models-site.png"), full_page=True)
    # What-if: a higher propaganda hold threshold would approve some held comments; the preview counts
    # each action before and after and links examples to their cards.
    admin.goto(live.url + f"/settings/sites/{live.site_id}")
    admin.fill("[name=propaganda_hold]", "0,85")
    admin.click("button[value=preview]")
    preview = admin.locator("section.preview")
    expect(preview.locator("table.whatif tbody tr")).to_have_count(3)
    approve = preview.locator("table.whatif tbody tr").first.locator("td.num")
    before, after = (int(approve.nth(i).inner_text().replace(".", "")) for i in (0, 1))
    assert after > before
    expect(preview).to_contain_text("würden anders entschieden")
    example = preview.locator(".whatif-examples li a").first
    expect(example).to_have_attribute("href", re.compile(r"^/comments/[0-9a-f]{32}$"))
    expect(preview.locator(".whatif-examples li").first).to_contain_text("zurückhalten → freigeben")
    admin.evaluate("window.scrollTo(0, 0)")
    box = preview.bounding_box()
    assert box is not None
    admin.screenshot(path=str(SCREENSHOTS / "site-policy-preview.png"), full_page=True, clip=box)
    target = example.get_attribute("href")
    example.click()
    admin.wait_for_url(live.url + str(target))
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
    tablet.screenshot(path=str(SCREENSHOTS / "queue-tablet-portrait.png"))
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


def _card_tops(page: object) -> list[float]:
    return page.evaluate(  # type: ignore[attr-defined,no-any-return]
        "() => Array.from(document.querySelectorAll('#cards .card')).map(c => c.getBoundingClientRect().top)"
    )


def test_dense_queue_folded_texts_roomy_view_and_tablet_keyboard(browser: object, live: Live) -> None:
    page = new_page(browser, live, "mod@example.org", "moderator-password-1")
    # At 1366x900 at least five cards start on the first screen.
    started = [top for top in _card_tops(page) if top < 900]
    assert len(started) >= 5, started
    page.screenshot(path=str(SCREENSHOTS / "queue-held-de.png"))
    # The long letter is folded; its threatening sentence (late in the text) is shown in the excerpt.
    page.goto(live.url + "/?q=Redakteuren")
    card = page.locator("#cards .card").first
    short, full = card.locator(".text-folded"), card.locator(".text-full")
    expect(short).to_be_visible()
    expect(full).to_be_hidden()
    assert LONG_SPAN in short.locator("mark.hl").inner_text()
    assert len(short.inner_text()) < len(LONG_TEXT) / 2
    more = card.locator("button.more")
    expect(more).to_have_text("mehr anzeigen")
    expect(more).to_have_attribute("aria-expanded", "false")
    page.screenshot(path=str(SCREENSHOTS / "queue-folded-long.png"))
    # Keyboard: Tab reaches the button, Enter unfolds, "m" folds again on the active card.
    more.focus()
    page.keyboard.press("Enter")
    expect(more).to_have_attribute("aria-expanded", "true")
    expect(full).to_be_visible()
    expect(short).to_be_hidden()
    expect(more).to_have_text("weniger anzeigen")
    page.keyboard.press("j")
    page.keyboard.press("m")
    expect(more).to_have_attribute("aria-expanded", "false")
    # Score details: one key away ("s"), and the button says whether they are open.
    scores = card.locator(".explain")
    expect(scores).to_be_hidden()
    page.keyboard.press("s")
    expect(scores).to_be_visible()
    expect(card.locator("button.scores-toggle")).to_have_attribute("aria-expanded", "true")
    expect(scores.locator(".score.high dt").first).to_have_text("Toxizität")
    # The roomy view shows every card's scores and is remembered for the next page load.
    page.goto(live.url + "/")
    page.click(".view-toggle")
    expect(page.locator(".view-toggle")).to_have_attribute("aria-pressed", "true")
    page.reload()
    expect(page.locator("body")).to_have_class("roomy")
    expect(page.locator("#cards .card .explain").first).to_be_visible()
    page.click(".view-toggle")
    expect(page.locator("#cards .card .explain").first).to_be_hidden()
    # Tablet width (1024 px): the bulk bar stays on one line, and the keyboard alone does bulk + undo.
    page.set_viewport_size({"width": 1024, "height": 768})
    page.reload()
    tops = page.evaluate(
        """() => Array.from(document.querySelectorAll('#bulk > label, #bulk > button, #bulk > select'))
              .filter(e => e.offsetParent !== null).map(e => Math.round(e.getBoundingClientRect().top
              + e.getBoundingClientRect().height / 2))"""
    )
    assert max(tops) - min(tops) <= 4, f"the bulk bar wraps: {tops}"
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    page.screenshot(path=str(SCREENSHOTS / "queue-tablet.png"))
    # Keyboard alone: select two cards, reject them with the bulk bar's reason, undo with "u".
    before = held_count(page)
    page.keyboard.press("j")
    page.keyboard.press("x")
    page.keyboard.press("j")
    page.keyboard.press("x")
    picked = page.eval_on_selector_all(".pick:checked", "els => els.map(e => e.value)")
    assert len(picked) == 2
    page.focus("#bulk-reason")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator('[data-count="held"]')).to_have_text(str(before - 2))
    for comment_id in picked:
        expect(page.locator(f"#c-{comment_id}")).to_have_count(0)
    page.keyboard.press("u")
    restored = page.locator(f"#c-{picked[0]}")
    expect(restored).to_have_class(re.compile(r"\brestored\b"))
    expect(page.locator('[data-count="held"]')).to_have_text(str(before))
    assert page.evaluate("document.activeElement.id") == f"c-{picked[0]}"
    box = restored.bounding_box()
    assert box is not None and 0 <= box["y"] < 768


def test_comment_page_decides_in_place_with_undo(browser: object, live: Live) -> None:
    with transaction(live.sessions) as session:
        comment = seed.add_comment(
            session, live.site_id, "Die Wahrheit über Astana verschweigt ihr.", scores={"propaganda": 0.6}
        )
        comment_id = comment.id
    page = new_page(browser, live, "mod@example.org", "moderator-password-1")
    page.goto(live.url + f"/comments/{comment_id}")
    page.evaluate("window.stillTheSamePage = true")
    decisions = page.locator("#history table tbody tr")
    trail = page.locator("#history ol.trail li")
    assert decisions.count() == 1 and trail.count() == 1
    # The reader-facing reason is there, folded away, with a German and an English field.
    reader = page.locator("details.reader-reason")
    expect(reader).not_to_have_attribute("open", "")
    reader.locator("summary").click()
    expect(reader.locator("textarea[name=reader_reason_de]")).to_be_visible()
    expect(reader.locator("textarea[name=reader_reason_en]")).to_be_visible()
    page.keyboard.press("Escape")
    page.keyboard.press("a")
    expect(page.locator(".toast-text")).to_have_text("1 Kommentar freigegeben.")
    expect(page.locator(".toast .undo")).to_be_visible()
    expect(page.locator("#card-area .badge")).to_have_text("freigegeben")
    expect(decisions).to_have_count(2)
    expect(decisions.last).to_contain_text("Moderation")
    expect(trail).to_have_count(2)
    page.screenshot(path=str(SCREENSHOTS / "comment-decided.png"), full_page=True)
    page.keyboard.press("u")
    expect(page.locator(".toast-text")).to_have_text("1 Entscheidung rückgängig gemacht.")
    expect(page.locator("#card-area .badge")).to_have_text("zurückgehalten")
    expect(decisions).to_have_count(1)
    expect(trail).to_have_count(3)
    expect(trail.last).to_contain_text("Rückgängig gemacht, frühere Entscheidung wiederhergestellt")
    assert page.evaluate("window.stillTheSamePage") is True
    assert page.evaluate("document.activeElement.id") == f"c-{comment_id}"
    # A rejection with the reader-facing reason written out: stored with the decision.
    reader = page.locator("details.reader-reason")
    reader.locator("summary").click()
    wording = "Ihr Kommentar behauptet etwas ohne Beleg."
    reader.locator("textarea[name=reader_reason_de]").fill(wording)
    page.select_option(f"#reason-{comment_id}", "propaganda")
    page.click("#card-area button.reject")
    expect(page.locator("#card-area .badge")).to_have_text("abgelehnt")
    expect(decisions).to_have_count(2)
    with live.sessions() as session:
        latest = session.scalars(
            select(Decision).where(Decision.comment_id == comment_id).order_by(Decision.id.desc())
        ).first()
        assert latest is not None and latest.reader_reason == {"de": wording}
    assert page.evaluate("window.stillTheSamePage") is True
