"""`moderation worker --processes N`: N workers forked from one process that loaded the model first.

The forked workers share the loaded model's pages (copy-on-write) instead of each reading its own copy:
the model's arrays and the sentence encoder's weights are in memory once per host, not once per worker.
(The e5 refiner's weights are a memory-mapped file, loaded by each worker on its first uncertain comment:
the page cache holds them once per host, and no OpenMP pool crosses a fork.) `gc.freeze()` before the
fork keeps the collector from touching (and so copying) the parent's objects.

The parent only supervises: it starts a worker again when one dies (with the same model pages), and
passes SIGTERM and SIGINT on to the workers, which finish their batch and stop. Each worker dies with
the parent. A newly promoted model is taken up by each worker at once (as single workers do); the parent
loads it too and replaces the workers one by one with new forks, so the new model is shared again.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import time
from dataclasses import dataclass
from types import FrameType

from moderation.config import Config
from workers import runtime
from workers.lifeline import die_with_parent, watch_parent
from workers.worker import first_scorer, run_worker

log = logging.getLogger(__name__)

RESTART_DELAY_S = 1.0
# How often the parent looks at the active model version, and how often it looks for exited workers.
MODEL_CHECK_S = 5.0
WAIT_S = 0.2


def preload(config: Config) -> runtime.WorkerContext:
    """The context every worker of the pool starts from: the active model loaded (the encoder's weights
    too), and no open connection that a fork would share."""
    context = runtime.build_context(config)
    scorer = first_scorer(context)
    _load_encoder(context)
    _close_connections(context)
    log.info("pool loaded model %s once for its workers", scorer.version if scorer else "none")
    return context


def _load_encoder(context: runtime.WorkerContext) -> None:
    scorer = context.scorer()
    if scorer is not None and scorer.encoder is not None:
        scorer.encoder.load()


def _close_connections(context: runtime.WorkerContext) -> None:
    """Database and Redis connections are each worker's own: none may cross the fork."""
    context.resources.engine.dispose()
    context.redis.connection_pool.disconnect()


def _start(config: Config, context: runtime.WorkerContext, reconcile_every_s: float) -> int:
    _close_connections(context)
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


@dataclass
class Member:
    number: int
    model: str | None  # the version loaded when it was forked


def run_pool(config: Config, processes: int, *, reconcile_every_s: float = 15.0) -> None:
    """Loads the model, forks `processes` workers and keeps that many running until stopped.

    When a new model version becomes active, the workers load it themselves at once (as single workers
    do), so no comment waits; the parent then loads it too and replaces its workers one at a time (each
    finishes its batch first) by new forks that share the new model's pages again."""
    if os.environ.get("MODERATION_SUPERVISED"):
        watch_parent()
    runtime.lower_priority(config.worker_nice)
    context = preload(config)
    gc.freeze()
    model = context.loaded_version()
    stopping = False

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(members):
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                continue

    members: dict[int, Member] = {}
    retiring: int | None = None
    checked = time.monotonic()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    for number in range(processes):
        members[_start(config, context, reconcile_every_s)] = Member(number, model)
    while members:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        if pid and pid in members:
            member = members.pop(pid)
            if stopping:
                continue
            if pid == retiring:
                retiring = None
                log.info("pool worker %d stopped for model %s; starting its replacement", pid, model)
            else:
                log.error("pool worker %d exited (status %d); starting another", pid, status)
                time.sleep(RESTART_DELAY_S)
            members[_start(config, context, reconcile_every_s)] = Member(member.number, model)
            continue
        if pid:
            continue  # a process that was not one of the workers (none are expected)
        if not stopping and time.monotonic() - checked >= MODEL_CHECK_S:
            checked = time.monotonic()
            model = _follow_active_model(context, model)
        if not stopping and retiring is None:
            retiring = _retire_one(members, model)
        time.sleep(WAIT_S)
    log.info("worker pool stopped")


def _follow_active_model(context: runtime.WorkerContext, model: str | None) -> str | None:
    """Loads the active model version in the parent when it changed; returns the version now loaded."""
    try:
        context.scorer()
        _load_encoder(context)
    except Exception:
        log.exception("pool could not check or load the active model; keeping %s", model)
        return model
    finally:
        _close_connections(context)
    loaded = context.loaded_version()
    if loaded != model:
        # The previous model's objects are freed (those in reference cycles too) before the new ones are
        # frozen for the forks to come.
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        log.info("pool loaded model %s; replacing its workers one at a time", loaded)
    return loaded


def _retire_one(members: dict[int, Member], model: str | None) -> int | None:
    """Asks one worker forked with an older model to stop after its batch; returns its pid."""
    for pid, member in members.items():
        if member.model != model:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            return pid
    return None
