"""The worker process: loads the model once, then runs RQ jobs until stopped.

It survives Redis going away: RQ's own loop and ours reconnect with backoff, and when Redis comes back
(or comes back empty, after a restart that lost its data) the comments still pending in the database
are handed back to the queue at once, so nothing accepted meanwhile waits for the periodic reconciler.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time

import redis
from rq import Queue, SimpleWorker
from sqlalchemy.exc import SQLAlchemyError

from classifiers.scoring import Scorer
from moderation.config import Config
from moderation.store import webhooks
from moderation.store.queue import QUEUE_NAME, PendingQueue
from workers import runtime
from workers import webhooks as webhook_deliveries
from workers.jobs import TRAINING_QUEUE, schedule_retrain_check
from workers.lifeline import children_die_with_me, watch_parent
from workers.reconcile import reconcile
from workers.retention import schedule_retention

log = logging.getLogger(__name__)

RECONCILE_LOCK_KEY = "moderation:reconcile-lock"
REDIS_CHECK_EVERY_S = 1.0
RECONNECT_BASE_S = 0.5
RECONNECT_CAP_S = 2.0


class RedisWatch:
    """Tells, at each check, whether Redis is reachable and whether it came back since the last check:
    after being unreachable, or as a new server (its `run_id` changed: a restart, data likely gone)."""

    def __init__(self, connection: redis.Redis) -> None:
        self.connection = connection
        self.run_id: str | None = None
        self.reachable = True

    def check(self) -> tuple[bool, bool]:
        """(reachable, came back)."""
        try:
            run_id = str(self.connection.info("server").get("run_id"))
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            if self.reachable:
                log.warning("Redis is unreachable; pending comments are re-queued once it is back")
            self.reachable = False
            return False, False
        came_back = not self.reachable or (self.run_id is not None and run_id != self.run_id)
        if came_back:
            log.info("Redis is back%s", " (a new server)" if run_id != self.run_id else "")
        self.run_id, self.reachable = run_id, True
        return True, came_back


def reconcile_loop(
    context: runtime.WorkerContext,
    every_s: float,
    stop: threading.Event,
    check_every_s: float = REDIS_CHECK_EVERY_S,
) -> None:
    """Runs a reconcile pass every `every_s` seconds (a Redis lock lets one worker of many do it), and
    one at once, for every comment still pending whatever its age, when Redis comes back."""
    watch = RedisWatch(context.redis)
    last_pass = time.monotonic()
    while not stop.wait(check_every_s):
        reachable, came_back = watch.check()
        if not reachable:
            continue
        due = time.monotonic() - last_pass >= every_s
        if not (came_back or due):
            continue
        last_pass = time.monotonic()
        try:
            # One worker of many does each pass; the pass after a comeback has its own lock, so a
            # periodic pass just before the outage does not hold it back.
            lock = RECONCILE_LOCK_KEY + (":comeback" if came_back else "")
            if not context.redis.set(lock, "1", nx=True, ex=5 if came_back else max(1, int(every_s) - 1)):
                continue
            queue = PendingQueue(context.redis)
            if came_back:
                count = reconcile(context.resources.sessions, queue, older_than_s=0)
                log.info("re-queued %d comments still pending after Redis came back", count)
                schedule_retrain_check(context.redis)
                schedule_retention(context.redis)
            else:
                reconcile(context.resources.sessions, queue, context.config.reconcile_after_s)
            webhook_deliveries.sweep(context.resources, context.redis)
        except Exception:
            log.exception("reconcile pass failed; will retry")
            if came_back:
                watch.reachable = False  # try the full pass again at the next check


def wait_for_redis(connection: redis.Redis, stop: threading.Event) -> None:
    """Pings with exponential backoff until Redis answers (or `stop` is set)."""
    delay = RECONNECT_BASE_S
    while not stop.is_set():
        try:
            connection.ping()
            return
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            log.error("Redis unreachable (%s); retrying in %.1f s", exc, delay)
            stop.wait(delay)
            delay = min(RECONNECT_CAP_S, delay * 2)


def first_scorer(context: runtime.WorkerContext) -> Scorer | None:
    """The active model, read once the database answers: a worker started while the database is down
    waits for it (with backoff) instead of exiting."""
    delay = RECONNECT_BASE_S
    while True:
        try:
            return context.scorer()
        except SQLAlchemyError as exc:
            log.error("database unavailable (%s); retrying in %.1f s", type(exc).__name__, delay)
            time.sleep(delay)
            delay = min(RECONNECT_CAP_S, delay * 2)


def run_worker(
    config: Config,
    *,
    burst: bool = False,
    reconcile_every_s: float = 15.0,
    context: runtime.WorkerContext | None = None,
) -> None:
    """Runs RQ jobs until stopped; `context` is one a worker pool loaded before it forked this process
    (`workers.pool`), else this process builds its own."""
    children_die_with_me()  # RQ's scheduler process stops with this worker, even a SIGKILLed one
    runtime.lower_priority(config.worker_nice)
    if os.environ.get("MODERATION_SUPERVISED"):
        watch_parent()
    context = context or runtime.build_context(config)
    runtime.install(context)
    scorer = first_scorer(context)
    log.info("worker ready with model %s", scorer.version if scorer else "none")
    stop = threading.Event()
    if reconcile_every_s > 0 and not burst:
        threading.Thread(
            target=reconcile_loop, args=(context, reconcile_every_s, stop), daemon=True, name="reconcile"
        ).start()
    # SimpleWorker runs jobs in this process, so the model loaded above serves every job. Comments come
    # first, then webhook deliveries; retraining waits for a worker with no comments to decide. RQ's own
    # scheduler (one worker at a time holds its lock) moves the hourly retrain check and webhook retries
    # onto the queues when they are due.
    queues = [Queue(name, connection=context.redis) for name in (QUEUE_NAME, webhooks.QUEUE, TRAINING_QUEUE)]
    worker: SimpleWorker | None = None
    try:
        while True:
            try:
                if not burst:
                    schedule_retrain_check(context.redis)
                schedule_retention(context.redis)
                worker = SimpleWorker(queues, connection=context.redis)
                context.rq_worker = worker
                # RQ retries a lost Redis with backoff up to a minute; a shorter cap resumes sooner.
                worker.max_connection_wait_time = RECONNECT_CAP_S
                worker.work(burst=burst, logging_level="INFO", with_scheduler=not burst)
                return
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                if burst:
                    raise
                if worker is not None and getattr(worker, "_stop_requested", False):
                    log.info("stop requested and Redis unreachable (%s); stopping", exc)
                    return
                log.error("lost Redis (%s); reconnecting", exc)
            # No job runs now: a stop signal may end the process right away.
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            wait_for_redis(context.redis, stop)
    finally:
        stop.set()
