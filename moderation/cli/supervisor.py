"""`moderation up`: one command that runs the whole product on one machine.

It supervises its children: a worker or the API that dies is started again (with backoff) while the
rest keeps serving; SIGINT/SIGTERM/SIGHUP stop everything in order; and every child, the embedded Redis
included, dies with it even when it is SIGKILLed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from types import FrameType

import click

from classifiers.encoder import E5Encoder, SentenceEncoder
from classifiers.training import train
from moderation.cli.bootstrap import ensure_accounts, ensure_model
from moderation.cli.common import open_resources
from moderation.config import Config
from moderation.resources import redacted_url
from workers.lifeline import die_with_parent

log = logging.getLogger(__name__)

# A dead child is started again after 0.5 s, then 1, 2, 4 ... up to 30 s while it keeps dying soon
# after each start; the delay starts over once it has run for 20 s (a worker that loaded its model and
# served was healthy: it was killed, it did not crash on start).
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 30.0
STABLE_AFTER_S = 20.0


def _wait_healthy(url: str, timeout_s: float = 60.0, stop: threading.Event | None = None) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not (stop is not None and stop.is_set()):
        try:
            # The URL is our own http://127.0.0.1:<port>/healthz, never user input.
            with urllib.request.urlopen(url, timeout=2) as response:  # nosec B310
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.2)
    return False


@dataclass
class Child:
    """One supervised process: started again with backoff whenever it exits while the stack runs."""

    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restart_at: float | None = None
    failures: int = 0  # exits in a row that came soon after a start
    restarts: int = 0


class Supervisor:
    """Starts the children, restarts any that dies (exponential backoff, reset once a child has run
    `stable_after_s`) and stops them all on `stop()`. Each child is started in its own session (so a
    Ctrl-C in the terminal reaches only the supervisor, which then stops them in order) and dies with
    the supervisor even if that is SIGKILLed (`die_with_parent`)."""

    def __init__(
        self,
        env: dict[str, str],
        *,
        backoff_base_s: float = BACKOFF_BASE_S,
        backoff_cap_s: float = BACKOFF_CAP_S,
        stable_after_s: float = STABLE_AFTER_S,
    ) -> None:
        self.env = env
        self.children: list[Child] = []
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self.stable_after_s = stable_after_s

    def add(self, name: str, argv: list[str]) -> Child:
        child = Child(name, argv)
        self.children.append(child)
        self._start(child)
        return child

    def _start(self, child: Child) -> None:
        child.process = subprocess.Popen(
            child.argv, env=self.env, start_new_session=True, preexec_fn=die_with_parent()
        )
        child.started_at = time.monotonic()
        child.restart_at = None
        log.info("started %s (pid %d)", child.name, child.process.pid)

    def backoff(self, failures: int) -> float:
        return float(min(self.backoff_cap_s, self.backoff_base_s * 2 ** max(0, failures - 1)))

    def check(self) -> None:
        """Notices children that exited and restarts those whose backoff is over."""
        now = time.monotonic()
        for child in self.children:
            if child.process is not None and child.restart_at is None:
                code = child.process.poll()
                if code is None:
                    continue
                ran = now - child.started_at
                child.failures = 1 if ran >= self.stable_after_s else child.failures + 1
                delay = self.backoff(child.failures)
                child.restart_at = now + delay
                log.error(
                    "%s (pid %d) exited (%s) after %.1f s; restarting in %.1f s",
                    child.name,
                    child.process.pid,
                    _describe_exit(code),
                    ran,
                    delay,
                )
            if child.restart_at is not None and now >= child.restart_at:
                child.restarts += 1
                self._start(child)

    def stop(self, timeout_s: float = 20.0) -> None:
        """SIGTERM to every child (workers finish their batch, gunicorn its requests), SIGKILL to those
        still running after `timeout_s`."""
        running = [c.process for c in self.children if c.process is not None and c.process.poll() is None]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
        deadline = time.monotonic() + timeout_s
        for process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("pid %d did not stop in %.0f s; killing it", process.pid, timeout_s)
                process.kill()
                process.wait()


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"status {code}"


class _Stop(Exception):
    """Raised by the signal handler while `moderation up` is still starting (e.g. training)."""


def run_everything(config: Config, *, workers: int) -> None:
    stopping = threading.Event()
    starting = True

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if stopping.is_set():
            return
        log.info("%s received; stopping", signal.Signals(signum).name)
        stopping.set()
        if starting:
            raise _Stop

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)
    embedded = None
    supervisor: Supervisor | None = None
    try:
        if config.redis_url is None:
            from workers.embedded import EmbeddedRedis

            embedded = EmbeddedRedis(config.home / "redis")
            config = config.with_overrides(redis_url=embedded.url)
        else:
            log.info("using Redis at %s", redacted_url(config.redis_url))
        resources = open_resources(config)
        sessions, registry = resources.sessions, resources.registry
        version = ensure_model(
            sessions,
            registry,
            lambda: train(
                config.models_dir,
                progress=click.echo,
                catalogue_dir=config.catalogue_dir,
                encoder=SentenceEncoder(config.embeddings_dir, threads=os.cpu_count() or 1),
                refiner_encoder=E5Encoder(config.embeddings_dir, threads=os.cpu_count() or 1),
            ),
        )
        welcome = ensure_accounts(sessions, config)
        resources.close()

        env = dict(os.environ)
        env.update(
            REDIS_URL=config.redis_url or "",
            DATABASE_URL=config.database_url,
            SECRET_KEY=config.secret_key,
            MODERATION_HOME=str(config.home),
            MODERATION_SUPERVISED="1",
        )
        me = [sys.executable, "-m", "moderation"]
        supervisor = Supervisor(env)
        supervisor.add("api", [*me, "serve", "--port", str(config.port)])
        for number in range(1, workers + 1):
            supervisor.add(f"worker-{number}", [*me, "worker"])
        base = f"http://127.0.0.1:{config.port}"
        if _wait_healthy(base + "/healthz", stop=stopping):
            _print_welcome(base, version, welcome.admin_email, welcome.admin_password, welcome.demo_api_key)
        elif not stopping.is_set():
            log.error("the API did not come up on %s; it is restarted until it does", base)
        starting = False
        while not stopping.wait(0.2):
            supervisor.check()
            if embedded is not None:
                try:
                    embedded.ensure_running()
                except RuntimeError:
                    log.exception("the embedded Redis does not start; trying again")
                    stopping.wait(5)
    except (_Stop, KeyboardInterrupt):
        pass
    finally:
        starting = False
        stopping.set()
        if supervisor is not None:
            supervisor.stop()
        if embedded is not None:
            embedded.close()
        log.info("stopped")


def _print_welcome(base: str, version: str, email: str, password: str | None, key: str | None) -> None:
    lines = [
        "",
        "Comment moderation is running.",
        f"  Dashboard:     {base}/",
        f"  Admin login:   {email} / {password or '(the password in MODERATION_ADMIN_PASSWORD)'}",
        f"  Demo site key: {key or '(the key in MODERATION_DEMO_API_KEY)'}",
        f"  Model:         {version}",
        f"  API docs:      {base}/api/openapi.json",
        f"  Demo article:  {base}/demo/   (a comment form through /embed.js)",
        "",
        "Try it:",
        f"  curl -s -X POST '{base}/api/v1/comments?wait=2000' -H 'Authorization: Bearer {key or '$KEY'}' \\",
        "    -H 'Content-Type: application/json' \\",
        '    -d \'{"text": "Ich finde die Analyse zu Kasachstan sehr aufschlussreich.", '
        '"article_id": "kasachstan-russland", "author": {"id": "leser-1"}}\'',
        "",
        "Stop with Ctrl-C.",
        "",
    ]
    click.echo("\n".join(lines))
