"""Webhook deliveries as an outbox: a `webhook_deliveries` row is written in the transaction of the
decision it announces (`record_decision`, called once from `moderation.store.decisions`), so an event
exists exactly when its decision does. After the commit one RQ job is queued (`kick`) that posts every
due delivery (`workers.webhooks`); retries are rows whose `next_attempt_at` lies ahead, so a lost job
costs nothing but time: the workers' sweep queues the job again for anything due.

Endpoint settings (address, secret and its rotation, switching off and on) and the delivery log live
here too, for the dashboard and the CLI alike.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import redis
from rq import Queue
from sqlalchemy import delete, event, func, select, update
from sqlalchemy.orm import Session, selectinload, sessionmaker

from moderation.domain import webhooks as spec
from moderation.domain.timestamps import as_utc, iso, utcnow
from moderation.store.comments import serialize
from moderation.store.keys import new_webhook_secret
from moderation.store.tables import AuditEvent, Comment, Site, WebhookAttempt, WebhookDelivery

if TYPE_CHECKING:
    from moderation.store.decisions import DecisionEvent

log = logging.getLogger(__name__)

QUEUE = "moderation-webhooks"
DELIVER_JOB = "workers.webhooks.deliver_due"
JOB_TIMEOUT_S = 3600
# Set while a delivery job waits in the queue: commits meanwhile need no job of their own.
KICK_KEY = "moderation:webhooks:kick"
KICK_TTL_S = 600
# When the next retry job is due (unix seconds): one scheduled job serves every retry up to then.
SCHEDULED_KEY = "moderation:webhooks:scheduled-at"
# After a rotation the previous secret signs too, for this long.
ROTATION_OVERLAP = timedelta(hours=24)
LOG_SIZE = 50
DISABLED_BY_GONE = "gone"
DISABLED_BY_FAILURES = "failing"
DISABLED_BY_ADMIN = "admin"
_WRITTEN = "moderation.webhooks.written"


class State(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # every attempt of about a day failed
    DISABLED = "disabled"  # the endpoint was switched off (or removed) before it was delivered


def is_active(site: Site) -> bool:
    """Whether events are written for this site: it has an address and a secret and is not switched off."""
    return bool(site.webhook_url and site.webhook_secret and site.webhook_disabled_at is None)


# -- the outbox ------------------------------------------------------------------------------------------


def record_decision(session: Session, decided: DecisionEvent, at: datetime) -> WebhookDelivery | None:
    """Writes the `comment.decided` event of one decision for the site's endpoint, if it has an active one.

    The body carries the comment as `GET /api/v1/comments/<id>` returns it after this decision, so
    pending changes are flushed and the comment is read afresh.
    """
    site = session.get(Site, decided.site_id)
    if site is None or not is_active(site):
        return None
    session.flush()
    comment = session.scalars(
        select(Comment)
        .where(Comment.id == decided.comment_id)
        .options(selectinload(Comment.scores), selectinload(Comment.decisions))
        .execution_options(populate_existing=True)
    ).one()
    return _add(session, site, spec.DECIDED, serialize(comment), at, comment_id=comment.id)


def record_test_event(
    session: Session, site: Site, actor: str, at: datetime | None = None
) -> WebhookDelivery:
    """A `webhook.test` event, marked as such, for an admin to check the endpoint and its signature check."""
    at = at or utcnow()
    data = {
        "test": True,
        "site": site.name,
        "message": "A test event from the comment moderation service; it announces no decision.",
    }
    delivery = _add(session, site, spec.TEST, data, at)
    session.add(AuditEvent(actor=actor, event="site.webhook_test_sent", site_id=site.id, data={}))
    return delivery


def _add(
    session: Session,
    site: Site,
    event_type: str,
    data: dict[str, Any],
    at: datetime,
    comment_id: str | None = None,
) -> WebhookDelivery:
    body = json.dumps(
        {"type": event_type, "timestamp": iso(at), "data": data}, ensure_ascii=False, separators=(",", ":")
    )
    delivery = WebhookDelivery(
        site_id=site.id,
        message_id=f"msg_{uuid.uuid4().hex}",
        event_type=event_type,
        comment_id=comment_id,
        url=site.webhook_url or "",
        body=body,
        state=State.PENDING.value,
        next_attempt_at=at,
        created_at=at,
    )
    session.add(delivery)
    session.info[_WRITTEN] = True
    return delivery


def install(sessions: sessionmaker[Session], connection: redis.Redis | None) -> None:
    """Queues a delivery job after every commit of these sessions that wrote a delivery. Called where
    the process builds its resources; without Redis the workers' sweep finds the deliveries instead."""
    if connection is None:
        return

    def after_commit(session: Session) -> None:
        if session.info.pop(_WRITTEN, False):
            try:
                kick(connection)
            except redis.RedisError:
                log.warning("cannot queue webhook deliveries now; the workers' sweep will", exc_info=True)

    def after_rollback(session: Session) -> None:
        session.info.pop(_WRITTEN, None)

    event.listen(sessions, "after_commit", after_commit)
    event.listen(sessions, "after_rollback", after_rollback)


