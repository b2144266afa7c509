"""Chaos test: comments keep arriving while the stack's processes are killed, and none is lost.

    .venv/bin/python benchmarks/chaos.py [--comments 5000] [--post-seconds 60] [--models DIR]

Starts, on loopback ports of its own, a Redis (`redis-server --save ''`), a PostgreSQL (`initdb` and
`postgres` from /usr/lib/postgresql/*/bin, in a temporary directory; as the `postgres` user when run as
root) and `moderation up` on them (API under gunicorn, two supervised workers). While N comments are
posted at an even pace by 8 client threads that retry like a site's server does (same `external_id`, on
errors, 503 and 429), it:

  - SIGKILLs a worker (mid-batch: the stack is busy), later both workers;
  - restarts Redis with its data gone (SIGKILL, then a fresh empty server on the same port);
  - stops PostgreSQL for 10 seconds (the API answers 503 with Retry-After meanwhile);
  - SIGKILLs the API (gunicorn), which `moderation up` starts again.

Then it waits until nothing is pending and checks in the database that every comment that got a 2xx is
there once and decided exactly once (one model/rule decision, one `comment.decided` audit event). It
prints the counts and exits 1 if anything was lost or duplicated. Everything it started is stopped at the
end, and dies with it if it is killed (PR_SET_PDEATHSIG).

Without --models it trains a quick model once into var/chaos-models and reuses it afterwards.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import http.client
import json
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import redis

from workers.lifeline import die_with_parent

ROOT = Path(__file__).resolve().parents[1]
KEY = "mk_sec_chaos-test-site-key-0000000000000000"
TEXTS = [
    "Ich finde die Analyse zu Kasachstan sehr aufschlussreich.",
    "Danke für den ausführlichen Artikel, das hilft beim Verstehen.",
    "Du bist ein dummer Vollidiot und hast keine Ahnung.",
    "Der Westen ist an allem schuld, die Medien lügen doch sowieso.",
    "Interessant, aber mir fehlt die Sicht der Opposition.",
    "Kasachstan war nie ein echter Staat, sagt man im Fernsehen.",
    "Gute Recherche, weiter so!",
    "What a thoughtful piece on Central Asia, thanks.",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def ready(port: int) -> bool:
    """Whether the service on this loopback port answers `/readyz` with 200."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/readyz")
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


