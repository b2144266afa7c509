"""The real stack for the load benchmark, on loopback ports of its own.

A Redis (`redis-server`, no persistence) and, for PostgreSQL runs, a throwaway PostgreSQL (the chaos
test's `Postgres`: initdb into a temporary directory); SQLite runs use a file under the stack's
`MODERATION_HOME`. The schema, the site with every limit lifted in its own settings and the active model
are set up with the store functions behind `moderation migrate`, `sites create`, `sites limits` and
`models promote`; then the product runs as in production: `moderation serve` (gunicorn) and
`moderation worker`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from chaos import Postgres, RedisServer, free_port, ready

from classifiers.registry import Registry
from moderation.domain.limits import SiteLimits
from moderation.store.accounts import create_site
from moderation.store.db import make_engine, make_session_factory, migrate, transaction
from moderation.store.model_versions import register_and_activate
from moderation.store.site_limits import save_limits
from workers.lifeline import die_with_parent

ROOT = Path(__file__).resolve().parents[1]
SITE = "bench"
# Every budget and `?wait` cap of the site lifted (0: no limit) in the site's own settings, as
# `moderation sites limits bench --site-per-minute 0 ...` or its settings page store them.
LIFTED = dict.fromkeys(
    (
        "site_per_minute",
        "browser_per_minute",
        "author_per_minute",
        "address_per_minute",
        "wait_concurrent",
        "wait_concurrent_per_site",
    ),
    0,
)


@dataclass
class StackOptions:
    database: str  # "sqlite" or "postgresql"
    profile: str  # MODERATION_SCORING: "full" or "fast"
    models: Path  # a model registry (its newest version is promoted)
    version: str
    workers: int = 2
    api_processes: int = 2
    api_threads: int = 8
    pool: bool = True  # one `moderation worker --processes N` (model loaded before the fork), else N
    extra_env: dict[str, str] = field(default_factory=dict)


class SharedPostgres:
    """One PostgreSQL server for the whole benchmark; each stack gets a fresh database on it."""

    def __init__(self, base: Path) -> None:
        self.server = Postgres(base, free_port())
        self.server.start()
        self.count = 0

    def new_database(self) -> str:
        self.count += 1
        name = f"bench{self.count}"
        with psycopg.connect(
            f"host=127.0.0.1 port={self.server.port} user=postgres dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.server.port}/{name}"

    def stop(self) -> None:
        self.server.stop()


class Stack:
    """One running stack: Redis, the database, the API and the workers."""

    def __init__(self, options: StackOptions, postgres: SharedPostgres | None) -> None:
        self.options = options
        self.base = Path(tempfile.mkdtemp(prefix="moderation-bench-"))
        self.home = self.base / "home"
        self.home.mkdir()
        # A registry of the stack's own that links each version of `options.models`, so a model switch
        # (`switch_model`) can add a version without writing into the registry the run was given.
        (self.home / "models").mkdir()
        for version in Registry(options.models).versions():
            (self.home / "models" / version).symlink_to((options.models / version).resolve())
        self.redis = RedisServer(self.base, free_port())
        self.port = free_port()
        if options.database == "postgresql":
            assert postgres is not None
            self.database_url = postgres.new_database()
        else:
            self.database_url = f"sqlite:///{self.home / 'moderation.db'}"
        self.env = dict(os.environ)
        self.env.update(
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis.url,
            MODERATION_HOME=str(self.home),
            # Every comment of the run is new to the encoder: an empty embedding cache of its own.
            MODERATION_EMBEDDINGS=str(self.base / "embeddings"),
            MODERATION_PORT=str(self.port),
            MODERATION_SCORING=options.profile,
            SECRET_KEY="bench-secret-key",
            OMP_NUM_THREADS="1",
            **options.extra_env,
        )
        self.api: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self.key = ""

    def start(self) -> None:
        self.redis.start()
        # The decision observer (`load.DecisionClock`) listens for the workers' announcements.
        self.redis_client().config_set("notify-keyspace-events", "Kl")
        self.key = self.prepare()
        self.api = self._spawn(
            "api",
            "serve",
            "--port",
            str(self.port),
            "--workers",
            str(self.options.api_processes),
            "--threads",
            str(self.options.api_threads),
        )
        if self.options.pool:
            self.workers.append(self._spawn("worker-1", "worker", "--processes", str(self.options.workers)))
        else:
            for number in range(self.options.workers):
                self.workers.append(self._spawn(f"worker-{number + 1}", "worker"))
        deadline = time.monotonic() + 300
        while not self._ready():
            self._check_alive(deadline)
        while self.ready_workers() < self.options.workers:
            self._check_alive(deadline)

    def ready_workers(self) -> int:
        return sum(self.log(f"worker-{n + 1}").count("worker ready") for n in range(len(self.workers)))

    def prepare(self) -> str:
        """What `moderation migrate`, `sites create`, `sites limits` and `models promote` do, in this
        process (each command would start a Python of its own): the same store functions. Returns the
        site's secret key."""
        engine = make_engine(self.database_url)
        try:
            migrate(engine)
            sessions = make_session_factory(engine)
            with transaction(sessions) as session:
                new = create_site(session, SITE)
                save_limits(session, new.site, SiteLimits().changed(**LIFTED), actor="bench")
            if self.options.version:
                registry = Registry(self.home / "models")
                register_and_activate(sessions, registry, self.options.version, actor="bench")
            return new.secret_key
        finally:
            engine.dispose()

    def switch_model(self) -> str:
        """Promotes a new version, as `moderation models promote` does after a retraining: a copy of the
        running model under a new name (its files linked, its card stamped with the new name), so the
        workers load a model of the same size. Returns the new version's name."""
        source = self.home / "models" / self.options.version
        version = f"{self.options.version}-switch"
        target = self.home / "models" / version
        target.mkdir()
        for item in source.iterdir():
            if item.name == "model_card.json":
                card = json.loads(item.read_text(encoding="utf-8"))
                card["version"] = version
                (target / item.name).write_text(json.dumps(card), encoding="utf-8")
            else:
                (target / item.name).symlink_to(item.resolve())
        engine = make_engine(self.database_url)
        try:
            register_and_activate(
                make_session_factory(engine), Registry(self.home / "models"), version, actor="bench"
            )
        finally:
            engine.dispose()
        return version

    def _check_alive(self, deadline: float) -> None:
        dead = [p for p in [self.api, *self.workers] if p is not None and p.poll() is not None]
        if dead or time.monotonic() > deadline:
            raise RuntimeError("the stack did not come up:\n" + self.tail())
        time.sleep(0.2)

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.base / f"{name}.log", "wb")  # noqa: SIM115 (kept open by the child)
        return subprocess.Popen(
            [sys.executable, "-m", "moderation", *args],
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent(signal.SIGTERM),
        )

    def log(self, name: str) -> str:
        path = self.base / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def worker_logs(self) -> str:
        return "\n".join(self.log(f"worker-{n + 1}") for n in range(len(self.workers)))

    def tail(self, lines: int = 30) -> str:
        names = ["api"] + [f"worker-{n + 1}" for n in range(len(self.workers))]
        return "\n".join(f"--- {n}\n" + "\n".join(self.log(n).splitlines()[-lines:]) for n in names)

    def _ready(self) -> bool:
        return ready(self.port)

    def redis_client(self):  # type: ignore[no-untyped-def]
        import redis

        return redis.Redis(port=self.redis.port)

    def worker_pids(self) -> list[int]:
        """Every worker process: what we started, their children (pool workers, RQ's scheduler) and
        theirs."""
        found = [p.pid for p in self.workers if p.poll() is None]
        at = 0
        while at < len(found):
            found += children(found[at])
            at += 1
        return found

    def scoring_workers(self) -> list[int]:
        """The processes that run jobs: the workers we started, or the members of the pool."""
        started = [p.pid for p in self.workers if p.poll() is None]
        if not self.options.pool:
            return started
        return [child for pid in started for child in children(pid)]

    def stop(self, keep: bool = False) -> None:
        for process in [*self.workers, self.api]:
            if process is not None and process.poll() is None:
                process.terminate()
        for process in [*self.workers, self.api]:
            if process is None:
                continue
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.redis.kill()
        if not keep:
            shutil.rmtree(self.base, ignore_errors=True)


def children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue
    return out


def memory(pids: list[int]) -> dict[str, float]:
    """Resident memory of processes in MB: the largest RSS, and the total with shared pages counted once
    (the sum of PSS, from /proc/<pid>/smaps_rollup), and the sum of what each holds alone (USS)."""
    rss, pss, uss = [], 0.0, 0.0
    for pid in pids:
        try:
            fields = {}
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
                name, value = line.split(":", 1)
                fields[name.strip()] = int(value.split()[0]) / 1024
        except (OSError, ValueError):
            continue
        rss.append(fields.get("Rss", 0.0))
        pss += fields.get("Pss", 0.0)
        uss += fields.get("Private_Clean", 0.0) + fields.get("Private_Dirty", 0.0)
    return {
        "processes": len(rss),
        "max_rss_mb": round(max(rss, default=0.0)),
        "sum_rss_mb": round(sum(rss)),
        "sum_pss_mb": round(pss),
        "sum_uss_mb": round(uss),
    }