def kick(connection: redis.Redis) -> bool:
    """Queues one delivery job unless one is already waiting; returns whether this call queued it."""
    if not connection.set(KICK_KEY, "1", nx=True, ex=KICK_TTL_S):
        return False
    Queue(QUEUE, connection=connection).enqueue(
        DELIVER_JOB, job_timeout=JOB_TIMEOUT_S, result_ttl=3600, failure_ttl=86400
    )
    return True


def kicked(connection: redis.Redis) -> None:
    """A delivery job started: deliveries committed from now on need another job."""
    connection.delete(KICK_KEY)


def schedule_at(connection: redis.Redis, when: datetime, now: datetime | None = None) -> bool:
    """Makes sure a delivery job runs at `when` (RQ's scheduler, run by the workers), unless one is
    scheduled already for then or earlier; returns whether this call scheduled one."""
    now = now or utcnow()
    current = connection.get(SCHEDULED_KEY)
    if current is not None:
        scheduled = float(current)
        if now.timestamp() <= scheduled <= when.timestamp():
            return False
    ttl = max(1, int((when - now).total_seconds()) + 60)
    connection.set(SCHEDULED_KEY, str(when.timestamp()), ex=ttl)
    Queue(QUEUE, connection=connection).enqueue_at(
        when, DELIVER_JOB, job_timeout=JOB_TIMEOUT_S, result_ttl=3600, failure_ttl=86400
    )
    return True


# -- claiming and recording attempts (workers) ----------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    """A delivery a job may attempt now, with what it needs to post it."""

    id: int
    site_id: int
    message_id: str
    body: str
    attempts: int
    url: str | None
    secrets: tuple[str, ...]
    allow: bool  # the endpoint is still active


