"""The one writer of decisions: Decision rows, their `comment.decided` audit events, comment status and
the held queue's priority, for the workers (model and rule decisions), moderators and undo alike.

Every write goes through `_emit`, which returns the `DecisionEvent` it recorded: one shape whoever
decided. Consumers of decisions hook in there, once: training labels (`moderation.store.labels`) do.

A moderator decision is a label for retraining, so an undone decision is deleted rather than kept
beside a correction: label exports then never see it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from moderation.domain import reader_reasons
from moderation.domain.attributes import ScoreSet
from moderation.domain.enums import Action, ReasonCode, Source, Status
from moderation.domain.facts import CommentFacts
from moderation.domain.policy import Thresholds, Verdict
from moderation.domain.priority import UNSCORED_PRIORITY, review_priority, risk
from moderation.domain.timestamps import as_utc, iso, utcnow
from moderation.store import webhooks
from moderation.store.errors import DecisionError
from moderation.store.labels import sync_label
from moderation.store.priority import refresh_priorities
from moderation.store.tables import AuditEvent, Comment, Decision, ModeratorAction, Scores, Site, User

UNDO_WINDOW = timedelta(seconds=15)
MAX_NOTE_LENGTH = 2000
DECIDED_EVENT = "comment.decided"


@dataclass(frozen=True)
class DecisionEvent:
    """A decision as announced: the audit record of `comment.decided`, and what later hooks receive."""

    comment_id: str
    site_id: int
    decision_id: int
    action: str
    source: str
    status: str
    reasons: list[dict[str, Any]]
    model_version: str | None
    site_model_version: str | None
    reason_code: str | None
    note: str | None
    actor: str
    decided_at: datetime
    undo_of: int | None = None

    def data(self) -> dict[str, Any]:
        """The audit event's `data`: the same keys for every decision."""
        return {
            "decision_id": self.decision_id,
            "action": self.action,
            "source": self.source,
            "status": self.status,
            "reasons": self.reasons,
            "model_version": self.model_version,
            "site_model_version": self.site_model_version,
            "reason_code": self.reason_code,
            "note": self.note,
            "undo_of": self.undo_of,
        }


def _emit(
    session: Session,
    comment: Comment | _Claimed,
    decision: Decision,
    actor: str,
    *,
    at: datetime,
    undo_of: int | None = None,
) -> DecisionEvent:
    """Records the audit event of a decision at time `at` (in the caller's transaction, so it exists
    exactly when the decision does) and returns it. `decision.id` must be assigned (flushed)."""
    event = DecisionEvent(
        comment_id=comment.id,
        site_id=comment.site_id,
        decision_id=decision.id,
        action=decision.action,
        source=decision.source,
        status=Action(decision.action).status.value,
        reasons=list(decision.reasons or []),
        model_version=decision.model_version,
        site_model_version=decision.site_model_version,
        reason_code=decision.reason_code,
        note=decision.note,
        actor=actor,
        decided_at=as_utc(decision.created_at) or utcnow(),
        undo_of=undo_of,
    )
    if isinstance(comment, Comment):
        # A decision on a stored comment (a moderator's, or the one an undo restores) may make or end a
        # training label; the workers' decisions are on new comments, which have none.
        sync_label(session, comment, decision)
    session.add(
        AuditEvent(
            actor=actor,
            event=DECIDED_EVENT,
            site_id=comment.site_id,
            comment_id=comment.id,
            data=event.data(),
            created_at=at,
        )
    )
    # The site's webhook endpoint hears of it from the same transaction (an outbox row; sent after commit).
    webhooks.record_decision(session, event, at)
    return event


# -- model and rule decisions (workers) ---------------------------------------------------------------


@dataclass(frozen=True)
class _Claimed:
    id: str
    site_id: int


@dataclass(frozen=True)
class ModelDecision:
    """What the workers decided for one comment, with everything it was decided on."""

    comment_id: str
    site_id: int
    verdict: Verdict
    facts: CommentFacts
    scores: ScoreSet | None
    lang: str | None
    thresholds: Thresholds
    site_model_version: str | None = None
    scoring_profile: str | None = None


def claim_pending(session: Session, ids: Sequence[str], now: datetime) -> set[str]:
    """Claims the comments among `ids` that are still pending and undecided, in one conditional UPDATE.

    A comment two workers race for (a re-enqueued id, a reconciler pass) is claimed by one: the other's
    UPDATE waits on the row lock (PostgreSQL) or the write lock (SQLite), then finds it taken and claims
    nothing. So every comment gets exactly one model decision.
    """
    if not ids:
        return set()
    return set(
        session.scalars(
            update(Comment)
            .where(
                Comment.id.in_(list(ids)),
                Comment.status == Status.PENDING.value,
                Comment.decided_at.is_(None),
            )
            .values(decided_at=now)
            .returning(Comment.id)
            .execution_options(synchronize_session=False)
        )
    )


