"""The worker process: loads the model once, then runs RQ jobs until stopped."""

from __future__ import annotations

import logging
import threading

from rq import Queue, SimpleWorker

from moderation.config import Config
from moderation.store.queue import QUEUE_NAME, PendingQueue
from workers import runtime
from workers.jobs import TRAINING_QUEUE, schedule_retrain_check
from workers.reconcile import reconcile

log = logging.getLogger(__name__)

RECONCILE_LOCK_KEY = "moderation:reconcile-lock"


def reconcile_loop(context: runtime.WorkerContext, every_s: float, stop: threading.Event) -> None:
    """Runs a reconcile pass every `every_s` seconds; a Redis lock lets one worker of many do it."""
    while not stop.wait(every_s):
        try:
            if context.redis.set(RECONCILE_LOCK_KEY, "1", nx=True, ex=max(1, int(every_s) - 1)):
                reconcile(
                    context.resources.sessions, PendingQueue(context.redis), context.config.reconcile_after_s
                )
        except Exception:
            log.exception("reconcile pass failed; will retry")


def run_worker(config: Config, *, burst: bool = False, reconcile_every_s: float = 15.0) -> None:
    context = runtime.build_context(config)
    runtime.install(context)
    scorer = context.scorer()
    log.info("worker ready with model %s", scorer.version if scorer else "none")
    stop = threading.Event()
    if reconcile_every_s > 0 and not burst:
        threading.Thread(target=reconcile_loop, args=(context, reconcile_every_s, stop), daemon=True).start()
    if not burst:
        schedule_retrain_check(context.redis)
    # SimpleWorker runs jobs in this process, so the model loaded above serves every job. Comments come
    # first; retraining waits for a worker with no comments to decide. RQ's own scheduler (one worker at
    # a time holds its lock) moves the hourly retrain check onto the queue when it is due.
    queues = [Queue(QUEUE_NAME, connection=context.redis), Queue(TRAINING_QUEUE, connection=context.redis)]
    worker = SimpleWorker(queues, connection=context.redis)
    try:
        worker.work(burst=burst, logging_level="INFO", with_scheduler=not burst)
    finally:
        stop.set()