def claim_due(session: Session, now: datetime, limit: int, lease: timedelta) -> list[int]:
    """Claims up to `limit` pending deliveries due at `now` (oldest first), in one conditional UPDATE that
    moves their `next_attempt_at` past the lease: a racing job claims none of them, and a job that dies
    leaves them due again when the lease ends. Returns their ids."""
    ids = list(
        session.scalars(
            select(WebhookDelivery.id)
            .where(WebhookDelivery.state == State.PENDING.value, WebhookDelivery.next_attempt_at <= now)
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(limit)
        )
    )
    if not ids:
        return []
    claimed = session.scalars(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id.in_(ids),
            WebhookDelivery.state == State.PENDING.value,
            WebhookDelivery.next_attempt_at <= now,
        )
        .values(next_attempt_at=now + lease)
        .returning(WebhookDelivery.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(claimed)


def prepare(session: Session, delivery_id: int, now: datetime) -> Claimed | None:
    """A claimed delivery as it is to be posted now, with the endpoint's current address and secrets;
    None if it is no longer pending (its endpoint was switched off meanwhile, it was erased)."""
    row = session.execute(
        select(WebhookDelivery, Site)
        .join(Site, Site.id == WebhookDelivery.site_id)
        .where(WebhookDelivery.id == delivery_id)
    ).first()
    if row is None:
        return None
    delivery, site = row
    if delivery.state != State.PENDING.value:
        return None
    return Claimed(
        id=delivery.id,
        site_id=site.id,
        message_id=delivery.message_id,
        body=delivery.body,
        attempts=delivery.attempts,
        url=site.webhook_url,
        secrets=signing_secrets(site, now),
        allow=is_active(site),
    )


def signing_secrets(site: Site, now: datetime) -> tuple[str, ...]:
    """The current secret, and the previous one while its rotation overlap lasts."""
    out = [site.webhook_secret] if site.webhook_secret else []
    until = as_utc(site.webhook_secret_previous_until)
    if site.webhook_secret_previous and until is not None and until > now:
        out.append(site.webhook_secret_previous)
    return tuple(out)


@dataclass(frozen=True)
class Outcome:
    """What one HTTP attempt got: the status code (None: no answer), how long it took, what failed."""

    status: int | None
    response_ms: float | None
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def record_outcome(
    session: Session,
    claimed: Claimed,
    outcome: Outcome,
    now: datetime,
    schedule: Sequence[timedelta] = spec.RETRY_DELAYS,
) -> str:
    """Logs one attempt and moves the delivery on: delivered, retried later (per `schedule`), or given
    up. A 410 switches the endpoint off at once; so does a delivery given up after the endpoint failed
    everything for `spec.FAILING_FOR`. Returns the delivery's new state."""
    delivery = session.get(WebhookDelivery, claimed.id)
    site = session.get(Site, claimed.site_id)
    if delivery is None or site is None:
        return State.DISABLED.value  # deleted meanwhile (erasure, retention, the site)
    error = (outcome.error or "")[:500] or None
    session.add(
        WebhookAttempt(
            delivery_id=delivery.id,
            attempted_at=now,
            status_code=outcome.status,
            response_ms=outcome.response_ms,
            error=error,
        )
    )
    delivery.attempts = (delivery.attempts or 0) + 1
    delivery.last_status, delivery.last_error = outcome.status, error
    delivery.last_response_ms = outcome.response_ms
    if claimed.url:
        delivery.url = claimed.url
    if outcome.delivered:
        delivery.state, delivery.delivered_at, delivery.next_attempt_at = State.DELIVERED.value, now, None
        site.webhook_failures = 0
        return delivery.state
    site.webhook_failures = (site.webhook_failures or 0) + 1
    if outcome.status == 410:
        delivery.state, delivery.next_attempt_at = State.DISABLED.value, None
        disable(session, site, DISABLED_BY_GONE, actor="webhooks", now=now)
        return delivery.state
    delay = spec.retry_delay(delivery.attempts, schedule)
    if delay is not None:
        delivery.next_attempt_at = now + delay
        return delivery.state
    delivery.state, delivery.next_attempt_at = State.FAILED.value, None
    succeeded = session.scalar(
        select(func.count())
        .select_from(WebhookDelivery)
        .where(
            WebhookDelivery.site_id == site.id,
            WebhookDelivery.delivered_at >= now - spec.FAILING_FOR,
        )
    )
    if not succeeded and site.webhook_disabled_at is None:
        disable(session, site, DISABLED_BY_FAILURES, actor="webhooks", now=now)
    return delivery.state


def set_aside(session: Session, claimed: Claimed, now: datetime) -> None:
    """A claimed delivery whose endpoint was switched off or removed meanwhile: kept in the log, unsent."""
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == claimed.id, WebhookDelivery.state == State.PENDING.value)
        .values(state=State.DISABLED.value, next_attempt_at=None, last_error="endpoint switched off")
    )


def postpone(session: Session, ids: Sequence[int], until: datetime) -> None:
    """Claimed deliveries not attempted (their endpoint just failed): due again at `until`, no attempt
    counted."""
    if ids:
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(list(ids)), WebhookDelivery.state == State.PENDING.value)
            .values(next_attempt_at=until)
            .execution_options(synchronize_session=False)
        )


def next_due(session: Session) -> datetime | None:
    """When the next pending delivery is due."""
    return as_utc(
        session.scalar(
            select(func.min(WebhookDelivery.next_attempt_at)).where(
                WebhookDelivery.state == State.PENDING.value
            )
        )
    )


# -- endpoint settings (dashboard and CLI) --------------------------------------------------------------


