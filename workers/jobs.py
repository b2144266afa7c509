"""RQ job entry points. Jobs take ids (or nothing), never objects."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import redis
from rq import Queue

from moderation.store.queue import PendingQueue
from workers import runtime
from workers.pipeline import decide_batch
from workers.reconcile import reconcile

log = logging.getLogger(__name__)

TRAINING_QUEUE = "moderation-training"
RETRAIN_JOB = "workers.jobs.retrain_due"
RETRAIN_CHECK_EVERY = timedelta(hours=1)
RETRAIN_SCHEDULED_KEY = "moderation:retrain-check-scheduled"
RETRAIN_TIMEOUT_S = 3600
DRAIN_LINGER_S = 0.2
DRAIN_LINGER_FOR_S = 30.0
# A batch is sized to take about this long at the rate the last one was decided: the `full` profile's
# encoders cost tens of milliseconds a comment, and a batch of a thousand would keep one worker busy for
# half a minute while the others ran out of work (and its comments waited that long for their answer).
BATCH_TARGET_S = 2.0
MIN_BATCH = 16
# The last batch's seconds per comment in this worker process, so a new drain starts at the right size.
_last_rate: list[float] = []


def batch_size_for(backlog: int, base: int, seconds_per_comment: float | None = None) -> int:
    """How many ids the next batch takes. A short queue gives small batches anyway (a pop takes what is
    there: a lone comment is decided at once, for latency); under a backlog of several batches a drain
    takes up to four times `base` at once, so fewer model calls and transactions serve the same comments;
    and never more than it decides in about BATCH_TARGET_S at `seconds_per_comment` (the last batch's)."""
    size = base if backlog <= 2 * base else min(4 * base, backlog // 2)
    if seconds_per_comment and seconds_per_comment > 0:
        size = min(size, max(MIN_BATCH, int(BATCH_TARGET_S / seconds_per_comment)))
    return size


def _remembered_rate() -> float | None:
    return _last_rate[-1] if _last_rate else None


def drain() -> int:
    """Decides pending comments batch by batch until the list is empty; returns how many it decided."""
    context = runtime.current()
    queue = PendingQueue(context.redis)
    queue.drain_started()
    total = 0
    size = batch_size_for(0, context.config.batch_size, _remembered_rate())
    started = time.monotonic()
    # A drain that found the list empty waits a moment for the next comment before it ends: under a
    # steady trickle one job decides comment after comment as they come, instead of one RQ job each.
    # It does not linger past DRAIN_LINGER_FOR_S, so other queues get their turn and no job nears its
    # timeout.
    while ids := queue.pop(size, DRAIN_LINGER_S if time.monotonic() - started < DRAIN_LINGER_FOR_S else 0):
        active, shadows = context.site_models()
        batch_started = time.monotonic()
        events = decide_batch(
            context.resources.sessions, context.scorer(), ids, context.redis, active, shadows
        )
        seconds_per_comment = (time.monotonic() - batch_started) / len(ids)
        if len(ids) >= MIN_BATCH:
            # A batch of a few comments is mostly its transaction and model-call overhead: its rate
            # per comment would shrink the next drain's first batch for nothing.
            _last_rate[:] = [seconds_per_comment]
        queue.announce_decided([event.comment_id for event in events])
        total += len(events)
        backlog = queue.backlog()
        if context.stop_requested():
            # Under a steady stream the list never runs empty: a worker asked to stop (a shutdown, or
            # its pool replacing it after a model switch) ends here and leaves the rest to the others.
            if backlog:
                queue.ensure_drain()
            log.info("drain decided %d comments; stopping, %d left for other workers", total, backlog)
            return total
        size = batch_size_for(backlog, context.config.batch_size, _remembered_rate())
    log.info("drain decided %d comments", total)
    return total


def reconcile_pending() -> int:
    context = runtime.current()
    return reconcile(
        context.resources.sessions, PendingQueue(context.redis), context.config.reconcile_after_s
    )


def retrain_due() -> list[str]:
    """Retrains every site that is due (`workers.retrain.due_sites`), then schedules the next check."""
    from workers.retrain import due_sites, retrain_site

    context = runtime.current()
    done = []
    try:
        scorer = context.scorer()
        for name in due_sites(context.resources):
            try:
                result = retrain_site(context.resources, name, actor="scheduler", scorer=scorer)
                done.append(f"{name}: {result.line()}")
            except Exception:
                log.exception("retraining the site model of %s failed", name)
    finally:
        schedule_retrain_check(context.redis)
    return done


def schedule_retrain_check(connection: redis.Redis, delay: timedelta = RETRAIN_CHECK_EVERY) -> bool:
    """Makes sure one retrain check is scheduled (RQ's scheduler, run by the workers); returns whether
    this call scheduled it."""
    queue = Queue(TRAINING_QUEUE, connection=connection)
    if not connection.set(RETRAIN_SCHEDULED_KEY, "1", nx=True, ex=int(delay.total_seconds()) - 1):
        return False
    queue.enqueue_in(delay, RETRAIN_JOB, job_timeout=RETRAIN_TIMEOUT_S, result_ttl=86400, failure_ttl=86400)
    return True
