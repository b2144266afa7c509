"""Finds comments left pending (Redis lost its data, a worker died mid-batch) and hands them back."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from moderation.domain.enums import Status
from moderation.domain.timestamps import utcnow
from moderation.store.queue import PendingQueue
from moderation.store.tables import Comment

log = logging.getLogger(__name__)

MAX_PER_PASS = 50_000


def reconcile(sessions: sessionmaker[Session], queue: PendingQueue, older_than_s: float) -> int:
    """Re-pushes comments pending for longer than `older_than_s` that are not already queued.

    Re-pushing an id that a worker is deciding right now is harmless: the decision is conditional on the
    comment still being pending, so it is made exactly once.
    """
    cutoff = utcnow() - timedelta(seconds=older_than_s)
    with sessions() as session:
        stale = list(
            session.scalars(
                select(Comment.id)
                .where(Comment.status == Status.PENDING.value, Comment.created_at <= cutoff)
                .order_by(Comment.created_at)
                .limit(MAX_PER_PASS)
            )
        )
    queued = queue.queued_ids()
    if not queued and queue.backlog():
        log.info("backlog too large to compare; skipping this reconcile pass")
        queue.repair()
        return 0
    missing = [comment_id for comment_id in stale if comment_id not in queued]
    queue.repair()
    if missing:
        log.warning("re-enqueuing %d comments left pending", len(missing))
        queue.push(missing)
    return len(missing)