def set_url(session: Session, site: Site, url: str | None, *, actor: str) -> str | None:
    """Sets (or with None removes) the endpoint; returns a new secret, to be shown this once, when the
    site had no endpoint (or no secret) before. A changed address keeps its secret: rotate for a new one."""
    previous = site.webhook_url
    site.webhook_url = url
    secret = None
    if url and not (previous and site.webhook_secret):
        secret = new_webhook_secret()
        site.webhook_secret = secret
        site.webhook_secret_previous = site.webhook_secret_previous_until = None
    session.add(
        AuditEvent(
            actor=actor,
            event="site.webhook_changed",
            site_id=site.id,
            data={"webhook_url": url, "previous_webhook_url": previous, "new_secret": secret is not None},
        )
    )
    return secret


def rotate_secret(session: Session, site: Site, *, actor: str, now: datetime | None = None) -> str:
    """A new secret; the current one keeps signing too (a second signature) for `ROTATION_OVERLAP`."""
    now = now or utcnow()
    secret = new_webhook_secret()
    if site.webhook_secret:
        site.webhook_secret_previous = site.webhook_secret
        site.webhook_secret_previous_until = now + ROTATION_OVERLAP
    site.webhook_secret = secret
    session.add(
        AuditEvent(
            actor=actor,
            event="site.webhook_secret_rotated",
            site_id=site.id,
            data={"previous_valid_until": iso(site.webhook_secret_previous_until)},
        )
    )
    return secret


def disable(session: Session, site: Site, reason: str, *, actor: str, now: datetime | None = None) -> int:
    """Switches the endpoint off; its pending deliveries stay in the log as `disabled`. Returns how many."""
    now = now or utcnow()
    site.webhook_disabled_at, site.webhook_disabled_reason = now, reason
    stopped = session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.site_id == site.id, WebhookDelivery.state == State.PENDING.value)
        .values(state=State.DISABLED.value, next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )
    count = int(getattr(stopped, "rowcount", 0) or 0)
    session.add(
        AuditEvent(
            actor=actor,
            event="site.webhook_disabled",
            site_id=site.id,
            data={"reason": reason, "deliveries_stopped": count},
        )
    )
    log.warning("webhook endpoint of site %d switched off (%s)", site.id, reason)
    return count


def enable(session: Session, site: Site, *, actor: str) -> bool:
    """Switches the endpoint on again (events from now on; those stopped stay in the log)."""
    if site.webhook_disabled_at is None:
        return False
    reason = site.webhook_disabled_reason
    site.webhook_disabled_at = site.webhook_disabled_reason = None
    site.webhook_failures = 0
    session.add(
        AuditEvent(
            actor=actor, event="site.webhook_enabled", site_id=site.id, data={"previous_reason": reason}
        )
    )
    return True


# -- the log and privacy ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoggedDelivery:
    delivery: WebhookDelivery
    attempts: list[WebhookAttempt]


def recent(session: Session, site_id: int, limit: int = LOG_SIZE) -> list[LoggedDelivery]:
    """The site's latest deliveries, newest first, each with its attempts (oldest first)."""
    deliveries = list(
        session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.site_id == site_id)
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
    )
    attempts: dict[int, list[WebhookAttempt]] = {d.id: [] for d in deliveries}
    if deliveries:
        for attempt in session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(list(attempts)))
            .order_by(WebhookAttempt.id)
        ):
            attempts[attempt.delivery_id].append(attempt)
    return [LoggedDelivery(d, attempts[d.id]) for d in deliveries]


def forget_comments(session: Session, comment_ids: Sequence[str]) -> int:
    """Deletes the deliveries (and their attempts) of comments being erased or anonymised: their bodies
    hold the comment's text and author. Returns how many."""
    if not comment_ids:
        return 0
    ids = list(session.scalars(select(WebhookDelivery.id).where(WebhookDelivery.comment_id.in_(comment_ids))))
    if not ids:
        return 0
    session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(ids)))
    session.execute(
        delete(WebhookDelivery)
        .where(WebhookDelivery.id.in_(ids))
        .execution_options(synchronize_session=False)
    )
    return len(ids)