class Postgres:
    """A throwaway PostgreSQL server: initdb into `base`, `postgres` in the foreground as our child."""

    def __init__(self, base: Path, port: int) -> None:
        bindir = postgres_bin()
        if bindir is None:
            raise RuntimeError("initdb not found (install postgresql)")
        self.bin, self.port, self.base = bindir, port, base
        self.data = base / "data"
        self.process: subprocess.Popen[bytes] | None = None
        # PostgreSQL refuses to run as root: then it runs as the `postgres` account.
        self.user = "postgres" if os.geteuid() == 0 else None
        base.mkdir(parents=True, exist_ok=True)
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(base, entry.pw_uid, entry.pw_gid)
            base.parent.chmod(0o711)  # the account must reach its directory inside our temporary one
        subprocess.run(
            [str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"]
            + ["-E", "UTF8", "--no-sync", "--no-instructions"],
            check=True,
            **self._account(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            cwd=base,
        )
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/chaos"

    def _account(self) -> dict[str, Any]:
        """Popen arguments that run a command as the PostgreSQL account (when we are root)."""
        if not self.user:
            return {}
        return {"user": self.user, "group": pwd.getpwnam(self.user).pw_gid, "extra_groups": []}

    def start(self) -> None:
        command = [
            str(self.bin / "postgres"),
            "-D",
            str(self.data),
            "-p",
            str(self.port),
            "-k",
            str(self.base),
        ]
        for setting in (
            "listen_addresses=127.0.0.1",
            "fsync=off",
            "full_page_writes=off",
            "max_connections=200",
        ):
            command += ["-c", setting]
        logfile = open(self.base / "postgres.log", "ab")  # noqa: SIM115 (kept open by the child)
        # SIGQUIT on our death: an immediate shutdown, nothing of this server is worth keeping.
        self.process = subprocess.Popen(
            command,
            **self._account(),
            cwd=self.base,
            stdout=logfile,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent(signal.SIGQUIT),
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                with psycopg.connect(
                    f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"
                ) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"PostgreSQL did not start; see {self.base / 'postgres.log'}"
                    ) from None
                time.sleep(0.1)

    def create_database(self) -> None:
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as conn:
            conn.execute("CREATE DATABASE chaos")

    def stop(self) -> None:
        """Fast shutdown (SIGINT): open connections are cut, as when the database host goes down."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class RedisServer:
    def __init__(self, base: Path, port: int) -> None:
        self.base, self.port = base, port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ]
            + ["--dir", str(self.base), "--logfile", str(self.base / "redis.log")],
            preexec_fn=die_with_parent(signal.SIGKILL),
            stdin=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_timeout=1)
        deadline = time.monotonic() + 15
        while True:
            try:
                client.ping()
                client.close()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def children_of(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the direct children of `pid`."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                out.append((int(entry.name), cmdline))
        except (OSError, ValueError, IndexError):
            continue
    return out


@dataclass
class Tally:
    posted: int = 0  # comments we tried to post
    accepted: dict[str, str] = field(default_factory=dict)  # external_id -> comment id (a 2xx answer)
    statuses: collections.Counter[str] = field(default_factory=collections.Counter)
    unavailable_without_retry_after: int = 0
    id_changed: int = 0  # a retry answered with a different id than an earlier 2xx: a duplicate
    slowest_s: float = 0.0
    gave_up: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Poster:
    """Posts comment i at t0 + i * pace, retrying each until it gets a 2xx (or `give_up_s` passes)."""

    def __init__(self, port: int, run: str, count: int, seconds: float, give_up_s: float) -> None:
        self.port, self.run, self.count, self.seconds, self.give_up_s = port, run, count, seconds, give_up_s
        self.tally = Tally()
        self.next = 0
        self.lock = threading.Lock()
        self.t0 = 0.0

    def _take(self) -> int | None:
        with self.lock:
            if self.next >= self.count:
                return None
            self.next += 1
            return self.next - 1

    def _post(self, body: bytes) -> tuple[int, dict[str, str], Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        try:
            conn.request(
                "POST",
                "/api/v1/comments",
                body=body,
                headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
            )
            response = conn.getresponse()
            raw = response.read()
            headers = {k.lower(): v for k, v in response.getheaders()}
            return response.status, headers, json.loads(raw) if raw else None
        finally:
            conn.close()

    def worker(self) -> None:
        rng = random.Random()
        while (index := self._take()) is not None:
            due = self.t0 + index * self.seconds / self.count
            time.sleep(max(0.0, due - time.monotonic()))
            external_id = f"{self.run}-{index}"
            body = json.dumps(
                {
                    "text": f"{rng.choice(TEXTS)} (#{index})",
                    "article_id": f"chaos-{index % 7}",
                    "author": {"id": f"leser-{index % 400}"},
                    "external_id": external_id,
                }
            ).encode()
            with self.tally.lock:
                self.tally.posted += 1
            started = time.monotonic()
            delay = 0.2
            while True:
                sent = time.monotonic()
                try:
                    status, headers, payload = self._post(body)
                    outcome = str(status)
                except (OSError, http.client.HTTPException, ValueError) as exc:
                    status, headers, payload = 0, {}, None
                    outcome = type(exc).__name__
                took = time.monotonic() - sent
                with self.tally.lock:
                    self.tally.statuses[outcome] += 1
                    if status:
                        self.tally.slowest_s = max(self.tally.slowest_s, took)
                    if status == 503 and "retry-after" not in headers:
                        self.tally.unavailable_without_retry_after += 1
                    if 200 <= status < 300 and isinstance(payload, dict):
                        known = self.tally.accepted.get(external_id)
                        if known is not None and known != payload.get("id"):
                            self.tally.id_changed += 1
                        self.tally.accepted[external_id] = str(payload.get("id"))
                if 200 <= status < 300:
                    break
                if time.monotonic() - started > self.give_up_s:
                    with self.tally.lock:
                        self.tally.gave_up += 1
                    break
                retry_after = headers.get("retry-after")
                wait = min(float(retry_after), 2.0) if retry_after and retry_after.isdigit() else delay
                time.sleep(wait * (0.5 + rng.random()))
                delay = min(delay * 2, 2.0)


class Chaos:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.base = Path(tempfile.mkdtemp(prefix="moderation-chaos-"))
        self.home = self.base / "home"
        self.home.mkdir()
        self.redis = RedisServer(self.base, args.redis_port or free_port())
        self.pg: Postgres | None = None
        self.up: subprocess.Popen[bytes] | None = None
        self.port = args.port or free_port()
        self.events: list[str] = []
        self.figures: dict[str, float] = {}

    # -- the stack -----------------------------------------------------------------------------------
    def start(self) -> None:
        started = time.monotonic()
        self.pg = Postgres(self.base / "pg", self.args.pg_port or free_port())
        self.pg.start()
        self.pg.create_database()
        self.redis.start()
        log(
            f"PostgreSQL on port {self.pg.port}, Redis on port {self.redis.port}"
            f" ({time.monotonic() - started:.1f} s)"
        )
        (self.home / "models").symlink_to(self.args.models.resolve(), target_is_directory=True)
        env = dict(os.environ)
        env.update(
            DATABASE_URL=self.pg.url,
            REDIS_URL=self.redis.url,
            MODERATION_HOME=str(self.home),
            MODERATION_PORT=str(self.port),
            MODERATION_DEMO_API_KEY=KEY,
            MODERATION_ADMIN_PASSWORD="chaos-admin-password",
            SECRET_KEY="chaos-secret-key",
            MODERATION_SCORING=os.environ.get("MODERATION_SCORING", "fast"),
            # This test posts from one address as one site: switch the rate limits off.
            MODERATION_RATE_LIMIT="0",
            MODERATION_RATE_LIMIT_BROWSER="0",
            MODERATION_RATE_LIMIT_AUTHOR="0",
            MODERATION_RATE_LIMIT_ADDRESS="0",
            # Find comments a killed worker took with it within seconds (production: 15 s / 30 s).
            MODERATION_RECONCILE_EVERY="2",
            MODERATION_RECONCILE_AFTER="3",
        )
        self.up_log = open(self.base / "up.log", "w+b")  # noqa: SIM115
        self.up = subprocess.Popen(
            [sys.executable, "-m", "moderation", "up", "--workers", str(self.args.workers)],
            env=env,
            stdout=self.up_log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            preexec_fn=die_with_parent(signal.SIGTERM),
        )
        deadline = time.monotonic() + 120
        while not self._ready():
            if self.up.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("moderation up did not come up:\n" + self.tail_log())
            time.sleep(0.2)
        # Workers load the model after the API is up; wait until each has said it is ready.
        while self.log_text().count("worker ready with model") < self.args.workers:
            if time.monotonic() > deadline:
                raise RuntimeError("the workers did not get ready:\n" + self.tail_log())
            time.sleep(0.2)
        log(f"moderation up ready on port {self.port} ({time.monotonic() - started:.1f} s after start)")

    def log_text(self) -> str:
        return (self.base / "up.log").read_text(errors="replace")

    def tail_log(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def _ready(self) -> bool:
        return ready(self.port)

    def children(self, kind: str) -> list[int]:
        assert self.up is not None
        return [pid for pid, cmd in children_of(self.up.pid) if f" -m moderation {kind}" in cmd]

    def stop(self) -> None:
        if self.up is not None and self.up.poll() is None:
            self.up.send_signal(signal.SIGTERM)
            try:
                self.up.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.up.kill()
                self.up.wait()
        self.redis.kill()
        if self.pg is not None:
            self.pg.stop()
        if not self.args.keep:
            shutil.rmtree(self.base, ignore_errors=True)

    # -- the faults ----------------------------------------------------------------------------------
    def event(self, text: str) -> None:
        self.events.append(f"{time.monotonic() - self.t0:6.1f} s  {text}")
        log(text)

    def kill_worker(self, which: str = "one") -> None:
        pids = self.children("worker")
        victims = pids[:1] if which == "one" else pids
        for pid in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.event(f"SIGKILL {len(victims)} worker(s) {victims}")
        killed_at = time.monotonic()
        # How long until `moderation up` has replaced them and the replacements are ready.
        ready_before = self.log_text().count("worker ready with model")
        deadline = killed_at + 60
        while self.log_text().count("worker ready with model") < ready_before + len(victims):
            if time.monotonic() > deadline:
                self.event("replacement workers not ready within 60 s")
                return
            time.sleep(0.05)
        took = time.monotonic() - killed_at
        self.figures.setdefault(f"worker_replaced_s ({which})", took)
        self.event(f"replacement worker(s) ready {took:.1f} s after the kill")

    def restart_redis(self) -> None:
        self.redis.kill()
        self.event("SIGKILL Redis (its data is gone)")
        time.sleep(1.0)
        self.redis.start()
        self.event("Redis started again, empty")

    def stop_postgres(self, seconds: float) -> None:
        assert self.pg is not None
        self.pg.stop()
        self.event(f"PostgreSQL stopped for {seconds:.0f} s")
        time.sleep(seconds)
        self.pg.start()
        self.event("PostgreSQL started again")

    def restart_api(self) -> None:
        pids = self.children("serve")
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.event(f"SIGKILL the API (gunicorn master {pids})")
        killed_at = time.monotonic()
        time.sleep(0.5)
        while not self._ready():
            if time.monotonic() - killed_at > 60:
                self.event("API not back within 60 s")
                return
            time.sleep(0.05)
        took = time.monotonic() - killed_at
        self.figures["api_back_s"] = took
        self.event(f"API answering again {took:.1f} s after the kill")

    # -- the run -------------------------------------------------------------------------------------
    def run(self) -> int:
        args = self.args
        poster = Poster(
            self.port, f"chaos-{int(time.time())}", args.comments, args.post_seconds, args.give_up
        )
        schedule = [
            (0.15, lambda: self.kill_worker("one")),
            (0.30, self.restart_redis),
            (0.45, lambda: self.stop_postgres(args.pg_down)),
            (0.75, self.restart_api),
            (0.85, lambda: self.kill_worker("all")),
        ]
        self.t0 = poster.t0 = time.monotonic()
        threads = [threading.Thread(target=poster.worker, daemon=True) for _ in range(args.clients)]
        for thread in threads:
            thread.start()

        done = threading.Event()

        def at(fraction: float, fault: Any) -> None:
            time.sleep(max(0.0, self.t0 + fraction * args.post_seconds - time.monotonic()))
            fault()
            # A server this thread started dies when the thread that started it ends (PR_SET_PDEATHSIG
            # follows the thread): keep it until the run is over.
            done.wait()

        # Each fault at its time, in a thread of its own: one still recovering does not delay the next.
        faults = [threading.Thread(target=at, args=item, daemon=True) for item in schedule]
        for thread in faults:
            thread.start()
        for thread in threads:
            thread.join()
        posted_at = time.monotonic()
        self.event(f"posting done: {poster.tally.posted} posted, {len(poster.tally.accepted)} accepted")
        pending = self.wait_decided(set(poster.tally.accepted.values()), args.settle)
        self.figures["decided_after_posting_s"] = time.monotonic() - posted_at
        code = self.report(poster.tally, pending)
        done.set()
        return code

    def _db(self) -> psycopg.Connection[Any]:
        assert self.pg is not None
        return psycopg.connect(f"host=127.0.0.1 port={self.pg.port} user=postgres dbname=chaos")

    def wait_decided(self, ids: set[str], settle_s: float) -> int:
        deadline = time.monotonic() + settle_s
        while True:
            with self._db() as conn:
                rows = conn.execute("SELECT id FROM comments WHERE status = 'pending'").fetchall()
            pending = len(ids & {str(row[0]) for row in rows})
            if pending == 0 or time.monotonic() > deadline:
                return pending
            time.sleep(0.5)

    def report(self, tally: Tally, pending: int) -> int:
        accepted = set(tally.accepted.values())
        with self._db() as conn:
            comments = {
                str(cid): (external_id, status)
                for cid, external_id, status in conn.execute("SELECT id, external_id, status FROM comments")
            }
            per_external = collections.Counter(external_id for external_id, _ in comments.values())
            decisions = collections.Counter(
                str(cid)
                for (cid,) in conn.execute(
                    "SELECT comment_id FROM decisions WHERE source IN ('model', 'rule')"
                )
            )
            audits = collections.Counter(
                str(cid)
                for (cid,) in conn.execute(
                    "SELECT comment_id FROM audit_events WHERE event = 'comment.decided'"
                )
            )
        lost = [cid for cid in accepted if cid not in comments]
        decided = [cid for cid in accepted if cid in comments and comments[cid][1] != "pending"]
        undecided = [cid for cid in accepted if cid in comments and comments[cid][1] == "pending"]
        duplicated = sum(1 for n in per_external.values() if n > 1) + tally.id_changed
        decided_twice = sum(1 for cid in accepted if decisions[cid] > 1 or audits[cid] > 1)
        not_decided_once = sum(1 for cid in decided if decisions[cid] != 1 or audits[cid] != 1)
        stray = len(set(comments) - accepted)  # stored, but the client never saw a 2xx for it
        counts = {
            "posted": tally.posted,
            "accepted": len(accepted),
            "decided": len(decided),
            "decided_exactly_once": len(decided) - not_decided_once,
            "lost": len(lost) + len(undecided),
            "duplicated": duplicated + decided_twice,
            "stored_without_2xx": stray,
            "gave_up": tally.gave_up,
        }
        print()
        print("Faults (seconds after posting began):")
        for line in self.events:
            print("  " + line)
        print("Answers:", ", ".join(f"{k}: {v}" for k, v in sorted(tally.statuses.items())))
        print(
            f"  503 without Retry-After: {tally.unavailable_without_retry_after};"
            f" slowest answer {tally.slowest_s:.2f} s"
        )
        print("Recovery:", ", ".join(f"{k} {v:.1f} s" for k, v in self.figures.items()))
        print("Counts: " + ", ".join(f"{k} = {v}" for k, v in counts.items()))
        print("CHAOS " + json.dumps(counts))
        ok = (
            counts["lost"] == 0
            and counts["duplicated"] == 0
            and counts["decided"] == counts["accepted"] == counts["decided_exactly_once"]
            and tally.unavailable_without_retry_after == 0
            and counts["accepted"] > 0
        )
        print("RESULT: " + ("every accepted comment decided exactly once" if ok else "FAILED"))
        return 0 if ok else 1


def ensure_models(path: Path | None) -> Path:
    if path is not None:
        return path
    root = ROOT / "var" / "chaos-models"
    if not any(root.glob("*/model_card.json")):
        log(f"training a quick model into {root} (once; later runs reuse it)")
        home = Path(tempfile.mkdtemp(prefix="moderation-chaos-train-"))
        env = dict(os.environ, MODERATION_HOME=str(home))
        env.pop("DATABASE_URL", None)
        subprocess.run(
            [sys.executable, "-m", "moderation", "train", "--quick"], env=env, check=True, cwd=ROOT
        )
        root.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(home / "models", root, dirs_exist_ok=True)
        shutil.rmtree(home, ignore_errors=True)
    return root


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--comments", type=int, default=5000)
    parser.add_argument("--post-seconds", type=float, default=60.0, help="Spread the posts over this long.")
    parser.add_argument("--clients", type=int, default=8, help="Client threads posting at once.")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pg-down", type=float, default=10.0, help="Seconds PostgreSQL stays stopped.")
    parser.add_argument("--settle", type=float, default=90.0, help="Seconds to wait for the last decisions.")
    parser.add_argument("--give-up", type=float, default=60.0, help="Seconds a client retries one comment.")
    parser.add_argument(
        "--models", type=Path, default=None, help="A model registry (default: a quick model)."
    )
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--redis-port", type=int, default=0)
    parser.add_argument("--pg-port", type=int, default=0)
    parser.add_argument("--keep", action="store_true", help="Keep the temporary directory (logs).")
    args = parser.parse_args()
    if postgres_bin() is None:
        print("SKIPPED: initdb not found; the chaos test needs PostgreSQL's server binaries", flush=True)
        return 77
    args.models = ensure_models(args.models)
    started = time.monotonic()
    chaos = Chaos(args)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        chaos.start()
        code = chaos.run()
    except BaseException:
        print(chaos.tail_log() if chaos.up is not None else "", flush=True)
        raise
    finally:
        chaos.stop()
    print(f"chaos run took {time.monotonic() - started:.0f} s", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
