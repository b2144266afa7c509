"""RQ job entry points. Jobs take ids (or nothing), never objects."""

from __future__ import annotations

import logging

from moderation.store.queue import PendingQueue
from workers import runtime
from workers.pipeline import decide_batch
from workers.reconcile import reconcile

log = logging.getLogger(__name__)


def drain() -> int:
    """Decides pending comments batch by batch until the list is empty; returns how many it decided."""
    context = runtime.current()
    queue = PendingQueue(context.redis)
    queue.drain_started()
    total = 0
    while ids := queue.pop(context.config.batch_size):
        events = decide_batch(context.resources.sessions, context.scorer(), ids, context.redis)
        queue.announce_decided([event.comment_id for event in events])
        total += len(events)
    log.info("drain decided %d comments", total)
    return total


def reconcile_pending() -> int:
    context = runtime.current()
    return reconcile(
        context.resources.sessions, PendingQueue(context.redis), context.config.reconcile_after_s
    )
