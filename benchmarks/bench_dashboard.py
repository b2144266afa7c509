"""Server time of dashboard pages with many stored comments (default 100,000), through the Flask app.

    .venv/bin/python benchmarks/bench_dashboard.py [--comments 100000] [--database-url URL] [--repeat 20]

Seeds a fresh database (SQLite file in a temporary directory unless --database-url names an empty one),
logs in, and prints median and 95th percentile server time per page as a Markdown table.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert

from moderation.config import Config
from moderation.domain.attributes import NAMES, ScoreSet
from moderation.domain.enums import Action, Role, Source
from moderation.domain.facts import CommentFacts
from moderation.domain.policy import DEFAULT_THRESHOLDS, Verdict
from moderation.domain.timestamps import utcnow
from moderation.store.accounts import create_site, create_user
from moderation.store.db import make_engine, make_session_factory, migrate, transaction
from moderation.store.decisions import ModelDecision, record_model_decisions
from moderation.store.tables import Comment, new_id
from moderation.web.app import create_app
from tests.browser.seed import TEXTS


def seed(sessions, count: int) -> None:  # type: ignore[no-untyped-def]
    """`count` decided comments, written through the service's decision writer (as the workers write)."""
    rng = random.Random(1)
    with transaction(sessions) as session:
        site_id = create_site(session, "bench").site.id
        create_user(session, "bench@example.org", "bench-password-1", Role.MODERATOR)
    now = utcnow()
    actions = {"held": Action.HOLD, "approved": Action.APPROVE, "rejected": Action.REJECT}
    for start in range(0, count, 5000):
        comments, decided = [], []
        for i in range(start, min(count, start + 5000)):
            text, _, _, base = TEXTS[i % len(TEXTS)]
            values = {a: min(0.99, max(0.0, base.get(a, 0.02) + rng.uniform(-0.15, 0.15))) for a in NAMES}
            risk = max(values.values())
            status = "approved" if risk < 0.5 else ("rejected" if risk > 0.93 else "held")
            created = now - timedelta(minutes=i)
            cid = new_id()
            comments.append(
                {
                    "id": cid,
                    "site_id": site_id,
                    "article_id": f"artikel-{i % 300}",
                    "author_id": f"leser-{i % 9000}",
                    "text": f"{text} (#{i})",
                    "status": "pending",
                    "created_at": created,
                    "decided_at": created,
                    "metadata": {},
                }
            )
            decided.append(
                ModelDecision(
                    comment_id=cid,
                    site_id=site_id,
                    verdict=Verdict(actions[status], Source.MODEL, ()),
                    facts=CommentFacts(text),
                    scores=ScoreSet.rounded(values),
                    lang="de",
                    thresholds=DEFAULT_THRESHOLDS,
                )
            )
        with transaction(sessions) as session:
            session.execute(insert(Comment), comments)
            record_model_decisions(session, decided, model_version="bench", now=now)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comments", type=int, default=100_000)
    parser.add_argument(
        "--database-url", default=None, help="an empty database; default: a fresh SQLite file"
    )
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    url = args.database_url or f"sqlite:///{home / 'bench.db'}"
    engine = make_engine(url)
    migrate(engine)
    sessions = make_session_factory(engine)
    started = time.perf_counter()
    seed(sessions, args.comments)
    print(
        f"seeded {args.comments} comments in {time.perf_counter() - started:.1f} s ({engine.dialect.name})\n"
    )
    from moderation.resources import Resources

    app = create_app(
        resources=Resources(
            Config(home=home, database_url=url, redis_url=None, secret_key="bench"), engine, sessions, None
        )
    )
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True))
    assert token is not None
    client.post(
        "/login",
        data={"email": "bench@example.org", "password": "bench-password-1", "csrf_token": token.group(1)},
    )
    first = client.get("/").get_data(as_text=True)
    cursor = re.search(r'href="\?([^"]+)" rel="next"', first)
    pages = {
        "held queue, risk order (`/`)": "/",
        "held queue, page 2 (keyset)": "/?" + (cursor.group(1).replace("&amp;", "&") if cursor else ""),
        "held queue, oldest first": "/?sort=oldest",
        "held queue, score band 0.6-0.7": "/?band_min=0.6&band_max=0.7",
        "held queue, article filter": "/?article=artikel-17",
        "all comments, full-text search": "/queue/all?q=Trollfabrik",
        "all comments, search, rare word": "/queue/all?q=%2312345%29",
        "live update poll": "/queue/updates?since=2020-01-01T00:00:00Z",
        "audit log": "/audit",
        "statistics": "/stats",
    }
    print("| page | median ms | p95 ms |")
    print("|---|---:|---:|")
    for name, path in pages.items():
        timings = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            response = client.get(path)
            timings.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, (path, response.status_code)
        timings.sort()
        p95 = timings[min(len(timings) - 1, int(len(timings) * 0.95))]
        print(f"| {name} | {statistics.median(timings):.0f} | {p95:.0f} |")


if __name__ == "__main__":
    main()
