"""Redis hung or gone: the API keeps its time budget and stores comments, a real worker process
reconnects, and everything accepted meanwhile is decided once Redis is back (with its data gone).

Runs against a Redis server of its own on a free port (SIGSTOPped, killed and started again); the shared
Redis is never touched.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient
from sqlalchemy import func, select

from moderation.config import Config
from moderation.resources import Resources, connect_redis
from moderation.store.accounts import NewSite
from moderation.store.tables import AuditEvent, Decision
from moderation.web.app import create_app
from tests.conftest import Database
from workers.lifeline import die_with_parent

pytestmark = pytest.mark.slow

POST_BUDGET_S = 1.0
READY_BUDGET_S = 0.5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class OwnRedis:
    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.dir = tmp_path
        self.url = f"redis://127.0.0.1:{self.port}/0"
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
            + ["--dir", str(self.dir), "--logfile", str(self.dir / "redis.log")],
            preexec_fn=die_with_parent(signal.SIGKILL),
        )
        client = redis.Redis.from_url(self.url, socket_timeout=1)
        deadline = time.monotonic() + 15
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        client.close()

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def outage_client(
    model_home: Config, database: Database, own_redis: OwnRedis
) -> Iterator[tuple[FlaskClient, Resources]]:
    config = model_home.with_overrides(redis_url=own_redis.url)
    resources = Resources(config, database.engine, database.sessions, connect_redis(own_redis.url))
    app = create_app(resources=resources, test_config={"TESTING": True})
    yield app.test_client(), resources
    assert resources.redis is not None
    resources.redis.close()


def timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def post(client: FlaskClient, site: NewSite, text: str, wait: int = 0) -> Any:
    url = "/api/v1/comments" + (f"?wait={wait}" if wait else "")
    body = {"text": text, "article_id": "kasachstan", "author": {"id": "leser-1"}}
    return client.post(url, json=body, headers={"Authorization": f"Bearer {site.secret_key}"})


def status_of(client: FlaskClient, site: NewSite, cid: str) -> str:
    response = client.get(f"/api/v1/comments/{cid}", headers={"Authorization": f"Bearer {site.secret_key}"})
    return str(response.get_json()["status"])


def decided_once(database: Database, cid: str) -> bool:
    with database.sessions() as session:
        decisions = session.scalar(
            select(func.count()).select_from(Decision).where(Decision.comment_id == cid)
        )
        audits = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.comment_id == cid, AuditEvent.event == "comment.decided")
        )
    return decisions == 1 and audits == 1


def assert_within_budget(client: FlaskClient, site: NewSite, label: str) -> list[str]:
    """While Redis is hung or gone: POST, POST ?wait and /readyz each answer within budget."""
    ids = []
    for n in range(3):
        response, took = timed(lambda n=n: post(client, site, f"{label}: Kommentar {n}"))
        assert response.status_code == 202, response.get_json()
        assert took < POST_BUDGET_S, f"{label}: POST took {took:.2f} s"
        ids.append(response.get_json()["id"])
    response, took = timed(lambda: post(client, site, f"{label}: mit Warten", wait=3000))
    assert response.status_code == 202 and response.get_json()["status"] == "pending"
    assert took < POST_BUDGET_S, f"{label}: POST ?wait took {took:.2f} s"
    ids.append(response.get_json()["id"])
    response, took = timed(lambda: client.get("/readyz"))
    assert response.status_code == 503, response.get_json()
    assert "redis" in response.get_json()["error"]["details"]
    assert took < READY_BUDGET_S, f"{label}: /readyz took {took:.2f} s"
    return ids


def test_redis_hung_and_gone(
    outage_client: tuple[FlaskClient, Resources],
    own_redis: OwnRedis,
    site: NewSite,
    model_home: Config,
    database: Database,
    tmp_path: Path,
) -> None:
    client, _ = outage_client
    env = dict(
        os.environ,
        DATABASE_URL=database.url,
        REDIS_URL=own_redis.url,
        MODERATION_HOME=str(model_home.home),
        SECRET_KEY="test-secret-key",
        MODERATION_RECONCILE_AFTER="2",
    )
    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "moderation", "worker", "--reconcile-every", "2"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent(),
        )
    try:
        deadline = time.monotonic() + 120
        while "worker ready" not in log_path.read_text():
            assert worker.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        assert post(client, site, "Vorher: Danke für den Artikel.", wait=3000).status_code == 200
        assert client.get("/readyz").status_code == 200

        # Hung (SIGSTOP): the server accepts connections but never answers.
        own_redis.signal(signal.SIGSTOP)
        try:
            accepted = assert_within_budget(client, site, "hung")
        finally:
            own_redis.signal(signal.SIGCONT)
        # Gone (killed), and started again empty: its queue and RQ's jobs are lost.
        own_redis.kill()
        accepted += assert_within_budget(client, site, "gone")
        time.sleep(3)  # the worker notices, retries with backoff, and keeps running
        assert worker.poll() is None, log_path.read_text()
        own_redis.start()
        back = time.monotonic()
        pending = set(accepted)
        while pending and time.monotonic() - back < 30:
            pending = {cid for cid in pending if status_of(client, site, cid) == "pending"}
            time.sleep(0.1)
        recovery = time.monotonic() - back
        assert not pending, log_path.read_text()
        assert all(decided_once(database, cid) for cid in accepted)
        print(
            f"\nrecovery: Redis started again (empty) -> {len(accepted)} comments decided in {recovery:.1f} s"
        )
        # Normal service again: a waiting POST gets its decision, /readyz is ready.
        response = post(client, site, "Nachher: Gute Recherche.", wait=3000)
        assert response.status_code == 200, response.get_json()
        assert client.get("/readyz").status_code == 200
        assert worker.poll() is None
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
