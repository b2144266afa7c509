"""The queues: escaping, highlighting, filters, keyset pages, counts, live updates (SQLite + PostgreSQL)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask.testing import FlaskClient

from moderation.domain.timestamps import utcnow
from moderation.store.accounts import NewSite
from moderation.store.db import transaction
from tests.browser import seed
from tests.conftest import Database

CARD_ID = re.compile(r'<article class="card[^"]*" id="c-([0-9a-f]+)"')


@pytest.fixture
def seeded(database: Database, site: NewSite) -> seed.Seeded:
    with transaction(database.sessions) as session:
        seed.make_users(session)
        return seed.seed(session, site.site.id, count=36)


@pytest.fixture
def moderator(client: FlaskClient, seeded: seed.Seeded) -> str:
    return seed.login(client, "mod@example.org", "moderator-password-1")


def card_ids(html: str) -> list[str]:
    return CARD_ID.findall(html)


def test_held_queue_is_the_start_page_sorted_by_risk(
    client: FlaskClient, moderator: str, seeded: seed.Seeded, database: Database
) -> None:
    html = client.get("/").get_data(as_text=True)
    ids = card_ids(html)
    assert set(ids) <= set(seeded.held) and ids
    risks = [float(r) for r in re.findall(r'class="risk"[^>]*>Risiko ([0-9.]+)', html)]
    assert risks == sorted(risks, reverse=True)
    assert f'data-count="held">{len(seeded.held)}<' in html


def test_keyset_pages_cover_the_queue_once(client: FlaskClient, moderator: str, seeded: seed.Seeded) -> None:
    seen: list[str] = []
    url = "/queue/all?sort=oldest"
    for _ in range(10):
        html = client.get(url).get_data(as_text=True)
        seen += card_ids(html)
        nxt = re.search(r'href="\?([^"]+)" rel="next"', html)
        if nxt is None:
            break
        url = "/queue/all?" + nxt.group(1).replace("&amp;", "&")
    assert len(seen) == len(set(seen)) == 36


def test_script_in_a_comment_is_shown_as_text(
    client: FlaskClient, moderator: str, database: Database, site: NewSite
) -> None:
    with transaction(database.sessions) as session:
        seed.add_comment(
            session, site.site.id, seed.XSS, scores={"toxicity": 0.99}, attribute="toxicity", words="<script>"
        )
    html = client.get("/").get_data(as_text=True)
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;" in html and "onerror=alert(2)&gt;" in html


def test_spans_are_highlighted(client: FlaskClient, moderator: str) -> None:
    html = client.get("/?q=Schreiberling").get_data(as_text=True)
    assert (
        '<mark class="hl hl-insult" data-attribute="insult" title="Beleidigung +0,42">'
        "dummer Schreiberling</mark>" in html
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=trollfabrik", "Trollfabrik"),
        ("attribute=spam", "super-deals-online"),
        ("technique=whataboutism", "Verbrechen der NATO"),
        ("narrative=protect_russian_speakers", "Russland muss sie schützen"),
        ("band_min=0.6&band_max=0.75", "wird schon sehen"),
    ],
)
def test_filters(client: FlaskClient, moderator: str, query: str, expected: str) -> None:
    html = client.get(f"/queue/all?{query}").get_data(as_text=True)
    assert expected in html
    assert "Kasachstan hat völlig recht" not in html  # a clean comment matches none of these


def test_author_history_and_reply_context(
    client: FlaskClient, moderator: str, database: Database, site: NewSite
) -> None:
    with transaction(database.sessions) as session:
        parent = seed.add_comment(
            session,
            site.site.id,
            "Almaty ist voller Russen, die vor dem Krieg flohen.",
            status="approved",
            scores={"toxicity": 0.02},
            external_id="wp-77",
        )
        seed.add_comment(
            session,
            site.site.id,
            "Das stimmt nicht, Sie Lügner!",
            scores={"toxicity": 0.7},
            author="leser-3",
            parent_id="wp-77",
        )
        del parent
    html = client.get("/?q=L%C3%BCgner").get_data(as_text=True)
    # The name is isolated (first strong isolate ... pop directional isolate) within the sentence.
    assert "Antwort auf \u2068Leser-1\u2069:" in html and "Almaty ist voller Russen" in html
    assert re.search(r"Weitere Kommentare dieser Person: \d+, davon abgelehnt: \d+", html)


def test_right_to_left_text_and_names_are_isolated(
    client: FlaskClient, moderator: str, database: Database, site: NewSite
) -> None:
    """A right-to-left override in a comment or a name stays within it: the comment shows reversed as to
    its readers ("Du bist ein dummer Vollidiot"), the card around it does not."""
    text = "\u202etoidilloV remmud nie tsib uD\u202c"
    with transaction(database.sessions) as session:
        comment = seed.add_comment(
            session, site.site.id, text, scores={"toxicity": 0.6}, author="\u202eleser", external_id="rlo-1"
        )
        seed.add_comment(session, site.site.id, "Antwort", scores={"toxicity": 0.5}, parent_id="rlo-1")
        comment_id = comment.id
    html = client.get("/queue/all?sort=newest").get_data(as_text=True)
    card = html[html.index(f'id="c-{comment_id}"') :]
    card = card[: card.index("</article>")]
    assert re.search(r'<p class="text" dir="auto"[^>]*>' + text + "</p>", card)
    assert "><bdi>\u202eLeser</bdi></a>" in card
    assert 'Artikel <code dir="auto">' in card
    # In the reply's card: the parent's author inside the sentence, the parent's text beside it.
    assert "Antwort auf \u2068\u202eLeser\u2069:" in html
    assert f"<bdi>{text}</bdi></blockquote>" in html
    detail = client.get(f"/comments/{comment_id}").get_data(as_text=True)
    assert re.search(r'<p class="text" dir="auto"[^>]*>' + text + "</p>", detail)


def test_comment_detail_page(client: FlaskClient, moderator: str, seeded: seed.Seeded) -> None:
    response = client.get(f"/comments/{seeded.held[0]}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Weitere Kommentare dieser Person" in html
    assert re.search(r"<strong>entschieden</strong>:\s*zurückhalten \(Modell\)", html)
    # Which scoring profile scored the comment the model decided on.
    assert "volles Profil" in html
    assert client.get("/comments/does-not-exist").status_code == 404


def test_live_updates_return_new_held_comments(
    client: FlaskClient, moderator: str, database: Database, site: NewSite
) -> None:
    since = (utcnow() - timedelta(seconds=1)).isoformat()
    assert client.get(f"/queue/updates?since={since}").get_json()["count"] == 0
    with transaction(database.sessions) as session:
        seed.add_comment(session, site.site.id, "Neu: Tokajew ist ein Verräter!", scores={"toxicity": 0.8})
    body = client.get(f"/queue/updates?since={since}").get_json()
    assert body["count"] == 1 and "Tokajew ist ein Verräter" in body["html"]


def test_technique_and_narrative_tags_are_readable_in_the_reader_language(
    client: FlaskClient, moderator: str, database: Database, site: NewSite
) -> None:
    with transaction(database.sessions) as session:
        unknown = seed.add_comment(session, site.site.id, "Neu im Katalog.", scores={"propaganda": 0.7})
        assert unknown.scores is not None
        unknown.scores.narratives = [{"id": "brand_new_story", "score": 0.6}]
    html = client.get("/?narrative=protect_russian_speakers").get_data(as_text=True)
    assert "Russland müsse Russischsprachige schützen" in html
    assert "emotional aufgeladene Sprache" in html
    assert "Ethnic Russians / Russian speakers in a neighbouring state are oppressed" in html  # tooltip
    assert ">protect_russian_speakers" not in html and ">loaded language" not in html
    client.post("/language", data={"lang": "en", "csrf_token": moderator, "next": "/"})
    html = client.get("/?narrative=protect_russian_speakers").get_data(as_text=True)
    assert "Russia must protect Russian speakers" in html and "loaded language" in html
    # An id the catalogue does not know yet still reads as words, and the full card shows descriptions.
    detail = client.get(f"/comments/{unknown.id}").get_data(as_text=True)
    assert "brand new story" in detail and "No description in the catalogue." in detail
