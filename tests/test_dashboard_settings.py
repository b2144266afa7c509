"""Admin settings: sites, keys shown once, policy with what-if preview, models page (SQLite + PostgreSQL)."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from moderation.domain.enums import Action
from moderation.domain.policy import SitePolicy
from moderation.store import model_versions
from moderation.store.accounts import NewSite
from moderation.store.db import transaction
from moderation.store.decisions import apply_decision
from moderation.store.keys import hash_key
from moderation.store.tables import AuditEvent, Site, User
from tests.browser import seed
from tests.conftest import Database


@pytest.fixture
def token(client: FlaskClient, database: Database, site: NewSite) -> str:
    with transaction(database.sessions) as session:
        seed.make_users(session)
        seeded = seed.seed(session, site.site.id, count=24)
        moderator = session.scalars(select(User).where(User.email == "mod@example.org")).one()
        # A moderator approved the two riskiest held comments: a strict policy contradicts them.
        apply_decision(session, moderator, seeded.held[:2], Action.APPROVE)
    return seed.login(client, "admin@example.org", "admin-password-1")


def test_create_site_shows_the_key_once(client: FlaskClient, token: str, database: Database) -> None:
    html = client.post("/settings/sites", data={"name": "nachrichten-portal", "csrf_token": token}).get_data(
        as_text=True
    )
    key = re.search(r'<code class="key">(mk_sec_[^<]+)</code>', html)
    assert key is not None
    with database.sessions() as session:
        stored = session.scalars(select(Site).where(Site.name == "nachrichten-portal")).one()
        assert stored.api_key_hash == hash_key(key.group(1))
    assert key.group(1) not in client.get("/settings").get_data(as_text=True)


def test_rotate_key(client: FlaskClient, token: str, site: NewSite, database: Database) -> None:
    html = client.post(f"/settings/sites/{site.site.id}/rotate", data={"csrf_token": token}).get_data(
        as_text=True
    )
    key = re.search(r'<code class="key">(mk_sec_[^<]+)</code>', html)
    assert key is not None and key.group(1) != site.secret_key
    with database.sessions() as session:
        assert session.get(Site, site.site.id).api_key_hash == hash_key(key.group(1))  # type: ignore[union-attr]


def policy_form(token: str, **overrides: str) -> dict[str, str]:
    form = {
        f"{a}_{b}": ""
        for a in ("toxicity", "propaganda", "spam", "insult", "profanity", "threat", "identity_attack")
        for b in ("hold", "reject")
    }
    form.update(
        toxicity_hold="0.5",
        toxicity_reject="0.9",
        propaganda_hold="0.5",
        spam_hold="0.5",
        banned_words="Trollfabrik",
        suspect_words="",
        csrf_token=token,
        webhook_url="",
    )
    form.update(overrides)
    return form


def what_if_counts(html: str) -> tuple[dict[str, int], dict[str, int]]:
    """The preview's comments per action with the saved settings and with the entered ones."""
    rows = re.findall(
        r'<th scope="row">(\w+)</th>\s*<td class="num">([\d.]+)</td>\s*'
        r'<td class="num"><strong>([\d.]+)</strong>',
        html,
    )
    assert len(rows) == 3, html
    return {a: int(b.replace(".", "")) for a, b, _ in rows}, {a: int(c.replace(".", "")) for a, _, c in rows}


def test_what_if_preview_does_not_save(
    client: FlaskClient, token: str, site: NewSite, database: Database
) -> None:
    lax = client.post(
        f"/settings/sites/{site.site.id}",
        data=policy_form(
            token,
            intent="preview",
            toxicity_hold="",
            toxicity_reject="",
            propaganda_hold="",
            spam_hold="",
            banned_words="",
        ),
    ).get_data(as_text=True)
    strict = client.post(
        f"/settings/sites/{site.site.id}",
        data=policy_form(
            token,
            intent="preview",
            toxicity_hold="0.2",
            toxicity_reject="0.3",
            propaganda_hold="0.2",
            propaganda_reject="0.3",
        ),
    )
    html = strict.get_data(as_text=True)
    before, after = what_if_counts(html)
    sentence = re.findall(r"Bei (\d+) von (\d+) Entscheidungen der Moderation", html)
    contradicted, moderated = map(int, sentence[0])
    assert sum(after.values()) == sum(before.values()) == 24 and moderated == 2 and contradicted == 2
    # The examples of changed comments link to their cards.
    changed = sum(abs(after[a] - before[a]) for a in before) // 2
    assert changed and 'href="/comments/' in html
    lax_before, lax_after = what_if_counts(lax)
    assert lax_before == before and lax_after == {"freigeben": 24, "zurückhalten": 0, "ablehnen": 0}
    assert "Bei 0 von 2 Entscheidungen der Moderation" in lax
    with database.sessions() as session:
        assert session.get(Site, site.site.id).policy == SitePolicy().to_dict()  # type: ignore[union-attr]


