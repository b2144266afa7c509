"""Every dashboard page in German holds no English text from the message catalogue.

A text the catalogue translates must not reach the German page as its English id: that happens when a
template prints a string without `_()`, when a Python module formats one outside a request, or when a
page builds a sentence from English keys. Text marked `lang="en"` (the narrative catalogue's English
descriptions) is English on purpose and is left out.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask.testing import FlaskClient

from moderation.store import model_versions
from moderation.store.accounts import NewSite
from moderation.store.db import transaction
from moderation.store.tables import Comment
from tests.browser import seed
from tests.browser.model_cards import model_card
from tests.conftest import Database

CATALOGUE = Path(__file__).resolve().parents[1] / "moderation/web/translations/de/LC_MESSAGES/messages.po"
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%[sd]")
# Shown by attribute, not as text: these carry words a reader hears or sees on hover.
READ_ATTRIBUTES = (
    "title",
    "aria-label",
    "placeholder",
    "alt",
    "data-more",
    "data-less",
    "data-new",
    "data-pick-reason",
    "data-failed",
    "data-select-first",
)
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Visible(HTMLParser):
    """The text a German reader gets: text nodes and read attributes outside `lang="en"` and
    `translate="no"` elements, scripts and styles."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._stack: list[bool] = []  # per open element: is its content skipped?

    def _skipped(self) -> bool:
        return bool(self._stack) and self._stack[-1]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        skip = (
            self._skipped()
            or tag in ("script", "style")
            or (values.get("lang") or "").startswith("en")
            or values.get("translate") == "no"  # machine keys (metric paths), not words
        )
        if not skip:
            self.parts.extend(v for name, v in attrs if name in READ_ATTRIBUTES and v)
        if tag not in VOID:
            self._stack.append(skip)

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID and self._stack:
            self._stack.pop()

    def handle_data(self, data: str) -> None:
        if not self._skipped():
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    return re.sub(r"\s+", " ", " ".join(parser.parts))


def english_fragments() -> set[str]:
    """Literal pieces (between placeholders) of every catalogue id whose German differs from it; pieces
    of two words or more, or single words of five letters or more, so that shared words ("Spam",
    "Labels") and names do not count."""
    with CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle, locale="de")
    german = " ".join(
        " ".join(m.string) if isinstance(m.string, tuple | list) else str(m.string or "") for m in catalogue
    )
    out = set()
    for message in catalogue:
        ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        if not message.id or not any(strings) or list(ids) == list(strings):
            continue
        for msgid in ids:
            for piece in PLACEHOLDER.split(str(msgid)):
                piece = piece.strip(" .,:;()–-…“”\"'")
                words = re.findall(r"[A-Za-z]+", piece)
                distinctive = len(words) >= 2 or (
                    len(words) == 1 and len(words[0]) >= 5 and words[0] == piece
                )
                also_german = re.search(rf"(?<![A-Za-zÄÖÜäöüß]){re.escape(piece)}(?![A-Za-zÄÖÜäöüß])", german)
                if distinctive and not also_german:
                    out.add(piece)
    return out


def english_in(text: str, fragments: set[str]) -> list[str]:
    return sorted(
        f for f in fragments if re.search(rf"(?<![A-Za-zÄÖÜäöüß_-]){re.escape(f)}(?![A-Za-zÄÖÜäöüß_-])", text)
    )


@pytest.fixture
def admin(client: FlaskClient, database: Database, site: NewSite) -> tuple[str, str]:
    """An admin session on a seeded site, and a held comment's id."""
    with transaction(database.sessions) as session:
        seed.make_users(session)
        seeded = seed.seed(session, site.site.id, count=14)
        model_versions.register(session, "2026-11-20-de", model_card("2026-11-20T09:00:00Z", 0.741, 0.081))
        model_versions.register(session, "2026-11-24-de", model_card("2026-11-24T09:00:00Z", 0.769, 0.064))
        model_versions.activate(session, "2026-11-24-de", actor="test")
        seed.add_site_models(session, site.site.id, site.site.name)
    token = seed.login(client, "admin@example.org", "admin-password-1")
    client.post(
        "/actions/decide", data={"csrf_token": token, "comment_id": seeded.held[0], "action": "approve"}
    )
    return token, seeded.held[1]


# Rendering, not storage: one database is enough.
@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_every_dashboard_page_in_german_has_no_english_catalogue_text(
    client: FlaskClient, admin: tuple[str, str], site: NewSite, database: Database
) -> None:
    token, held = admin
    site_id = site.site.id
    with database.sessions() as session:
        approved = session.query(Comment.id).filter(Comment.status == "approved").limit(1).scalar()
    band = {
        "csrf_token": token,
        "band_min": "0.5",
        "band_max": "1",
        "action": "reject",
        "reason_code": "spam",
    }
    preview = {"csrf_token": token, "intent": "preview", "propaganda_hold": "0,85", "toxicity_hold": "0,4"}
    pages = {
        "held queue": client.get("/"),
        "rejected queue": client.get("/queue/rejected"),
        "approved queue": client.get("/queue/approved"),
        "all, filtered": client.get("/queue/all?q=Kasachstan&attribute=toxicity&date_from=1.12.2026"),
        "held comment": client.get(f"/comments/{held}"),
        "decided comment": client.get(f"/comments/{approved}"),
        "audit log": client.get("/audit"),
        "statistics": client.get("/stats"),
        "models": client.get("/models"),
        "settings": client.get("/settings"),
        "site settings": client.get(f"/settings/sites/{site_id}"),
        "what-if preview": client.post(f"/settings/sites/{site_id}", data=preview),
        "policy refused": client.post(
            f"/settings/sites/{site_id}", data={**preview, "intent": "save", "toxicity_hold": "viel"}
        ),
        "band confirmation": client.post("/actions/band", data=band),
        "password": client.get("/account/password"),
        "not found": client.get("/comments/0000"),
    }
    fragments = english_fragments()
    assert len(fragments) > 300  # the check has something to look for
    found = {}
    for name, response in pages.items():
        assert response.status_code in (200, 404, 422), (name, response.status_code)
        text = visible_text(response.get_data(as_text=True))
        assert len(text) > 200, name
        english = english_in(text, fragments)
        if english:
            found[name] = english
    assert found == {}
    # The same check on the English queue finds plenty: it would notice German pages gone English.
    client.post("/language", data={"csrf_token": token, "lang": "en"})
    english_page = client.get("/").get_data(as_text=True).replace('<html lang="en">', "<html>")
    assert len(english_in(visible_text(english_page), fragments)) >= 20
    client.post("/language", data={"csrf_token": token, "lang": "de"})
    client.post("/logout", data={"csrf_token": token})
    assert english_in(visible_text(client.get("/login").get_data(as_text=True)), fragments) == []


def test_the_check_finds_english_text() -> None:
    fragments = english_fragments()
    page = '<p>Warteschlange</p><button title="Keyboard shortcuts">?</button><p lang="en">Undo</p>'
    assert english_in(visible_text(page), fragments) == ["Keyboard shortcuts"]
    assert "comments approved" in english_in(visible_text("<p>3 comments approved.</p>"), fragments)
