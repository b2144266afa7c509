"""The retention job: every hour, each site with `retention_days` loses the personal data of its comments
older than that (`moderation.store.privacy.run_retention`). RQ's scheduler, which the workers run, puts
the job on the queue when it is due; the job schedules its next run, and every worker start makes sure
one is scheduled (after Redis lost its data too)."""

from __future__ import annotations

import logging
from datetime import timedelta

import redis
from rq import Queue

from moderation.store import privacy
from workers import runtime

log = logging.getLogger(__name__)

QUEUE = "moderation-training"  # `workers.jobs.TRAINING_QUEUE`: background work after the comments
RETENTION_JOB = "workers.retention.apply_retention"
RETENTION_EVERY = timedelta(hours=1)
RETENTION_SCHEDULED_KEY = "moderation:retention-scheduled"
RETENTION_TIMEOUT_S = 3600


def apply_retention() -> list[str]:
    """One retention pass over every site that has a retention period, then schedules the next."""
    context = runtime.current()
    resources = context.resources
    try:
        runs = privacy.run_retention(
            resources.sessions,
            privacy.Caches(resources.redis, resources.config.embeddings_dir),
            actor="retention",
        )
        return [run.line() for run in runs]
    finally:
        schedule_retention(context.redis)


def schedule_retention(connection: redis.Redis, delay: timedelta = RETENTION_EVERY) -> bool:
    """Makes sure one retention pass is scheduled; returns whether this call scheduled it. The marker
    expires a second before the pass is due, so the pass can schedule its successor."""
    ttl = max(1, int(delay.total_seconds()) - 1)
    if not connection.set(RETENTION_SCHEDULED_KEY, "1", nx=True, ex=ttl):
        return False
    Queue(QUEUE, connection=connection).enqueue_in(
        delay, RETENTION_JOB, job_timeout=RETENTION_TIMEOUT_S, result_ttl=86400, failure_ttl=86400
    )
    return True
