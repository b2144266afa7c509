"""Model-only scoring throughput: what the model costs with no API, queue or database around it.

`parallel_rate` loads a scorer once, forks N processes (as many as the load run has workers) and lets
each score its own slice of texts in batches; the rate is all comments over the wall time from the
common start to the last finish. Every text is scored once (no embedding cache, and no text twice, so
the encoder's in-memory memo of recent texts never helps), as in the load run, where every comment is
new. `single_latency` scores comments one at a time in one process.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from classifiers.corpora import load_corpora
from classifiers.encoder import E5Encoder, SentenceEncoder
from classifiers.model import load_model
from classifiers.registry import Registry
from classifiers.scoring import Scorer

ScoreFn = Callable[[Sequence[str]], Any]


def corpus_texts(seed: int = 14) -> list[str]:
    """Every distinct comment text of the training corpora, shuffled (real comments, mixed lengths)."""
    seen: dict[str, None] = {}
    for examples in load_corpora().values():
        for example in examples:
            text = example.text.strip()
            if 1 <= len(text) <= 10_000:
                seen.setdefault(text, None)
    texts = list(seen)
    random.Random(seed).shuffle(texts)
    return texts


def scorer_for(registry: Registry, version: str, profile: str) -> Scorer:
    """The scorer a worker runs, without an embedding cache (every text embedded, as for new comments)."""
    fast = Scorer.load(registry.path(version), profile="fast")
    if profile == "fast":
        return fast
    encoder = SentenceEncoder(None).load()
    return Scorer(
        *load_model(registry.path(version)),
        fast.catalogue,
        profile="full",
        encoder=encoder,
        refiner_encoder=E5Encoder(None),
    )


def _score_slice(score: ScoreFn, texts: Sequence[str], batch: int, start_at: float, out: Any) -> None:
    time.sleep(max(0.0, start_at - time.time()))
    for i in range(0, len(texts), batch):
        score(texts[i : i + batch])
    out.put(time.time())


def parallel_rate(score: ScoreFn, texts: Sequence[str], processes: int, batch: int) -> float:
    """Comments a second that `processes` forked processes score together, each its share once."""
    score(["Aufwärmen."])
    context = multiprocessing.get_context("fork")
    done: Any = context.Queue()
    share = len(texts) // processes
    start_at = time.time() + 0.5
    children = [
        context.Process(
            target=_score_slice, args=(score, texts[n * share : (n + 1) * share], batch, start_at, done)
        )
        for n in range(processes)
    ]
    for child in children:
        child.start()
    finished = [done.get() for _ in children]
    for child in children:
        child.join()
    return share * processes / (max(finished) - start_at)


def single_latency(score: ScoreFn, texts: Sequence[str]) -> list[float]:
    """Seconds per call, one comment per call."""
    out = []
    for text in texts:
        started = time.perf_counter()
        score([text])
        out.append(time.perf_counter() - started)
    return out


def cpu_count() -> int:
    return len(os.sched_getaffinity(0))
