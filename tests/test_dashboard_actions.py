"""Moderator actions write Decision + AuditEvent + status at once; undo restores (SQLite + PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update

from moderation.store.accounts import NewSite
from moderation.store.db import transaction
from moderation.store.tables import AuditEvent, Comment, Decision, ModeratorAction
from tests.browser import seed
from tests.conftest import Database

JSON = {"Accept": "application/json"}


@pytest.fixture
def seeded(database: Database, site: NewSite) -> seed.Seeded:
    with transaction(database.sessions) as session:
        seed.make_users(session)
        return seed.seed(session, site.site.id, count=24)


@pytest.fixture
def token(client: FlaskClient, seeded: seed.Seeded) -> str:
    return seed.login(client, "mod@example.org", "moderator-password-1")


def test_reject_writes_decision_audit_and_status(
    client: FlaskClient, token: str, seeded: seed.Seeded, database: Database
) -> None:
    target = seeded.held[0]
    response = client.post(
        "/actions/decide",
        headers=JSON,
        data={
            "comment_id": target,
            "action": "reject",
            "reason_code": "propaganda",
            "note": "Kreml-Narrativ",
            "csrf_token": token,
        },
    )
    assert response.status_code == 200 and response.get_json()["decided"] == 1
    with database.sessions() as session:
        comment = session.get(Comment, target)
        assert comment is not None and comment.status == "rejected"
        decision = comment.decisions[-1]
        assert (decision.source, decision.action, decision.reason_code, decision.note) == (
            "moderator",
            "reject",
            "propaganda",
            "Kreml-Narrativ",
        )
        assert decision.moderator_id is not None
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.comment_id == target).order_by(AuditEvent.id.desc())
        ).first()
        assert (
            event is not None
            and event.event == "comment.decided"
            and event.actor == "moderator:mod@example.org"
        )
        assert event.data["source"] == "moderator" and event.data["reason_code"] == "propaganda"


def test_reject_needs_a_known_reason(
    client: FlaskClient, token: str, seeded: seed.Seeded, database: Database
) -> None:
    for reason in ("", "because"):
        response = client.post(
            "/actions/decide",
            headers=JSON,
            data={
                "comment_id": seeded.held[0],
                "action": "reject",
                "reason_code": reason,
                "csrf_token": token,
            },
        )
        assert response.status_code == 422
    with database.sessions() as session:
        assert session.get(Comment, seeded.held[0]).status == "held"  # type: ignore[union-attr]


def test_bulk_selection_and_undo(
    client: FlaskClient, token: str, seeded: seed.Seeded, database: Database
) -> None:
    picked = seeded.held[:3]
    response = client.post(
        "/actions/decide", headers=JSON, data={"comment_id": picked, "action": "approve", "csrf_token": token}
    )
    body = response.get_json()
    assert body["decided"] == 3
    undo = client.post(body["undo_url"], headers=JSON, data={"csrf_token": token})
    assert undo.get_json()["restored"] == 3
    with database.sessions() as session:
        for comment_id in picked:
            comment = session.get(Comment, comment_id)
            assert comment is not None and comment.status == "held"
            assert [d.source for d in comment.decisions] == ["model"]  # the undone label is gone
    again = client.post(body["undo_url"], headers=JSON, data={"csrf_token": token})
    assert again.status_code == 422


def test_undo_is_refused_after_the_window(
    client: FlaskClient, token: str, seeded: seed.Seeded, database: Database
) -> None:
    body = client.post(
        "/actions/decide",
        headers=JSON,
        data={"comment_id": seeded.held[0], "action": "approve", "csrf_token": token},
    ).get_json()
    with transaction(database.sessions) as session:
        row = session.get(ModeratorAction, body["action_id"])
        assert row is not None
        session.execute(
            update(ModeratorAction)
            .where(ModeratorAction.id == row.id)
            .values(created_at=row.created_at - timedelta(minutes=1))
        )
    assert client.post(body["undo_url"], headers=JSON, data={"csrf_token": token}).status_code == 422


def test_another_moderator_cannot_undo(
    client: FlaskClient, token: str, seeded: seed.Seeded, app: object
) -> None:
    body = client.post(
        "/actions/decide",
        headers=JSON,
        data={"comment_id": seeded.held[0], "action": "approve", "csrf_token": token},
    ).get_json()
    other = client.application.test_client()
    other_token = seed.login(other, "admin@example.org", "admin-password-1")
    assert other.post(body["undo_url"], headers=JSON, data={"csrf_token": other_token}).status_code == 422


def test_score_band_needs_confirmation_then_decides_only_that_band(
    client: FlaskClient, token: str, seeded: seed.Seeded, database: Database
) -> None:
    form = {
        "band_min": "0.6",
        "band_max": "0.9",
        "action": "reject",
        "reason_code": "propaganda",
        "csrf_token": token,
    }
    preview = client.post("/actions/band", data=form)
    assert preview.status_code == 200 and "Nach höchstem Wert entscheiden" in preview.get_data(as_text=True)
    with database.sessions() as session:
        assert session.scalars(select(Decision).where(Decision.source == "moderator")).first() is None
    done = client.post("/actions/band", data=dict(form, confirm="yes"))
    assert done.status_code == 302
    with database.sessions() as session:
        held = session.scalars(select(Comment).where(Comment.id.in_(seeded.held))).all()
        rejected = [c for c in held if c.status == "rejected"]
        assert rejected and all(0.6 <= c.scores.risk <= 0.9 for c in rejected if c.scores)
        assert all(not (0.6 <= c.scores.risk <= 0.9) for c in held if c.status == "held" and c.scores)


def test_post_without_csrf_is_refused(
    client: FlaskClient, token: str, seeded: seed.Seeded, database: Database
) -> None:
    response = client.post("/actions/decide", data={"comment_id": seeded.held[0], "action": "approve"})
    assert response.status_code == 400
    with database.sessions() as session:
        assert session.get(Comment, seeded.held[0]).status == "held"  # type: ignore[union-attr]


def test_audit_trail_says_what_happened_and_what_was_undone(
    client: FlaskClient, token: str, seeded: seed.Seeded
) -> None:
    target = seeded.held[0]
    form = {"comment_id": target, "action": "reject", "reason_code": "insult", "csrf_token": token}
    body = client.post(
        "/actions/decide", headers=JSON, data={**form, "note": "Beleidigt den Autor"}
    ).get_json()
    client.post(body["undo_url"], headers=JSON, data={"csrf_token": token})
    html = client.get(f"/comments/{target}").get_data(as_text=True)
    trail = html[html.index('class="plain trail"') :]
    assert "ablehnen (Moderation); Grund: Beleidigung; Notiz: „Beleidigt den Autor“; jetzt abgelehnt" in trail
    assert "rückgängig gemacht</span>" in trail  # the rejection is marked as undone
    assert "frühere Entscheidung wiederhergestellt – zurückhalten (Modell)" in trail


def test_refusal_reason_is_translated(client: FlaskClient, token: str, seeded: seed.Seeded) -> None:
    form = {"comment_id": seeded.held[0], "action": "reject", "csrf_token": token}
    body = client.post("/actions/decide", headers=JSON, data=form).get_json()
    assert body["error"]["message"] == "Nicht gespeichert: eine Ablehnung braucht einen Grund"
