"""The naive design, for comparison: one RQ job per comment, RQ's default forking `Worker`.

    .venv/bin/python benchmarks/naive.py   (environment as for `moderation worker`)

The process loads the active model once (the encoder too in the `full` profile), then runs RQ's
default `Worker` on the queue `naive`: it forks a work horse for every job, which inherits the loaded
model, makes one model call for its one comment and writes its decision in one transaction (the same
decision code as the product, `decide_batch`, with a single id). `benchmarks/run.py` starts it.
"""

from __future__ import annotations

import logging

from rq import Queue, Worker

from classifiers.scoring import Scorer
from moderation.config import Config
from moderation.store.queue import PendingQueue
from workers import runtime
from workers.pipeline import decide_batch

QUEUE = "naive"
JOB = "naive.decide_one"


SCORER: Scorer | None = None  # loaded by `main` before the worker forks


def decide_one(comment_id: str) -> int:
    """One comment: one model call, one transaction; announced like the product's decisions. The
    model is the one loaded before the fork, used as it is (no check for a newer version)."""
    context = runtime.current()
    events = decide_batch(context.resources.sessions, SCORER, [comment_id], context.redis)
    PendingQueue(context.redis).announce_decided([event.comment_id for event in events])
    return len(events)


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    import naive  # the module RQ finds `naive.decide_one` in (not this __main__), imported before the fork

    context = runtime.build_context(Config.from_env())
    runtime.install(context)
    scorer = context.scorer()
    if scorer is not None and scorer.encoder is not None:
        scorer.encoder.load()  # the encoder's weights too, before any fork (its cache stays closed)
    naive.SCORER = scorer
    # Connections are not shared across fork: each work horse opens its own, as a naive job would.
    context.resources.engine.dispose()
    print("naive worker ready", flush=True)
    Worker([Queue(QUEUE, connection=context.redis)], connection=context.redis).work(logging_level="WARNING")


if __name__ == "__main__":
    main()
