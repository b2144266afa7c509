"""`moderation up`: one command that runs the whole product on one machine."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request
from types import FrameType

import click

from classifiers.encoder import SentenceEncoder
from classifiers.training import train
from moderation.cli.bootstrap import ensure_accounts, ensure_model
from moderation.cli.common import open_resources
from moderation.config import Config

log = logging.getLogger(__name__)


def _wait_healthy(url: str, timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.2)
    return False


def run_everything(config: Config, *, workers: int) -> None:
    embedded = None
    if config.redis_url is None:
        from workers.embedded import EmbeddedRedis

        embedded = EmbeddedRedis(config.home / "redis")
        config = config.with_overrides(redis_url=embedded.url)
    else:
        log.info("using Redis at %s", config.redis_url)
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
    )
    me = [sys.executable, "-m", "moderation"]
    children = [subprocess.Popen([*me, "serve", "--port", str(config.port)], env=env)]
    children += [subprocess.Popen([*me, "worker"], env=env) for _ in range(workers)]

    def stop(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        base = f"http://127.0.0.1:{config.port}"
        if _wait_healthy(base + "/healthz"):
            _print_welcome(base, version, welcome.admin_email, welcome.admin_password, welcome.demo_api_key)
        else:
            log.error("the API did not come up on %s", base)
        while all(child.poll() is None for child in children):
            time.sleep(1)
        log.error("a child process exited; stopping everything")
    except KeyboardInterrupt:
        pass
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        if embedded is not None:
            embedded.close()


def _print_welcome(base: str, version: str, email: str, password: str | None, key: str | None) -> None:
    lines = [
        "",
        "Comment moderation is running.",
        f"  Dashboard:     {base}/",
        f"  Admin login:   {email} / {password or '(the password in MODERATION_ADMIN_PASSWORD)'}",
        f"  Demo site key: {key or '(the key in MODERATION_DEMO_API_KEY)'}",
        f"  Model:         {version}",
        f"  API docs:      {base}/api/openapi.json",
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
