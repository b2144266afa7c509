"""Importing a site's archive of moderator decisions: `moderation labels import` on N lines, timed.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_labels.py --lines 100000 [--database-url URL]

Runs the real command in a subprocess (the product's code path, progress bar and all) against a fresh
SQLite file or an empty PostgreSQL schema, prints the wall time, and checks the row count.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from moderation.store.accounts import create_site
from moderation.store.db import make_engine, make_session_factory, migrate, transaction
from moderation.store.tables import SiteLabel

WORDS = (
    "Kasachstan", "Russland", "Pipeline", "Steppe", "Wahlen", "Sanktionen", "Artikel", "Autor",
    "Redaktion", "Meinung", "Analyse", "danke", "gut", "schlecht", "warum", "nicht", "immer", "wieder",
    "eigentlich", "wirklich", "Idiot", "Quatsch", "Regierung", "Zukunft",
)  # fmt: skip


def archive(path: Path, lines: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        for i in range(lines):
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 60)))
            action = "reject" if rng.random() < 0.2 else "approve"
            out.write(json.dumps({"text": text, "action": action, "external_id": f"c{i}"}) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument(
        "--database-url", default=None, help="an empty database; default: a fresh SQLite file"
    )
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-labels-"))
    url = args.database_url or f"sqlite:///{home / 'bench.db'}"
    engine = make_engine(url)
    migrate(engine)
    sessions = make_session_factory(engine)
    with transaction(sessions) as session:
        create_site(session, "archiv")
    source = home / "archive.jsonl"
    archive(source, args.lines)
    env = {**os.environ, "MODERATION_HOME": str(home), "DATABASE_URL": url, "SECRET_KEY": "bench"}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "moderation", "labels", "import", str(source), "--site", "archiv"],
        env=env,
        check=True,
    )
    seconds = time.perf_counter() - started
    with sessions() as session:
        stored = session.scalar(select(func.count()).select_from(SiteLabel))
    assert stored == args.lines, (stored, args.lines)
    kind = "postgresql" if url.startswith("postgresql") else "sqlite"
    size = source.stat().st_size / 1e6
    rate = args.lines / seconds
    print(f"| {args.lines:,} lines ({size:.1f} MB JSONL), {kind} | {seconds:.1f} s | {rate:,.0f} lines/s |")


if __name__ == "__main__":
    main()