def record_model_decisions(
    session: Session, decided: Sequence[ModelDecision], *, model_version: str | None, now: datetime
) -> list[DecisionEvent]:
    """Writes scores, decision, status, priority and audit event of claimed comments (one executemany
    per table); returns the events."""
    if not decided:
        return []
    changes: list[dict[str, Any]] = []
    decisions: list[Decision] = []
    for item in decided:
        priority = UNSCORED_PRIORITY
        if item.scores is not None and model_version is not None:
            session.add(_scores_row(item.comment_id, item.scores, model_version, now))
            priority = review_priority(item.scores.values, item.thresholds)
        changes.append(
            {
                "id": item.comment_id,
                "status": item.verdict.action.status.value,
                "lang": item.lang,
                "priority": priority,
            }
        )
        decision = Decision(
            comment_id=item.comment_id,
            action=item.verdict.action.value,
            source=item.verdict.source.value,
            reasons=item.verdict.reasons_dicts(),
            model_version=model_version,
            site_model_version=item.site_model_version,
            scoring_profile=item.scoring_profile if item.scores is not None else None,
            facts=item.facts.recorded(),
            created_at=now,
        )
        decisions.append(decision)
    session.execute(update(Comment), changes)  # one executemany by primary key
    session.add_all(decisions)
    session.flush()
    # The batch's sites in one query, held here: the session's identity map keeps objects only while
    # something refers to them, and each decision's webhook check looks its site up there.
    sites = session.scalars(select(Site).where(Site.id.in_({item.site_id for item in decided}))).all()
    events = [
        _emit(
            session,
            _Claimed(item.comment_id, item.site_id),
            decision,
            _model_actor(item.verdict, model_version),
            at=now,
        )
        for item, decision in zip(decided, decisions, strict=True)
    ]
    del sites
    return events


def _model_actor(verdict: Verdict, version: str | None) -> str:
    return verdict.source.value if version is None else f"{verdict.source.value}:{version}"


def _scores_row(comment_id: str, scores: ScoreSet, version: str, now: datetime) -> Scores:
    row = Scores(
        comment_id=comment_id,
        model_version=version,
        techniques=dict(scores.techniques),
        narratives=[{"id": n, "score": s} for n, s in scores.narratives],
        spans=[dict(span) for span in scores.spans],
        risk=risk(scores.values),
        scored_at=now,
    )
    for name, value in scores.values.items():
        setattr(row, name, value)
    return row


# -- moderator decisions and undo (dashboard) ---------------------------------------------------------


@dataclass(frozen=True)
class Applied:
    action_id: str
    decided: int
    skipped: int
    events: tuple[DecisionEvent, ...] = ()


def user_actor(user: User) -> str:
    return f"moderator:{user.email}"


def apply_decision(
    session: Session,
    user: User,
    comment_ids: Sequence[str],
    action: Action,
    reason_code: str | None = None,
    note: str | None = None,
    reader_reason: Mapping[str, str | None] | None = None,
) -> Applied:
    """Decides every listed comment that is not pending; the caller commits (all or nothing).

    Pending comments are skipped: the model decides each comment exactly once, and a moderator
    decision written before it would be overwritten by the worker. `reader_reason` (`{"de"?, "en"?}`)
    is the moderator's wording of what the comment's author is told (`moderation.domain.reader_reasons`);
    an approval tells readers nothing, so it keeps none.
    """
    if action is Action.REJECT and not reason_code:
        raise DecisionError("reason_required", "a rejection needs a reason code")
    if reason_code is not None and reason_code not in {c.value for c in ReasonCode}:
        raise DecisionError("unknown_reason", f"unknown reason code {reason_code}", reason_code=reason_code)
    note = (note or "").strip()[:MAX_NOTE_LENGTH] or None
    try:
        edited = None if action is Action.APPROVE else reader_reasons.clean_edit(reader_reason)
    except ValueError as exc:
        raise DecisionError("invalid_reader_reason", str(exc)) from exc
    now = utcnow()
    comments = session.scalars(
        select(Comment).where(Comment.id.in_(list(dict.fromkeys(comment_ids)))).with_for_update()
    ).all()
    entries: list[dict[str, Any]] = []
    events: list[DecisionEvent] = []
    for comment in comments:
        if comment.status == Status.PENDING.value:
            continue
        decision = Decision(
            comment_id=comment.id,
            action=action.value,
            source=Source.MODERATOR.value,
            moderator_id=user.id,
            reason_code=reason_code,
            note=note,
            reader_reason=edited,
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
        events.append(_emit(session, comment, decision, user_actor(user), at=now))
    if action is Action.HOLD:
        # Back into the held queue: rank it under the site's current thresholds, not those it was scored by.
        refresh_priorities(session, [entry["comment_id"] for entry in entries])
    record = ModeratorAction(moderator_id=user.id, action=action.value, entries=entries, created_at=now)
    session.add(record)
    session.flush()
    return Applied(
        record.id, decided=len(entries), skipped=len(comment_ids) - len(entries), events=tuple(events)
    )


def undo(session: Session, user: User, action_id: str) -> Undone:
    """Reverts an action of this user made within `UNDO_WINDOW`: how many comments were restored, and
    the events of the decisions that are current again (one per restored comment with an earlier one).

    A comment decided again since (by anyone) keeps its newer decision.
    """
    record = session.get(ModeratorAction, action_id, with_for_update=True)
    if record is None or record.moderator_id != user.id:
        raise DecisionError("no_such_action", "there is no such action of yours to undo")
    if record.undone_at is not None:
        raise DecisionError("already_undone", "this action was already undone")
    created = as_utc(record.created_at)
    if created is None or utcnow() - created > UNDO_WINDOW:
        raise DecisionError("too_late", "too late to undo this action")
    restored: list[DecisionEvent] = []
    count = 0
    back_in_held: list[str] = []
    restored_ids: list[str] = []
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
            restored.append(
                _emit(session, comment, previous, user_actor(user), at=utcnow(), undo_of=decision.id)
            )
        else:
            sync_label(session, comment, None)
        count += 1
        restored_ids.append(comment.id)
        if comment.status == Status.HELD.value:
            back_in_held.append(comment.id)
    # A comment the undo puts back into the held queue is ranked under the current thresholds.
    refresh_priorities(session, back_in_held)
    record.undone_at = utcnow()
    return Undone(count, tuple(restored), tuple(restored_ids))


@dataclass(frozen=True)
class Undone:
    restored: int
    events: tuple[DecisionEvent, ...]
    comment_ids: tuple[str, ...] = ()  # the comments whose earlier state is back, for the dashboard to show


def _parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
