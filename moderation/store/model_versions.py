"""Which model version is active: recorded in SQL so every worker on every host agrees."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from classifiers.registry import Registry
from moderation.domain.timestamps import utcnow
from moderation.store.db import transaction
from moderation.store.tables import AuditEvent, ModelVersion


def active_version(session: Session) -> str | None:
    return session.scalars(select(ModelVersion.version).where(ModelVersion.active.is_(True))).first()


def register(session: Session, version: str, card: dict[str, Any]) -> ModelVersion:
    row = session.get(ModelVersion, version)
    if row is None:
        row = ModelVersion(version=version, card=card, active=False)
        session.add(row)
    return row


def activate(session: Session, version: str, *, actor: str) -> None:
    """Makes `version` the one active model; the previous one stays registered for rollback."""
    row = session.get(ModelVersion, version)
    if row is None:
        raise LookupError(f"model version {version} is not registered")
    previous = active_version(session)
    session.execute(update(ModelVersion).where(ModelVersion.active.is_(True)).values(active=False))
    session.flush()
    row.active = True
    row.activated_at = utcnow()
    session.add(
        AuditEvent(actor=actor, event="model.activated", data={"version": version, "previous": previous})
    )


def previous_version(session: Session) -> str | None:
    """The version that was active before the current one, from the audit trail."""
    current = active_version(session)
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.event == "model.activated").order_by(AuditEvent.id.desc())
    )
    for event in events:
        previous = (event.data or {}).get("previous")
        if event.data.get("version") == current and previous and previous != current:
            return str(previous)
    return None


def history(session: Session) -> list[ModelVersion]:
    return list(session.scalars(select(ModelVersion).order_by(ModelVersion.registered_at.desc())))


def register_and_activate(
    sessions: sessionmaker[Session], registry: Registry, version: str, *, actor: str
) -> None:
    """Records `version` (with its card) and makes it the active one, in one transaction."""
    with transaction(sessions) as session:
        register(session, version, registry.card(version))
        activate(session, version, actor=actor)
