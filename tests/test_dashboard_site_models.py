"""Site models on the dashboard (SQLite + PostgreSQL): the models page's site sections with the guard's
verdicts in German and the agreement with the moderators, the admins' promote / roll back / shadow, the
site's learning settings, and drift warnings on the statistics and queue pages."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from moderation.domain import drift
from moderation.domain.drift import DayFigures
from moderation.domain.enums import Action, SiteModelState
from moderation.domain.labels import LabelIn
from moderation.domain.learning import Figures, judge, too_few_labels
from moderation.domain.timestamps import utcnow
from moderation.store import site_models
from moderation.store.accounts import NewSite
from moderation.store.db import transaction
from moderation.store.decisions import apply_decision
from moderation.store.labels import import_labels
from moderation.store.tables import AuditEvent, Decision, Site, User
from moderation.web.dashboard import wording
from tests.browser import seed
from tests.conftest import Database

ADMIN = ("admin@example.org", "admin-password-1")
MODERATOR = ("mod@example.org", "moderator-password-1")


def add_versions(database: Database, site: NewSite) -> None:
    """v1 (first, promoted), v2 (promoted over v1, active), v3 (kept), v4 (refused)."""
    with transaction(database.sessions) as session:
        seed.add_site_models(session, site.site.id, site.site.name, versions=("v1", "v2", "v3", "v4"))


@pytest.fixture
def users(database: Database) -> None:
    with transaction(database.sessions) as session:
        seed.make_users(session)


@pytest.fixture
def admin(client: FlaskClient, users: None) -> str:
    return seed.login(client, *ADMIN)


def states(database: Database, site: NewSite) -> dict[str, str]:
    with database.sessions() as session:
        return {r.version: r.state for r in site_models.history(session, site.site.id)}


def events(database: Database, name: str) -> list[dict[str, Any]]:
    with database.sessions() as session:
        return [
            e.data
            for e in session.scalars(
                select(AuditEvent).where(AuditEvent.event == name).order_by(AuditEvent.id)
            )
        ]


def flashes(html: str) -> list[str]:
    return [
        re.sub(r"\s+", " ", m).strip()
        for m in re.findall(r'<div class="flash flash-\w+">(.*?)</div>', html, re.S)
    ]


# -- the models page -----------------------------------------------------------------------------------


def test_models_page_shows_each_site_model_with_the_verdicts_in_german(
    client: FlaskClient, admin: str, database: Database, site: NewSite
) -> None:
    add_versions(database, site)
    html = client.get("/models").get_data(as_text=True)
    assert f'id="site-{site.site.id}"' in html
    assert "testsite: aktives Seitenmodell v2" in html
    # verdicts and reasons, in words and German
    assert "übernommen" in html and "verworfen" in html
    assert "nicht übernommen, das aktive Modell bleibt" in html
    assert "erstes Seitenmodell: Prüf-AUC 0,780" in html
    assert "schlägt den allgemeinen Toxizitätswert (0,640)" in html
    assert "liegt mehr als 0,01 unter den 0,830 des aktiven Modells" in html
    assert "unter der Mindestgrenze von 0,60" in html
    assert "slice AUC" not in html  # no English guard sentence left
    # the figures: labels and the three AUCs of v3
    row = re.search(r"<tr class=\"state-candidate\">.*?</tr>", html, re.S)
    assert row is not None
    assert "410" in row.group(0) and "0,790" in row.group(0) and "0,830" in row.group(0)
    assert "Kandidat" in row.group(0)
    # admin actions
    assert "Zurück zu v1" in html
    assert html.count(f'action="/models/sites/{site.site.id}/promote"') == 3  # all but the active one
    assert html.count(f'action="/models/sites/{site.site.id}/shadow"') == 3


def test_agreement_with_the_moderators_of_the_active_model(
    client: FlaskClient, admin: str, database: Database, site: NewSite
) -> None:
    add_versions(database, site)
    with transaction(database.sessions) as session:
        moderator = session.scalars(select(User).where(User.email == MODERATOR[0])).one()
        ids = []
        for value in (0.9, 0.8, 0.2, 0.1):
            comment = seed.add_comment(
                session, site.site.id, f"Kommentar {value}", scores={"toxicity": 0.3, "site_reject": value}
            )
            ids.append(comment.id)
        session.execute(update(Decision).where(Decision.comment_id.in_(ids)).values(site_model_version="v2"))
        apply_decision(session, moderator, ids[:2], Action.REJECT, reason_code="insult")
        apply_decision(session, moderator, ids[2:3], Action.APPROVE)
        apply_decision(session, moderator, ids[3:], Action.REJECT, reason_code="insult")
    html = client.get("/models").get_data(as_text=True)
    row = re.search(r"<tr class=\"state-active\">.*?</tr>", html, re.S)
    assert row is not None and "3 von 4 (75 %)" in row.group(0)


def test_admin_promotes_rolls_back_and_runs_a_shadow(
    client: FlaskClient, admin: str, database: Database, site: NewSite
) -> None:
    add_versions(database, site)
    base = f"/models/sites/{site.site.id}"
    response = client.post(f"{base}/promote", data={"csrf_token": admin, "version": "v3"})
    assert response.status_code == 302 and response.location.endswith(f"/models#site-{site.site.id}")
    assert states(database, site) == {"v1": "retired", "v2": "retired", "v3": "active", "v4": "refused"}
    assert events(database, "site_model.activated")[-1] == {"version": "v3", "previous": "v2"}
    html = client.get("/models").get_data(as_text=True)
    assert "v3 ist jetzt das aktive Modell von testsite (vorher: v2)." in flashes(html)

    client.post(f"{base}/rollback", data={"csrf_token": admin})
    assert states(database, site)["v2"] == "active" and states(database, site)["v3"] == "retired"
    assert events(database, "site_model.activated")[-1] == {"version": "v2", "previous": "v3"}
    assert any("Zurückgerollt: v2" in f for f in flashes(client.get("/models").get_data(as_text=True)))

    client.post(f"{base}/shadow", data={"csrf_token": admin, "version": "v3"})
    assert states(database, site)["v3"] == "shadow"
    assert events(database, "site_model.shadow")[-1] == {"version": "v3"}
    html = client.get("/models").get_data(as_text=True)
    assert "Im Schattenbetrieb" in html and "Schattenbetrieb beenden" in html
    with database.sessions() as session:
        actors = {
            e.actor for e in session.scalars(select(AuditEvent).where(AuditEvent.event.like("site_model.%")))
        }
    assert f"moderator:{ADMIN[0]}" in actors

    client.post(f"{base}/shadow", data={"csrf_token": admin, "intent": "stop"})
    assert "shadow" not in states(database, site).values()
    assert events(database, "site_model.shadow")[-1] == {"version": None}


def test_moderator_sees_no_buttons_and_gets_403(
    client: FlaskClient, users: None, database: Database, site: NewSite
) -> None:
    add_versions(database, site)
    token = seed.login(client, *MODERATOR)
    html = client.get("/models").get_data(as_text=True)
    assert "testsite: aktives Seitenmodell v2" in html
    assert "/promote" not in html and "/rollback" not in html and "/shadow" not in html
    before = states(database, site)
    base = f"/models/sites/{site.site.id}"
    for path, data in (("promote", {"version": "v3"}), ("rollback", {}), ("shadow", {"version": "v3"})):
        assert client.post(f"{base}/{path}", data={"csrf_token": token, **data}).status_code == 403
    assert states(database, site) == before
    assert client.post(f"{base}/promote", data={"version": "v3"}).status_code == 400  # no CSRF token


@pytest.mark.parametrize(
    ("path", "data", "message"),
    [
        ("promote", {"version": "v9"}, "testsite hat keine Seitenmodell-Version „v9“."),
        ("promote", {"version": ""}, "testsite hat keine Seitenmodell-Version „“."),
        ("promote", {"version": "v2"}, "v2 ist schon das aktive Modell von testsite."),
        ("shadow", {"version": "v9"}, "testsite hat keine Seitenmodell-Version „v9“."),
        ("shadow", {"version": "v2"}, "v2 ist das aktive Modell von testsite"),
    ],
)
def test_bad_versions_flash_an_error(
    client: FlaskClient,
    admin: str,
    database: Database,
    site: NewSite,
    path: str,
    data: dict[str, str],
    message: str,
) -> None:
    add_versions(database, site)
    before = states(database, site)
    response = client.post(f"/models/sites/{site.site.id}/{path}", data={"csrf_token": admin, **data})
    assert response.status_code == 302
    html = client.get("/models").get_data(as_text=True)
    assert any(f.startswith(message) for f in flashes(html)), flashes(html)
    assert 'class="flash flash-error"' in html
    assert states(database, site) == before


def test_unknown_site_and_nothing_to_roll_back_flash_an_error(
    client: FlaskClient, admin: str, database: Database, site: NewSite
) -> None:
    with transaction(database.sessions) as session:
        site_models.record(session, site.site.id, "v1", {}, state=SiteModelState.CANDIDATE)
        site_models.activate(session, site.site.id, "v1", actor="test")
    assert (
        client.post("/models/sites/9999/promote", data={"csrf_token": admin, "version": "v1"}).status_code
        == 302
    )
    assert "Diese Seite gibt es nicht." in flashes(client.get("/models").get_data(as_text=True))
    assert (
        client.post(f"/models/sites/{site.site.id}/rollback", data={"csrf_token": admin}).status_code == 302
    )
    assert "testsite hat kein früheres Seitenmodell, zu dem zurückgerollt werden könnte." in flashes(
        client.get("/models").get_data(as_text=True)
    )
    assert states(database, site) == {"v1": "active"}


def test_every_guard_reason_is_worded_in_german(app: Flask) -> None:
    cases = [
        judge(Figures(None), None, 0.6),
        judge(Figures(0.55), None, 0.6),
        judge(Figures(0.62, slice_low=0.48), None, 0.5, 80),
        judge(Figures(0.8), None, 0.6),
        judge(Figures(0.62), None, 0.7),
        judge(Figures(0.8, {"germeval": 0.6}), Figures(0.8, {"germeval": 0.7}), 0.6),
        judge(Figures(0.7, {"germeval": 0.7}), Figures(0.8, {"germeval": 0.7}), 0.6),
        judge(Figures(0.8, {"germeval": 0.7}), Figures(0.79, {"germeval": 0.7}), 0.6),
        judge(Figures(0.8, {"germeval": 0.4}), None, 0.6),
    ]
    reasons = [r.to_dict() for case in cases for r in case.reasons]
    reasons.append(too_few_labels(30, 8).to_dict())
    with app.test_request_context():
        for reason in reasons:
            assert wording.guard_reason_code(reason) is not None, reason
            assert wording.guard_reason(reason) != reason["detail"]
        assert wording.guard_reason("something new") == "something new"
        unknown = {"code": "later_rule", "params": {}, "detail": "a rule of a later version"}
        assert wording.guard_reason(unknown) == "a rule of a later version"
        assert wording.guard_reason(reasons[-1]) == (
            "30 Labels (8 abgelehnt): nötig sind mindestens 50, davon je 10 von jeder Art"
        )


# -- learning settings on the site page ----------------------------------------------------------------


def test_site_page_shows_labels_and_the_latest_verdict(
    client: FlaskClient, admin: str, database: Database, site: NewSite
) -> None:
    with transaction(database.sessions) as session:
        moderator = session.scalars(select(User).where(User.email == MODERATOR[0])).one()
        held = [
            seed.add_comment(session, site.site.id, f"Text {i}", scores={"toxicity": 0.6}).id
            for i in range(2)
        ]
        apply_decision(session, moderator, held, Action.APPROVE)
        import_labels(
            session, site.site.id, [LabelIn(i, f"Archiv {i}", "reject", external_id=str(i)) for i in range(3)]
        )
        session.add(
            AuditEvent(
                actor="cli",
                event="site_model.verdict",
                site_id=site.site.id,
                data={
                    "site": "testsite",
                    "candidate": None,
                    "active": None,
                    "verdict": "refused",
                    "reasons": [too_few_labels(5, 3).to_dict()],
                    "metrics": {"labels": 5},
                },
            )
        )
    html = client.get(f"/settings/sites/{site.site.id}").get_data(as_text=True)
    assert "2 aus Moderationsentscheidungen, 3 importiert" in html
    assert "verworfen" in html and "5 Labels (3 abgelehnt): nötig sind mindestens 50" in html
    assert 'name="every_hours" type="number" min="0" step="1" value="24"' in html


def test_learning_settings_are_saved_and_audited(
    client: FlaskClient, admin: str, database: Database, site: NewSite
) -> None:
    response = client.post(
        f"/settings/sites/{site.site.id}/learning",
        data={"csrf_token": admin, "every_hours": "6", "after_labels": "200", "shadow": "on"},
    )
    assert response.status_code == 302
    with database.sessions() as session:
        stored = session.get(Site, site.site.id)
        assert stored is not None and stored.learning == {
            "every_hours": 6,
            "after_labels": 200,
            "shadow": True,
        }
    assert events(database, "site.learning_changed") == [
        {
            "learning": {"every_hours": 6, "after_labels": 200, "shadow": True},
            "previous": {"every_hours": 24, "after_labels": 500, "shadow": False},
        }
    ]
    html = client.get(f"/settings/sites/{site.site.id}").get_data(as_text=True)
    assert "Lerneinstellungen gespeichert." in flashes(html)
    assert 'value="6"' in html and 'value="200"' in html
    assert "Lerneinstellungen geändert" in client.get("/audit").get_data(as_text=True)


@pytest.mark.parametrize(
    ("every_hours", "after_labels", "wrong"),
    [
        ("zwölf", "200", {"every_hours"}),
        ("6", "-3", {"after_labels"}),
        ("1.5", "", {"every_hours", "after_labels"}),
    ],
)
def test_bad_learning_settings_are_refused_keeping_what_was_typed(
    client: FlaskClient,
    admin: str,
    database: Database,
    site: NewSite,
    every_hours: str,
    after_labels: str,
    wrong: set[str],
) -> None:
    response = client.post(
        f"/settings/sites/{site.site.id}/learning",
        data={"csrf_token": admin, "every_hours": every_hours, "after_labels": after_labels, "shadow": "on"},
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'name="every_hours" type="number" min="0" step="1" value="{every_hours}"' in html
    assert f'name="after_labels" type="number" min="0" step="1" value="{after_labels}"' in html
    assert re.search(r'name="shadow" checked', html)
    marked = set(re.findall(r'aria-describedby="learning-(\w+)-error"', html))
    assert marked == wrong
    assert "Eine ganze Zahl ab 0 eingeben (0 schaltet es ab)." in html
    assert "Die Lerneinstellungen wurden nicht gespeichert" in html
    with database.sessions() as session:
        assert session.get(Site, site.site.id).learning is None  # type: ignore[union-attr]
    assert events(database, "site.learning_changed") == []


def test_learning_settings_are_for_admins_only(
    client: FlaskClient, users: None, database: Database, site: NewSite
) -> None:
    token = seed.login(client, *MODERATOR)
    response = client.post(
        f"/settings/sites/{site.site.id}/learning",
        data={"csrf_token": token, "every_hours": "1", "after_labels": "1"},
    )
    assert response.status_code == 403


# -- drift ---------------------------------------------------------------------------------------------


def seed_drift(
    database: Database, site: NewSite, *, recent: int, reversed_recent: int, recent_toxicity: float
) -> None:
    """24 model approvals 10 to 20 days ago (none reversed, toxicity 0.10); `recent` approvals 1 to 3 days
    ago (toxicity `recent_toxicity`), of which a moderator later rejected `reversed_recent`."""
    now = utcnow()
    with transaction(database.sessions) as session:
        moderator = session.scalars(select(User).where(User.email == MODERATOR[0])).one()
        for i in range(24):
            seed.add_comment(
                session,
                site.site.id,
                f"Früher {i}",
                status="approved",
                scores={"toxicity": 0.1},
                created_at=now - timedelta(days=10 + i % 10, hours=1),
            )
        recent_ids = [
            seed.add_comment(
                session,
                site.site.id,
                f"Neu {i}",
                status="approved",
                scores={"toxicity": recent_toxicity},
                created_at=now - timedelta(days=1 + i % 3, hours=1),
            ).id
            for i in range(recent)
        ]
        apply_decision(session, moderator, recent_ids[:reversed_recent], Action.REJECT, reason_code="insult")
        # A moderator's hold defers; it reverses nothing.
        apply_decision(session, moderator, recent_ids[reversed_recent : reversed_recent + 2], Action.HOLD)


def test_drift_warnings_on_the_statistics_and_queue_pages(
    app: Flask, client: FlaskClient, admin: str, database: Database, site: NewSite
) -> None:
    seed_drift(database, site, recent=24, reversed_recent=6, recent_toxicity=0.35)
    app.extensions.pop("drift_figures", None)  # logging in loaded the queue, and its banner, before the seeds
    with database.sessions() as session:
        from moderation.store import drift as store_drift

        (found,) = store_drift.site_drift(session)
    assert sum(d.decisions for d in found.days) == 48 and sum(d.overridden for d in found.days) == 6
    assert [w.code for w in found.warnings] == [drift.OVERRIDE_RATE_UP, drift.SCORE_MOVED]
    html = client.get("/stats").get_data(as_text=True)
    assert (
        "testsite: Moderatoren haben in den letzten 7 Tagen 25 % der Freigaben und Ablehnungen des Modells "
        "umgekehrt, in den 21 Tagen davor 0 % (24 bzw. 24 Entscheidungen)." in html
    )
    assert (
        "testsite: der mittlere Wert „Toxizität“ lag in den letzten 7 Tagen bei 0,35, "
        "in den 21 Tagen davor bei 0,10." in html
    )
    assert 'class="drift-banner"' in html and "Keine Drift-Warnung." not in html
    queue = client.get("/").get_data(as_text=True)
    assert 'class="drift-banner"' in queue and "testsite: Moderatoren haben" in queue
    client.post("/language", data={"csrf_token": admin, "lang": "en", "next": "/stats"})
    english = client.get("/stats").get_data(as_text=True)
    assert "testsite: moderators reversed 25 % of the model&#39;s approve and reject decisions" in english


def test_moderators_get_no_drift_banner_on_the_queue(
    client: FlaskClient, users: None, database: Database, site: NewSite
) -> None:
    seed_drift(database, site, recent=24, reversed_recent=6, recent_toxicity=0.35)
    seed.login(client, *MODERATOR)
    assert 'class="drift-banner"' not in client.get("/").get_data(as_text=True)
    assert 'class="drift-banner"' in client.get("/stats").get_data(as_text=True)


def test_no_drift_warning_without_enough_data(
    app: Flask, client: FlaskClient, admin: str, database: Database, site: NewSite
) -> None:
    seed_drift(database, site, recent=12, reversed_recent=6, recent_toxicity=0.35)
    app.extensions.pop("drift_figures", None)
    html = client.get("/stats").get_data(as_text=True)
    assert 'class="drift-banner"' not in html and "Keine Drift-Warnung." in html
    assert 'class="drift-banner"' not in client.get("/").get_data(as_text=True)


def test_drift_rules() -> None:
    today = utcnow().date()
    old, new = today - timedelta(days=10), today - timedelta(days=1)

    def day(when: Any, decisions: int, overridden: int, tox: float = 0.2, scored: int = 30) -> DayFigures:
        return DayFigures(when, decisions, overridden, {"toxicity": scored}, {"toxicity": tox * scored})

    assert drift.warnings([day(old, 100, 10), day(new, 100, 15)], today) == []  # exactly 5 points: no warning
    (up,) = drift.warnings([day(old, 100, 10), day(new, 100, 16)], today)
    assert up.code == drift.OVERRIDE_RATE_UP and up.params["recent_rate"] == pytest.approx(0.16)
    assert drift.warnings([day(old, 19, 0), day(new, 100, 50)], today) == []  # too few before
    assert drift.warnings([day(old, 100, 0), day(new, 19, 10)], today) == []  # too few now
    assert drift.warnings([day(old, 0, 0, 0.2), day(new, 0, 0, 0.3)], today) == []  # moved by exactly 0.1
    (moved,) = drift.warnings([day(old, 0, 0, 0.4), day(new, 0, 0, 0.29)], today)
    assert moved.code == drift.SCORE_MOVED and moved.params["score"] == "toxicity"
    assert drift.warnings([day(old, 0, 0, 0.2, 19), day(new, 0, 0, 0.9)], today) == []  # too few scored
    assert (
        drift.warnings([day(today - timedelta(days=40), 100, 0), day(new, 100, 50)], today) == []
    )  # outside
    assert drift.warnings([], today) == []
