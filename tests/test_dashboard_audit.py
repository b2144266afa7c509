"""The audit log in words: every event type the product writes reads as sentences in German and English,
values formatted for the locale, no JSON and no raw keys; user text escaped and isolated (SQLite +
PostgreSQL)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from moderation.domain.enums import Action
from moderation.store.accounts import NewSite
from moderation.store.db import transaction
from moderation.store.decisions import apply_decision
from moderation.store.tables import AuditEvent, Site, User
from moderation.web.dashboard import audit_text
from tests.browser import seed
from tests.conftest import Database

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = "<script>alert(1)</script>"


def _written_event_types() -> set[str]:
    """Every audit event type the product writes: `event="..."` and the `*_EVENT` constants."""
    found: set[str] = set()
    for folder in ("moderation", "workers"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            found |= set(re.findall(r'event="([a-z_]+\.[a-z_]+)"', text))
            found |= set(re.findall(r'^[A-Z_]*EVENT = "([a-z_]+\.[a-z_]+)"', text, re.MULTILINE))
    return found


def test_every_written_event_type_is_worded() -> None:
    written = _written_event_types()
    assert {"comment.decided", "author.erased", "site.retention_applied", "login.failed"} <= written
    assert written <= set(audit_text.EVENTS), sorted(written - set(audit_text.EVENTS))


def _extra_events(site_id: int) -> list[AuditEvent]:
    """Events written outside the dashboard (workers, CLI, privacy API), shaped as their writers do."""
    guard = {
        "code": "below_floor",
        "params": {"auc": 0.61, "floor": 0.7},
        "detail": "held-back AUC 0.610 is below the floor of 0.70",
    }
    return [
        AuditEvent(
            actor="site:Zeitung", event="comment.received", site_id=site_id, data={"external_id": HOSTILE}
        ),
        AuditEvent(
            actor="privacy-api",
            event="author.erased",
            site_id=site_id,
            data={
                "author_hash": "ab" * 32,
                "comments_anonymised": 1234,
                "comments_deleted": 2,
                "labels_deleted": 3,
            },
        ),
        AuditEvent(
            actor="retention",
            event="site.retention_applied",
            site_id=site_id,
            data={
                "retention_days": 90,
                "cutoff": "2026-03-01T12:00:00+00:00",
                "comments_anonymised": 1500,
                "comments_deleted": 0,
                "labels_deleted": 7,
            },
        ),
        AuditEvent(
            actor="cli",
            event="site.retention_changed",
            site_id=site_id,
            data={"retention_days": None, "previous": 30},
        ),
        AuditEvent(actor="cli", event="user.created", data={"email": "neu@example.org", "role": "moderator"}),
        AuditEvent(actor="cli", event="user.password_changed", data={"email": "neu@example.org"}),
        AuditEvent(
            actor="cli", event="model.activated", data={"version": "2026-11-30-a", "previous": "2026-10-01"}
        ),
        AuditEvent(
            actor="cli",
            event="site_model.activated",
            site_id=site_id,
            data={"version": "s-7", "previous": None},
        ),
        AuditEvent(actor="cli", event="site_model.shadow", site_id=site_id, data={"version": "s-8"}),
        AuditEvent(actor="cli", event="site_model.shadow", site_id=site_id, data={"version": None}),
        AuditEvent(
            actor="retrain",
            event="site_model.verdict",
            site_id=site_id,
            data={
                "site": "Zeitung",
                "candidate": "s-9",
                "active": "s-7",
                "verdict": "refused",
                "reasons": [guard],
                "metrics": {"slice_auc": 0.61},
            },
        ),
        AuditEvent(actor="login:x@example.org", event="login.failed", data={"ip_hash": "cafe"}),
        AuditEvent(
            actor="cli", event="future.event", data={"some_key": [1.5, HOSTILE], "nested": {"a_b": 2}}
        ),
    ]


@pytest.fixture
def logged(client: FlaskClient, database: Database, site: NewSite) -> str:
    """An admin who changed every dashboard setting once, and every other event type, recorded."""
    with transaction(database.sessions) as session:
        seed.make_users(session)
        seeded = seed.seed(session, site.site.id, count=6)
        moderator = session.scalars(select(User).where(User.email == "mod@example.org")).one()
        apply_decision(session, moderator, seeded.held[:1], Action.REJECT, reason_code="insult", note=HOSTILE)
        session.add_all(_extra_events(site.site.id))
    token = seed.login(client, "admin@example.org", "admin-password-1")
    sid = site.site.id
    form = {f"{a}_{b}": "" for a in ("toxicity", "propaganda", "spam") for b in ("hold", "reject")}
    form.update(
        toxicity_hold="0.5",
        toxicity_reject="0,85",
        banned_words=f"Steppenaffen\n{HOSTILE}",
        hold_copies_from_authors="3",
        csrf_token=token,
        intent="save",
    )
    assert client.post(f"/settings/sites/{sid}", data=form).status_code == 302
    hook = {"webhook_url": "https://example.org/hook", "csrf_token": token}
    assert client.post(f"/settings/sites/{sid}/webhook", data=hook).status_code == 200
    learning = {"every_hours": "6", "after_labels": "200", "csrf_token": token}
    assert client.post(f"/settings/sites/{sid}/learning", data=learning).status_code == 302
    assert (
        client.post(
            f"/settings/sites/{sid}/retention", data={"retention_days": "1000", "csrf_token": token}
        ).status_code
        == 302
    )
    assert client.post(f"/settings/sites/{sid}/rotate", data={"csrf_token": token}).status_code == 200
    assert client.post("/settings/sites", data={"name": "Rundschau", "csrf_token": token}).status_code == 200
    return token


def _details(html: str) -> str:
    return html[html.index('<table class="audit">') :]


def _check_clean(table: str) -> None:
    assert "\\u" not in table and "{" not in table and "}" not in table and "&#34;" not in table
    for raw in ("decision_id", "reason_code", "comments_anonymised", "retention_days", "external_id", "None"):
        assert raw not in table, raw
    assert HOSTILE not in table and "&lt;script&gt;alert(1)&lt;/script&gt;" in table


def test_audit_log_in_german_words(client: FlaskClient, logged: str, database: Database) -> None:
    html = client.get("/audit").get_data(as_text=True)
    table = _details(html)
    _check_clean(table)
    for sentence in (
        "Schwelle für Toxizität (Ablehnen): 0,9 → 0,85",
        "Schwelle für Toxizität (Zurückhalten): 0,4 → 0,5",
        "Verbotene Wörter: <bdi>Steppenaffen</bdi> und <bdi>&lt;script&gt;",
        "Fast gleiche Kommentare von so vielen anderen Personen zurückhalten: 2 → 3",
        "Links im ersten Kommentar einer Person zurückhalten: an → aus",
        "Webhook-URL: keine → <bdi>https://example.org/hook</bdi>",
        "Alle so viele Stunden neu trainieren: ",
        "Speicherdauer: aus (Daten bleiben erhalten) → 1.000 Tage",
        "Speicherdauer: 30 Tage → aus (Daten bleiben erhalten)",
        "Speicherdauer (90 Tage) auf Kommentare vor dem 01.03.2026",
        "1.500 Kommentare anonymisiert, 0 Kommentare gelöscht, 7 Trainingslabels gelöscht",
        "1.234 Kommentare anonymisiert",
        "01.03.2026",
        "Entscheidung: ablehnen (Moderation); jetzt abgelehnt",
        "Grund: Beleidigung",
        "Notiz: „<bdi>&lt;script&gt;",
        "Konto <bdi>neu@example.org</bdi> angelegt, Rolle: Moderation",
        "Passwort von <bdi>neu@example.org</bdi> geändert",
        "Modell <bdi>2026-11-30-a</bdi> aktiv geschaltet",
        "Seitenmodell <bdi>s-8</bdi> läuft jetzt im Schattenbetrieb",
        "Kein Seitenmodell läuft mehr im Schattenbetrieb",
        "Neutraining: verworfen",
        "Kandidat <bdi>s-9</bdi>",
        "Prüf-AUC 0,610 liegt unter der Mindestgrenze von 0,70",
        "Anmeldung fehlgeschlagen",
        "Angemeldet",
        "Website <bdi>Rundschau</bdi> angelegt",
        "Neuer API-Schlüssel; er beginnt mit <bdi>",
        "Von der Website empfangen, dortige Kennung: <bdi>&lt;script&gt;",
        "some key: <bdi>1,5</bdi> und <bdi>&lt;script&gt;",
        "nested: a b: 2",
    ):
        assert sentence in table, sentence
    assert "action approve" not in table and "source moderator" not in table


def test_audit_log_in_english_words(client: FlaskClient, logged: str) -> None:
    client.post("/language", data={"lang": "en", "csrf_token": logged, "next": "/audit"})
    table = _details(client.get("/audit").get_data(as_text=True))
    _check_clean(table)
    for sentence in (
        "Threshold for toxicity (reject): 0.9 → 0.85",
        "Banned words: added <bdi>Steppenaffen</bdi> and <bdi>&lt;script&gt;",
        "Retention period: off (kept) → 1,000 days",
        "1,500 comments anonymised, 0 comments deleted, 7 training labels deleted",
        "Decision: reject (moderator); now rejected",
        "Account <bdi>neu@example.org</bdi> created, role: moderator",
        "Sign-in failed",
    ):
        assert sentence in table, sentence
    assert "Schwelle" not in table and "Entscheidung" not in table


def test_policy_change_without_a_recorded_previous_policy_lists_what_is_set(app: Any) -> None:
    with app.test_request_context("/"):
        parts = audit_text.describe(
            "site.policy_changed",
            {"policy": {"thresholds": {"toxicity": {"hold": 0.6, "reject": None}}, "banned_words": []}},
        )
    assert [str(p) for p in parts] == ["Schwelle für Toxizität (Zurückhalten): 0,6"]


def test_a_malformed_event_falls_back_to_key_and_value(app: Any) -> None:
    with app.test_request_context("/"):
        parts = audit_text.describe(
            "site.retention_applied", {"retention_days": "viele", "when": datetime(2026, 1, 2, tzinfo=UTC)}
        )
    text = "; ".join(str(p) for p in parts)
    assert "retention days: <bdi>viele</bdi>" in text and "{" not in text


def test_a_failed_policy_save_keeps_what_was_typed_and_marks_the_fields(
    client: FlaskClient, database: Database, site: NewSite
) -> None:
    with transaction(database.sessions) as session:
        seed.make_users(session)
        before = session.get(Site, site.site.id).policy  # type: ignore[union-attr]
    token = seed.login(client, "admin@example.org", "admin-password-1")
    form = {
        "toxicity_hold": "0,9",
        "toxicity_reject": "0,5",
        "spam_hold": "viel",
        "banned_words": "Trollfabrik\nSteppenaffen",
        "hold_copies_from_authors": "zwei",
        "hold_links_from_new_authors": "on",
        "csrf_token": token,
        "intent": "save",
    }
    response = client.post(f"/settings/sites/{site.site.id}", data=form)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    marked = set(re.findall(r'aria-invalid="true" aria-describedby="field-(\w+)-error"', html))
    assert marked == {"toxicity_reject", "spam_hold", "hold_copies_from_authors"}
    for name, value in (("toxicity_hold", "0,9"), ("toxicity_reject", "0,5"), ("spam_hold", "viel")):
        assert re.search(rf'name="{name}" type="text" inputmode="decimal" size="6" value="{value}"', html), (
            name
        )
    assert 'value="zwei"' in html
    assert ">Trollfabrik\nSteppenaffen</textarea>" in html
    assert re.search(r'name="hold_links_from_new_authors" checked', html)
    assert "„Toxizität: ablehnen ab“ darf nicht unter „Toxizität: zurückhalten ab“ liegen." in html
    assert "„Spam: zurückhalten ab“ muss eine Zahl von 0 bis 1 sein, zum Beispiel 0,85 (leer: aus)." in html
    assert "Die Zahl anderer Personen muss eine ganze Zahl sein" in html
    assert "Die Einstellungen wurden nicht gespeichert" in html
    assert "toxicity reject" not in html and "spam hold" not in html
    with database.sessions() as session:
        stored = session.get(Site, site.site.id)
        assert stored is not None and stored.policy == before and stored.webhook_url is None
        assert not session.scalars(
            select(AuditEvent).where(AuditEvent.event == "site.policy_changed")
        ).first()


def test_a_failed_retention_save_keeps_the_typed_value(
    client: FlaskClient, database: Database, site: NewSite
) -> None:
    with transaction(database.sessions) as session:
        seed.make_users(session)
    token = seed.login(client, "admin@example.org", "admin-password-1")
    response = client.post(
        f"/settings/sites/{site.site.id}/retention", data={"retention_days": "drei", "csrf_token": token}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'value="drei"' in html and 'aria-describedby="retention-days-error" class="invalid"' in html
    assert "Die Speicherdauer muss eine ganze Zahl von Tagen" in html
    with database.sessions() as session:
        assert session.get(Site, site.site.id).retention_days is None  # type: ignore[union-attr]
        assert not session.scalars(
            select(AuditEvent).where(AuditEvent.event == "site.retention_changed")
        ).first()


def test_a_refused_new_site_keeps_the_typed_name(
    client: FlaskClient, database: Database, site: NewSite
) -> None:
    with transaction(database.sessions) as session:
        seed.make_users(session)
        name = session.get(Site, site.site.id).name  # type: ignore[union-attr]
    token = seed.login(client, "admin@example.org", "admin-password-1")
    response = client.post("/settings/sites", data={"name": name, "csrf_token": token})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'value="{name}"' in html and 'aria-invalid="true"' in html
    assert "Eine Website mit diesem Namen gibt es schon." in html or "existiert bereits" in html
    with database.sessions() as session:
        assert len(list(session.scalars(select(Site)))) == 1