def test_save_policy_and_webhook(client: FlaskClient, token: str, site: NewSite, database: Database) -> None:
    response = client.post(
        f"/settings/sites/{site.site.id}",
        data=policy_form(token, intent="save", hold_copies_from_authors="3"),
    )
    assert response.status_code == 302
    # The webhook has its own form in the page's webhook section (tests/test_webhooks.py).
    hook = {"webhook_url": "https://example.org/hook", "csrf_token": token}
    assert client.post(f"/settings/sites/{site.site.id}/webhook", data=hook).status_code == 200
    with database.sessions() as session:
        stored = session.get(Site, site.site.id)
        assert stored is not None and stored.webhook_url == "https://example.org/hook"
        assert SitePolicy.from_dict(stored.policy).banned_words == ("Trollfabrik",)
        assert SitePolicy.from_dict(stored.policy).hold_copies_from_authors == 3
        assert session.scalars(
            select(AuditEvent.event).where(AuditEvent.event == "site.policy_changed")
        ).first()


def test_a_site_chooses_to_decide_kazakh_comments_by_their_scores(
    client: FlaskClient, token: str, site: NewSite, database: Database
) -> None:
    page = client.get(f"/settings/sites/{site.site.id}").get_data(as_text=True)
    assert re.search(r'name="score_language_uk" >', page) and re.search(r'name="score_language_kk" >', page)
    response = client.post(
        f"/settings/sites/{site.site.id}",
        data=policy_form(token, intent="save", score_language_kk="on", score_language_xx="on"),
    )
    assert response.status_code == 302
    with database.sessions() as session:
        stored = session.get(Site, site.site.id)
        assert stored is not None and SitePolicy.from_dict(stored.policy).score_languages == ("kk",)
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.event == "site.policy_changed").order_by(AuditEvent.id.desc())
        ).first()
        assert event is not None and event.data["policy"]["score_languages"] == ["kk"]
        assert event.data["previous"]["score_languages"] == []
    page = client.get(f"/settings/sites/{site.site.id}").get_data(as_text=True)
    assert re.search(r'name="score_language_kk" checked', page)
    assert re.search(r'name="score_language_uk" >', page)
    # A refused save keeps the tick as typed, and stores nothing.
    refused = client.post(
        f"/settings/sites/{site.site.id}",
        data=policy_form(token, intent="save", spam_hold="viel", score_language_uk="on"),
    )
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert re.search(r'name="score_language_uk" checked', html)
    assert re.search(r'name="score_language_kk" >', html)
    with database.sessions() as session:
        stored = session.get(Site, site.site.id)
        assert stored is not None and SitePolicy.from_dict(stored.policy).score_languages == ("kk",)
    # The audit log says what changed, in the reader's language.
    log = client.get("/audit", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert "Nach ihren Werten entschiedene Sprachen" in log and "Kasachisch" in log


@pytest.mark.parametrize(
    "bad",
    [
        {"toxicity_hold": "1.5"},
        {"toxicity_hold": "0.9", "toxicity_reject": "0.5"},
        {"spam_hold": "viel"},
        {"hold_copies_from_authors": "-1"},
        {"hold_copies_from_authors": "zwei"},
    ],
)
def test_invalid_policy_is_refused(
    client: FlaskClient, token: str, site: NewSite, bad: dict[str, str]
) -> None:
    response = client.post(f"/settings/sites/{site.site.id}", data=policy_form(token, intent="save", **bad))
    assert response.status_code == 422


def test_models_page(client: FlaskClient, token: str, database: Database) -> None:
    with transaction(database.sessions) as session:
        model_versions.register(
            session, "2026-11-20-a", {"version": "2026-11-20-a", "metrics": {"macro_f1": 0.71}}
        )
        model_versions.register(
            session, "2026-11-24-b", {"version": "2026-11-24-b", "metrics": {"macro_f1": 0.74}}
        )
        model_versions.activate(session, "2026-11-24-b", actor="test")
    html = client.get("/models").get_data(as_text=True)
    assert "Aktives Modell: 2026-11-24-b" in html and "macro_f1" in html and "2026-11-20-a" in html
    assert "daher sind die Lizenzen unbekannt" in html  # a card without corpora
