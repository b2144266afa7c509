"""`moderation worker --processes N`: N workers forked from one process that loaded the model first.

The forked workers share the loaded model's pages (copy-on-write) instead of each reading its own copy:
the model's arrays and the sentence encoder's weights are in memory once per host, not once per worker.
`gc.freeze()` before the fork keeps the collector from touching (and so copying) the parent's objects.

The parent only supervises: it starts a worker again when one dies (with the same model pages; the
workers notice a new active model version themselves, as single workers do), and passes SIGTERM and
SIGINT on to the workers, which finish their batch and stop. Each worker dies with the parent.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import time
from types import FrameType

from moderation.config import Config
from workers import runtime
from workers.lifeline import die_with_parent, watch_parent
from workers.worker import first_scorer, run_worker

log = logging.getLogger(__name__)

RESTART_DELAY_S = 1.0


def preload(config: Config) -> runtime.WorkerContext:
    """The context every worker of the pool starts from: the active model loaded (the encoder's weights
    too), and no open connection that a fork would share."""
    context = runtime.build_context(config)
    scorer = first_scorer(context)
    if scorer is not None and scorer.encoder is not None:
        scorer.encoder.load()
    # Database and Redis connections are each worker's own: none may cross the fork.
    context.resources.engine.dispose()
    context.redis.connection_pool.disconnect()
    log.info("pool loaded model %s once for its workers", scorer.version if scorer else "none")
    return context


def _start(config: Config, context: runtime.WorkerContext, reconcile_every_s: float) -> int:
    lifeline = die_with_parent()  # made here: it names this process as the parent to outlive
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        lifeline()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        runtime.install(context)
        run_worker(config, reconcile_every_s=reconcile_every_s, context=context)
        code = 0
    except BaseException:
        log.exception("pool worker %d failed", os.getpid())
    finally:
        os._exit(code)


def run_pool(config: Config, processes: int, *, reconcile_every_s: float = 15.0) -> None:
    """Loads the model, forks `processes` workers and keeps that many running until stopped."""
    if os.environ.get("MODERATION_SUPERVISED"):
        watch_parent()
    context = preload(config)
    gc.freeze()
    stopping = False

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(workers):
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                continue

    workers: dict[int, int] = {}
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    for number in range(processes):
        workers[_start(config, context, reconcile_every_s)] = number
    while workers:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        if pid not in workers:
            continue
        number = workers.pop(pid)
        if stopping:
            continue
        log.error("pool worker %d exited (status %d); starting another", pid, status)
        time.sleep(RESTART_DELAY_S)
        workers[_start(config, context, reconcile_every_s)] = number
    log.info("worker pool stopped")
