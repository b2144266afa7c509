"""Reasons for readers (EU DSA Art. 17): what the author of a held or rejected comment is told.

The wording (pure), then the API: secret and publishable keys, every action, a moderator's own wording,
and the dashboard's decide form that passes it (SQLite and PostgreSQL).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient
from rq import Queue, SimpleWorker

from moderation.domain import reader_reasons, reasons
from moderation.domain.attributes import ATTRIBUTES
from moderation.domain.enums import Action, ReasonCode, Source
from moderation.resources import Resources
from moderation.store.accounts import NewSite
from moderation.store.db import transaction
from moderation.store.decisions import apply_decision
from moderation.store.errors import DecisionError
from moderation.store.tables import Site, User
from tests.browser import seed
from tests.conftest import Database
from workers import runtime

ORIGIN = "https://www.welt-nachrichten.example"
BANNED = "vollpfosten"
# A reader reason never shows a number: no score, no threshold, no count.
DIGITS = re.compile(r"\d")


def _band(attribute: str, band: str) -> dict[str, Any]:
    return reasons.score_band(attribute, band, 0.93, 0.5, Action(band)).to_dict()


# -- the wording ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("attribute", [a.name for a in ATTRIBUTES])
@pytest.mark.parametrize("band", ["hold", "reject"])
def test_every_score_band_has_its_own_sentence_in_both_languages(attribute: str, band: str) -> None:
    said = reader_reasons.derive(band, Source.MODEL, [_band(attribute, band)])
    generic = reader_reasons.derive(band, Source.MODEL, [])
    assert said is not None and generic is not None
    for lang in ("de", "en"):
        assert said[lang] != generic[lang] and len(said[lang]) > len(generic[lang])
        assert not DIGITS.search(said[lang]), said[lang]
        assert "0.93" not in said[lang] and "threshold" not in said[lang]


def test_hold_and_reject_read_differently() -> None:
    held = reader_reasons.derive("hold", Source.MODEL, [_band("toxicity", "hold")])
    rejected = reader_reasons.derive("reject", Source.MODEL, [_band("toxicity", "reject")])
    assert held is not None and rejected is not None
    assert held["de"].startswith("Ihr Kommentar wird vor der Veröffentlichung von der Redaktion geprüft.")
    assert "Hinweise auf beleidigende oder herabsetzende Sprache" in held["de"]
    assert held["en"].startswith("Your comment will be reviewed by our editors before it is published.")
    assert rejected["de"].startswith("Ihr Kommentar wurde nicht veröffentlicht.")
    assert "Wenn Sie meinen, dass dies ein Irrtum ist, wenden Sie sich an die Redaktion." in rejected["de"]
    assert "If you think this is a mistake, please contact the editors." in rejected["en"]
    assert "Irrtum" not in held["de"]


@pytest.mark.parametrize(
    ("reason", "german", "english"),
    [
        (reasons.banned_word(BANNED, 4, 15), "den diese Seite nicht zulässt", "this site does not allow"),
        (reasons.suspect_word("zensur"), "vor der Veröffentlichung ansieht", "before publication"),
        (reasons.link_from_new_author("http://spam.example/x"), "mit Links", "with links"),
        (reasons.coordinated_posting(5, 3), "Sehr ähnliche Texte", "Very similar texts"),
        (reasons.unsupported_language("kk"), "in dieser Sprache", "in this language"),
        (reasons.scoring_failed(Action.HOLD), "vorübergehend nicht verfügbar", "temporarily unavailable"),
    ],
)
def test_rules_are_explained_without_what_they_matched(
    reason: reasons.Reason, german: str, english: str
) -> None:
    said = reader_reasons.derive(reason.action, Source.RULE, [reason.to_dict()])
    assert said is not None
    assert german in said["de"] and english in said["en"]
    for value in reason.params.values():
        for lang in ("de", "en"):
            assert str(value) not in said[lang] or str(value) in ("hold", "reject")
    assert BANNED not in said["de"].lower() and "spam.example" not in said["en"]


def test_grounds_are_those_that_decided_named_once_and_at_most_three() -> None:
    holding = [
        _band("insult", "hold"),
        _band("insult", "hold"),
        _band("threat", "hold"),
        reasons.suspect_word("zensur").to_dict(),
        _band("propaganda", "hold"),
        {"code": "a_code_of_a_later_version", "params": {}},
    ]
    held = reader_reasons.derive("hold", Source.MODEL, holding)
    assert held is not None
    german = held["de"]
    assert german.count("persönliche Beleidigung") == 1
    assert german.index("persönliche Beleidigung") < german.index("Drohung") < german.index("Ausdruck")
    assert "Propaganda" not in german  # a fourth ground is left out
    # A rejection names what rejected it, not what would only have held it (nor the fallback).
    rejecting = [
        reasons.banned_word(BANNED).to_dict(),
        *holding,
        reasons.scoring_failed(Action.HOLD).to_dict(),
    ]
    rejected = reader_reasons.derive("reject", Source.RULE, rejecting)
    assert rejected is not None
    assert "nicht zulässt" in rejected["de"]
    assert "Beleidigung" not in rejected["de"] and "nicht verfügbar" not in rejected["de"]


@pytest.mark.parametrize("code", [c.value for c in ReasonCode])
def test_each_moderator_reason_code_is_worded_as_the_editors_finding(code: str) -> None:
    said = reader_reasons.derive("reject", Source.MODERATOR, [], code)
    bare = reader_reasons.derive("reject", Source.MODERATOR, [])
    assert said is not None and bare is not None
    assert said["de"] != bare["de"] and said["en"] != bare["en"]
    assert "automatische" not in said["de"]


def test_approvals_and_unknown_actions_tell_readers_nothing() -> None:
    approval = reasons.below_thresholds([("toxicity", 0.1, 0.4)]).to_dict()
    assert reader_reasons.derive("approve", Source.MODEL, [approval]) is None
    assert reader_reasons.for_decision("approve", Source.MODERATOR, [], None, {"de": "x"}) is None
    assert reader_reasons.derive("publish", Source.MODEL, []) is None


def test_a_moderators_wording_replaces_the_derived_one_language_by_language() -> None:
    said = reader_reasons.for_decision(
        "reject", Source.MODERATOR, [], "other", {"de": "  Bitte bleiben Sie sachlich.  ", "en": " "}
    )
    assert said is not None
    assert said["de"] == "Bitte bleiben Sie sachlich."
    assert said["en"] == reader_reasons.derive("reject", Source.MODERATOR, [], "other")["en"]  # type: ignore[index]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, None),
        ({"de": " ", "en": ""}, None),
        ({"de": " Zeile eins\nZeile zwei ", "fr": "ignoré"}, {"de": "Zeile eins\nZeile zwei"}),
    ],
)
def test_clean_edit_keeps_the_languages_written(given: Any, expected: Any) -> None:
    assert reader_reasons.clean_edit(given) == expected


@pytest.mark.parametrize(
    "given", [{"de": "x" * (reader_reasons.MAX_LENGTH + 1)}, {"en": "bell\x07"}, {"de": "nul\x00"}]
)
def test_clean_edit_refuses_long_texts_and_control_characters(given: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="reader reason"):
        reader_reasons.clean_edit(given)


# -- the API -------------------------------------------------------------------------------------------


def _ban_and_allow(database: Database, site: NewSite) -> None:
    with transaction(database.sessions) as session:
        row = session.get(Site, site.site.id)
        assert row is not None
        row.policy = {**row.policy, "banned_words": [BANNED]}
        row.allowed_origins = [ORIGIN]


def _post(client: FlaskClient, key: str, text: str, **headers: str) -> Any:
    body = {"text": text, "article_id": "russland-kasachstan", "author": {"id": "leser-7"}}
    return client.post("/api/v1/comments", json=body, headers={"Authorization": f"Bearer {key}", **headers})


def _get(client: FlaskClient, key: str, comment_id: str, **headers: str) -> Any:
    return client.get(f"/api/v1/comments/{comment_id}", headers={"Authorization": f"Bearer {key}", **headers})


def _decide_queued(resources: Resources, redis_conn: redis.Redis) -> None:
    """Runs the queued jobs in a real RQ worker; no model is active, so the rules and the fallback
    decide (banned words reject; the rest gets the site's fallback, hold)."""
    runtime.install(runtime.WorkerContext(resources))
    try:
        SimpleWorker([Queue("moderation", connection=redis_conn)], connection=redis_conn).work(burst=True)
    finally:
        runtime.install(None)


def test_the_api_gives_the_reader_reason_to_both_keys_and_no_scores_to_browsers(
    client: FlaskClient, site: NewSite, database: Database, resources: Resources, redis_conn: redis.Redis
) -> None:
    _ban_and_allow(database, site)
    rude = _post(client, site.secret_key, f"Du bist ein {BANNED.title()}, ehrlich.").get_json()
    civil = _post(
        client, site.publishable_key, "Danke für die Einordnung zu Kasachstan.", Origin=ORIGIN
    ).get_json()
    assert civil == {"id": civil["id"], "external_id": None, "status": "pending", "reader_reason": None}
    _decide_queued(resources, redis_conn)

    full = _get(client, site.secret_key, rude["id"]).get_json()
    assert full["status"] == "rejected" and full["decision"]["source"] == "rule"
    said = full["decision"]["reader_reason"]
    assert set(said) == {"de", "en"}
    assert "Ausdruck, den diese Seite nicht zulässt" in said["de"] and BANNED not in said["de"].lower()
    assert "expression this site does not allow" in said["en"]
    browser = _get(client, site.publishable_key, rude["id"], Origin=ORIGIN)
    assert browser.status_code == 200
    assert browser.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Retry-After" in browser.headers["Access-Control-Expose-Headers"]
    assert browser.get_json() == {
        "id": rude["id"],
        "external_id": None,
        "status": "rejected",
        "reader_reason": said,
    }
    held = _get(client, site.publishable_key, civil["id"], Origin=ORIGIN).get_json()
    assert held["status"] == "held"
    assert held["reader_reason"]["de"].startswith("Ihr Kommentar wird vor der Veröffentlichung")
    assert "automatische Prüfung war vorübergehend nicht verfügbar" in held["reader_reason"]["de"]
    with transaction(database.sessions) as session:
        apply_decision(session, _moderator(database), [civil["id"]], Action.APPROVE)
    approved = _get(client, site.publishable_key, civil["id"], Origin=ORIGIN).get_json()
    assert approved["status"] == "approved" and approved["reader_reason"] is None
    assert _get(client, site.secret_key, civil["id"]).get_json()["decision"]["reader_reason"] is None
    # Another origin gets nothing at all: 403 `forbidden`.
    elsewhere = _get(client, site.publishable_key, rude["id"], Origin="https://evil.example")
    assert elsewhere.status_code == 403 and elsewhere.get_json()["error"]["code"] == "forbidden"


def _moderator(database: Database) -> User:
    with transaction(database.sessions) as session:
        seed.make_users(session)
    with database.sessions() as session:
        user = session.query(User).filter_by(email="mod@example.org").one()
        session.expunge(user)
        return user


def test_a_moderators_own_wording_wins_and_approval_clears_it(
    client: FlaskClient, site: NewSite, database: Database
) -> None:
    with transaction(database.sessions) as session:
        held = seed.add_comment(
            session, site.site.id, "Russland muss sie schützen!", scores={"propaganda": 0.8}
        )
        held_id = held.id
    user = _moderator(database)
    first = _get(client, site.secret_key, held_id).get_json()["decision"]["reader_reason"]
    assert "Desinformation oder Propaganda-Erzählungen" in first["de"]
    with transaction(database.sessions) as session:
        apply_decision(
            session,
            user,
            [held_id],
            Action.REJECT,
            "propaganda",
            reader_reason={"de": "Bitte belegen Sie solche Behauptungen mit Quellen.", "en": None},
        )
    said = _get(client, site.secret_key, held_id).get_json()["decision"]["reader_reason"]
    assert said["de"] == "Bitte belegen Sie solche Behauptungen mit Quellen."
    assert said["en"].startswith(
        "Your comment was not published. In your comment, our editors found disinformation"
    )
    with transaction(database.sessions) as session:
        apply_decision(session, user, [held_id], Action.APPROVE, reader_reason={"de": "Doch in Ordnung."})
    assert _get(client, site.secret_key, held_id).get_json()["decision"]["reader_reason"] is None
    with pytest.raises(DecisionError) as refused, transaction(database.sessions) as session:
        apply_decision(session, user, [held_id], Action.HOLD, reader_reason={"en": "x" * 601})
    assert refused.value.code == "invalid_reader_reason"


def test_the_dashboard_decide_form_passes_the_reader_reason(
    client: FlaskClient, site: NewSite, database: Database
) -> None:
    with transaction(database.sessions) as session:
        seed.make_users(session)
        target = seed.add_comment(
            session, site.site.id, "Ihr seid alle gekauft.", scores={"toxicity": 0.5}
        ).id
    token = seed.login(client, "mod@example.org", "moderator-password-1")
    form = {"comment_id": target, "action": "reject", "reason_code": "other", "csrf_token": token}
    too_long = client.post(
        "/actions/decide",
        headers={"Accept": "application/json"},
        data={**form, "reader_reason_en": "y" * 601},
    )
    assert too_long.status_code == 422 and too_long.get_json()["error"]["code"] == "invalid_request"
    done = client.post(
        "/actions/decide",
        headers={"Accept": "application/json"},
        data={**form, "reader_reason_de": "Unterstellungen ohne Beleg veröffentlichen wir nicht."},
    )
    assert done.status_code == 200 and done.get_json()["decided"] == 1
    said = _get(client, site.secret_key, target).get_json()["decision"]["reader_reason"]
    assert said["de"] == "Unterstellungen ohne Beleg veröffentlichen wir nicht."
    assert "It breaks our discussion rules." in said["en"]
