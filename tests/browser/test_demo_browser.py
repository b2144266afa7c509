"""The demo article in headless Chromium: a reader posts through `/embed.js` and sees the decision.

A live server (real HTTP, so CORS and the Content-Security-Policy apply as on a site) with a real worker
process: one comment is published, one with a word the site bans is refused with its reason for the
reader, as the worker decides them. The worker runs without a model (it starts in a second instead of
loading one) under a policy that publishes what no model scored, so both outcomes are certain: the rules
decide, and the page shows what the API says either way.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from sqlalchemy import select

from moderation.config import Config
from moderation.resources import Resources
from moderation.store.accounts import create_site
from moderation.store.db import make_engine, make_session_factory, migrate, transaction
from moderation.store.tables import Comment, Site
from moderation.web.app import create_app
from tests.browser.chromium import SCREENSHOTS, requires_chromium, serve
from tests.conftest import TEST_REDIS_URL

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

pytestmark = requires_chromium

CIVIL = "Ich finde die Analyse zu Kasachstan sehr aufschlussreich."
BANNED = "Vollpfosten"
RUDE = f"Wer so etwas schreibt, ist ein {BANNED}."


def _worker(home: Path, database_url: str) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        REDIS_URL=TEST_REDIS_URL,
        MODERATION_HOME=str(home),
        SECRET_KEY="demo-test-secret",
    )
    return subprocess.Popen([sys.executable, "-m", "moderation", "worker"], env=env)


def _focus_is_visible(page: object) -> bool:
    return bool(
        page.evaluate(  # type: ignore[attr-defined]
            """() => { const s = getComputedStyle(document.activeElement);
                       return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2; }"""
        )
    )


def test_a_reader_posts_through_the_demo_page_and_sees_each_decision(
    browser: object, tmp_path: Path, redis_conn: redis.Redis
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    engine = make_engine(url)
    migrate(engine)
    sessions = make_session_factory(engine)
    with transaction(sessions) as session:
        site = create_site(session, "demo").site
        site.policy = {**site.policy, "banned_words": [BANNED.lower()], "fallback_action": "approve"}
    worker = _worker(home, url)  # starts while the page loads
    config = Config(home=home, database_url=url, redis_url=TEST_REDIS_URL, secret_key="demo-test-secret")
    app = create_app(resources=Resources(config, engine, sessions, redis_conn))
    try:
        with serve(app) as base:
            with transaction(sessions) as session:
                demo = session.scalars(select(Site).where(Site.name == "demo")).one()
                demo.allowed_origins = [base]
            page = browser.new_context(viewport={"width": 1000, "height": 1100}, locale="de-DE").new_page()  # type: ignore[attr-defined]
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(base + "/demo/")
            form = page.locator("#comments form")
            expect(form).to_be_visible()
            status = page.locator("#comments [role=status]")
            expect(status).to_have_attribute("aria-live", "polite")
            # Labels name the fields; the keyboard reaches them after the skip link, with a visible ring.
            name, text = page.get_by_label("Name"), page.get_by_label("Ihr Kommentar")
            page.keyboard.press("Tab")
            page.keyboard.press("Tab")
            assert page.evaluate("document.activeElement.name") == "name"
            assert _focus_is_visible(page)
            # An empty comment is refused on the page, in words, with focus on the field to fix.
            page.keyboard.press("Tab")
            page.keyboard.press("Tab")
            page.keyboard.press("Enter")
            expect(status).to_have_text("Bitte schreiben Sie zuerst einen Kommentar.")
            expect(text).to_be_focused()
            expect(text).to_have_attribute("aria-invalid", "true")

            name.fill("Leserin aus Almaty")
            text.fill(CIVIL)
            page.get_by_role("button", name="Kommentar absenden").click()
            # The worker may still be starting: the form keeps asking until the decision comes.
            expect(status).to_have_attribute("data-state", "approved", timeout=60_000)
            expect(status).to_have_text("Ihr Kommentar wurde veröffentlicht.")
            expect(text).to_have_value("")

            text.fill(RUDE)
            text.press("Tab")
            page.keyboard.press("Enter")
            expect(status).to_have_attribute("data-state", "rejected", timeout=20_000)
            expect(status.locator(".moderation-embed__state")).to_have_text(
                "Ihr Kommentar wurde nicht veröffentlicht."
            )
            reason = status.locator(".moderation-embed__reason")
            expect(reason).to_contain_text("Er enthält einen Ausdruck, den diese Seite nicht zulässt.")
            expect(reason).to_contain_text("wenden Sie sich an die Redaktion")
            assert BANNED.lower() not in reason.inner_text().lower()
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.locator("#kommentare").scroll_into_view_if_needed()
            page.screenshot(path=str(SCREENSHOTS / "demo.png"))
            assert errors == []  # no CSP violation, no failed request
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        engine.dispose()
    with sessions() as session:
        stored = {c.text: c for c in session.scalars(select(Comment))}
    assert stored[CIVIL].status == "approved" and stored[CIVIL].author_name == "Leserin aus Almaty"
    assert stored[RUDE].status == "rejected"
    assert stored[RUDE].article_id == "russland-kasachstan-befuerchtung"
    assert stored[RUDE].author_id == stored[CIVIL].author_id  # one reader, one id kept by the browser
