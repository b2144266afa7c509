"""Moderator decisions: apply one to many comments in one transaction, and undo it for a short while.

A moderator decision is a label for retraining, so an undone decision is deleted rather than kept
beside a correction: label exports then never see it.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from moderation.comments import as_utc, iso
from moderation.dashboard.priority import refresh_priorities
from moderation.models import (
    Action,
    AuditEvent,
    Comment,
    Decision,
    Moderator,
    ModeratorAction,
    Source,
    Status,
    utcnow,
)

UNDO_WINDOW = timedelta(seconds=15)
MAX_NOTE_LENGTH = 2000


class ReasonCode(enum.StrEnum):
    INSULT = "insult"
    THREAT = "threat"
    IDENTITY_ATTACK = "identity_attack"
    PROPAGANDA = "propaganda"
    SPAM = "spam"
    OFF_TOPIC = "off_topic"
    OTHER = "other"


class DecisionError(ValueError):
    """A decision the dashboard refuses (wrong action, missing reason, too late to undo...)."""


@dataclass(frozen=True)
class Applied:
    action_id: str
    decided: int
    skipped: int


def moderator_actor(moderator: Moderator) -> str:
    return f"moderator:{moderator.email}"


def emit_decision_event(
    session: Session, comment: Comment, decision: Decision, actor: str, *, undo_of: int | None = None
) -> None:
    """Announces a decision a moderator made (or restored by undo).

    Webhook delivery is a later issue; it hooks in here. Until then the event is the audit record, in
    the caller's transaction, so it exists exactly when the decision does.
    """
    data: dict[str, Any] = {
        "action": decision.action,
        "source": Source.MODERATOR.value,
        "decision_source": decision.source,
        "reason_code": decision.reason_code,
        "note": decision.note,
        "status": comment.status,
        "decision_id": decision.id,
    }
    if undo_of is not None:
        data["undo_of"] = undo_of
    session.add(
        AuditEvent(
            actor=actor, event="comment.decided", site_id=comment.site_id, comment_id=comment.id, data=data
        )
    )


def apply_decision(
    session: Session,
    moderator: Moderator,
    comment_ids: Sequence[str],
    action: Action,
    reason_code: str | None = None,
    note: str | None = None,
) -> Applied:
    """Decides every listed comment that is not pending; the caller commits (all or nothing).

    Pending comments are skipped: the model decides each comment exactly once, and a moderator
    decision written before it would be overwritten by the worker.
    """
    if action is Action.REJECT and not reason_code:
        raise DecisionError(lazy_gettext("a rejection needs a reason code"))
    if reason_code is not None and reason_code not in {c.value for c in ReasonCode}:
        raise DecisionError(lazy_gettext("unknown reason code %(code)s", code=reason_code))
    note = (note or "").strip()[:MAX_NOTE_LENGTH] or None
    now = utcnow()
    comments = session.scalars(
        select(Comment).where(Comment.id.in_(list(dict.fromkeys(comment_ids)))).with_for_update()
    ).all()
    entries: list[dict[str, Any]] = []
    for comment in comments:
        if comment.status == "pending":
            continue
        decision = Decision(
            comment_id=comment.id,
            action=action.value,
            source=Source.MODERATOR.value,
            moderator_id=moderator.id,
            reason_code=reason_code,
            note=note,
            created_at=now,
        )
        session.add(decision)
        session.flush()
        entries.append(
            {
                "comment_id": comment.id,
                "decision_id": decision.id,
                "status": comment.status,
                "decided_at": iso(comment.decided_at),
            }
        )
        comment.status = action.status.value
        comment.decided_at = now
        emit_decision_event(session, comment, decision, moderator_actor(moderator))
    if action is Action.HOLD:
        # Back into the held queue: rank it under the site's current thresholds, not those it was scored by.
        refresh_priorities(session, [entry["comment_id"] for entry in entries])
    record = ModeratorAction(moderator_id=moderator.id, action=action.value, entries=entries, created_at=now)
    session.add(record)
    session.flush()
    return Applied(record.id, decided=len(entries), skipped=len(comment_ids) - len(entries))


def undo(session: Session, moderator: Moderator, action_id: str) -> int:
    """Reverts an action of this moderator made within `UNDO_WINDOW`; returns how many were restored.

    A comment decided again since (by anyone) keeps its newer decision.
    """
    record = session.get(ModeratorAction, action_id, with_for_update=True)
    if record is None or record.moderator_id != moderator.id:
        raise DecisionError(lazy_gettext("there is no such action of yours to undo"))
    if record.undone_at is not None:
        raise DecisionError(lazy_gettext("this action was already undone"))
    created = as_utc(record.created_at)
    if created is None or utcnow() - created > UNDO_WINDOW:
        raise DecisionError(lazy_gettext("too late to undo this action"))
    restored = 0
    back_in_held: list[str] = []
    for entry in record.entries:
        comment = session.get(Comment, entry["comment_id"], with_for_update=True)
        decision = session.get(Decision, entry["decision_id"])
        if comment is None or decision is None:
            continue
        latest = session.scalar(
            select(Decision.id).where(Decision.comment_id == comment.id).order_by(Decision.id.desc())
        )
        if latest != decision.id:
            continue
        session.delete(decision)
        session.flush()
        comment.status = entry["status"]
        previous_at = entry.get("decided_at")
        comment.decided_at = _parse_iso(previous_at) if previous_at else None
        previous = session.scalars(
            select(Decision).where(Decision.comment_id == comment.id).order_by(Decision.id.desc())
        ).first()
        if previous is not None:
            emit_decision_event(session, comment, previous, moderator_actor(moderator), undo_of=decision.id)
        restored += 1
        if comment.status == Status.HELD.value:
            back_in_held.append(comment.id)
    # A comment the undo puts back into the held queue is ranked under the current thresholds.
    refresh_priorities(session, back_in_held)
    record.undone_at = utcnow()
    return restored


def _parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
