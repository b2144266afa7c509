"""End-to-end throughput of the comment path: API accepts, a real RQ worker decides.

    .venv/bin/python benchmarks/bench_pipeline.py [--comments 5000] [--database-url URL] [--models DIR]

Runs in one process against a real Redis (database 14 by default, flushed) and a SQLite file (or the
given database URL), with the newest model in DIR (default ./var/models; `make run` trains one there).
Prints how fast the API stores comments (batch endpoint and single posts) and how fast one worker
decides them.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

import redis
from rq import Queue, SimpleWorker

from classifiers.registry import Registry
from moderation.config import Config
from moderation.resources import Resources
from moderation.store.accounts import create_site
from moderation.store.db import make_engine, make_session_factory, migrate, transaction
from moderation.store.model_versions import register_and_activate
from moderation.store.queue import QUEUE_NAME
from moderation.web.app import create_app
from workers import runtime

TEXTS = [
    "Ich finde die Analyse zu Kasachstan sehr aufschlussreich.",
    "Du bist ein dummer Vollidiot, geh zurück in deine Höhle.",
    "Die NATO hat Russland eingekreist, Kasachstan ist doch gar kein echter Staat.",
    "Tokajew hat Rückgrat gezeigt, das verdient Respekt.",
    "Wer glaubt eigentlich noch den Staatsmedien? Alles gelogen!!!",
    "Uralsk liegt nur 70 km von der Grenze entfernt, das sollte man nicht vergessen.",
    "Verdiene 5000 Euro pro Woche von zu Hause, klick hier: www.reich-schnell.biz",
    "Die Behauptung, Kasachstan sei kein echter Staat, ist Kreml-Propaganda.",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--comments", type=int, default=5000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--models", type=Path, default=Path("var/models"))
    parser.add_argument("--copies", action="store_true", help="Post near-copies of eight texts only.")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="bench-"))
    url = args.database_url or f"sqlite:///{home / 'bench.db'}"
    engine = make_engine(url)
    migrate(engine)
    sessions = make_session_factory(engine)
    connection = redis.Redis.from_url(args.redis_url)
    connection.flushdb()
    config = Config(
        home=home, database_url=url, redis_url=args.redis_url, secret_key="bench", rate_limit_per_minute=0
    )
    registry = Registry(args.models)
    version = registry.latest()
    if version is None:
        raise SystemExit(f"no model in {args.models}; run `make run` or `moderation train` first")
    register_and_activate(sessions, registry, version, actor="bench")
    with transaction(sessions) as session:
        key = create_site(session, "bench").secret_key
    client = create_app(resources=Resources(config, engine, sessions, connection)).test_client()
    headers = {"Authorization": f"Bearer {key}"}
    rng = random.Random(7)

    words = " ".join(TEXTS).split()

    def item(i: int) -> dict[str, object]:
        # --copies: every comment nearly repeats one of eight texts (a coordinated-posting flood, the
        # worst case for the near-duplicate index); otherwise texts are mixed from the same words.
        if args.copies:
            text = f"{rng.choice(TEXTS)} ({i})"
        else:
            text = " ".join(rng.choice(words) for _ in range(rng.randint(6, 30)))
        return {"text": text, "article_id": "kasachstan-russland", "author": {"id": f"reader-{i % 500}"}}

    singles = min(500, args.comments)
    latencies = []
    for i in range(singles):
        start = time.perf_counter()
        response = client.post("/api/v1/comments", json=item(i), headers=headers)
        latencies.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 202
    start = time.perf_counter()
    for offset in range(singles, args.comments, 1000):
        batch = [item(i) for i in range(offset, min(offset + 1000, args.comments))]
        assert (
            client.post("/api/v1/comments:batch", json={"comments": batch}, headers=headers).status_code
            == 202
        )
    batch_s = time.perf_counter() - start
    batched = args.comments - singles

    context = runtime.WorkerContext(config, sessions, connection, registry)
    runtime.install(context)
    context.scorer()
    start = time.perf_counter()
    SimpleWorker([Queue(QUEUE_NAME, connection=connection)], connection=connection).work(burst=True)
    work_s = time.perf_counter() - start
    connection.flushdb()

    kind = "near-copies of 8 texts" if args.copies else "distinct texts"
    print(f"model {version}, database {engine.dialect.name}, {args.comments} comments ({kind})")
    print("| stage | figure |")
    print("|---|---|")
    print(
        f"| POST /api/v1/comments, one at a time | p50 {statistics.median(latencies):.1f} ms, "
        f"p95 {statistics.quantiles(latencies, n=20)[18]:.1f} ms |"
    )
    if batched:
        print(f"| POST /api/v1/comments:batch (1000 per request) | {batched / batch_s:,.0f} comments/s |")
    print(f"| one worker: score + decide + write | {args.comments / work_s:,.0f} comments/s |")


if __name__ == "__main__":
    main()
