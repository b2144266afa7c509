"""Redis Sentinel (`REDIS_URL=redis+sentinel://...`): the API, a worker, the `?wait` client and RQ's
scheduler follow a real failover to the new primary without a restart, and a malformed URL stops the
start with a message that names the problem and not the password.

Runs a primary, a replica and one Sentinel of its own on free loopback ports (password-protected, on
database 2); the shared Redis is never touched.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.sentinel import Sentinel, SentinelConnectionPool
from rq import Queue
from rq.scheduler import RQScheduler

from moderation.config import Config
from moderation.resources import (
    WORKER_REDIS_TIMEOUT_S,
    FailFastRedis,
    Resources,
    connect_redis,
    parse_sentinel_url,
    redacted_url,
)
from moderation.store.accounts import NewSite
from moderation.store.queue import PENDING_KEY, QUEUE_NAME, PendingQueue, waiting_connection
from moderation.web.app import create_app
from tests.conftest import Database
from workers import runtime
from workers.lifeline import die_with_parent

PASSWORD = "daten-geheim"
SENTINEL_PASSWORD = "wache-geheim"
MASTER = "moderation-main"
DB = 2
FAILOVER_TIMEOUT_S = 20.0

HAS_REDIS_SERVER = shutil.which("redis-server") is not None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Any, what: str, timeout_s: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            result = check()
            if result:
                return result
        except (redis.ConnectionError, redis.ResponseError):
            pass
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


class Node:
    """One redis-server process (a data node or, with `--sentinel`, a Sentinel) on a free port."""

    def __init__(self, base: Path, name: str, args: list[str], sentinel_conf: str | None = None) -> None:
        self.port = free_port()
        self.dir = base / name
        self.dir.mkdir()
        command = ["redis-server"]
        if sentinel_conf is not None:
            conf = self.dir / "sentinel.conf"  # Sentinel rewrites its file: it must be its own
            conf.write_text(sentinel_conf)
            command += [str(conf), "--sentinel"]
        command += ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir)]
        command += ["--logfile", str(self.dir / "redis.log"), *args]
        self.process = subprocess.Popen(
            command, preexec_fn=die_with_parent(signal.SIGKILL), stdin=subprocess.DEVNULL
        )
        self.password = SENTINEL_PASSWORD if sentinel_conf is not None else PASSWORD
        self.client = redis.Redis(port=self.port, password=self.password, db=0, socket_timeout=2)
        wait_until(self.client.ping, f"redis-server on port {self.port}")

    def data(self) -> redis.Redis:
        return redis.Redis(port=self.port, password=PASSWORD, db=DB, socket_timeout=2)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.client.close()


@pytest.fixture
def sentinel_setup(tmp_path: Path) -> Iterator[tuple[Node, Node, Node]]:
    """Primary, replica and a Sentinel (quorum 1) that knows both and fails over a second after the
    primary stops answering."""
    data_args = ["--save", "", "--appendonly", "no", "--repl-diskless-sync-delay", "0"]
    data_args += ["--requirepass", PASSWORD, "--masterauth", PASSWORD]
    nodes: list[Node] = []
    try:
        primary = Node(tmp_path, "primary", data_args)
        nodes.append(primary)
        replica = Node(tmp_path, "replica", [*data_args, "--replicaof", "127.0.0.1", str(primary.port)])
        nodes.append(replica)
        # Sentinel learns of replicas from the primary's INFO, asked at its start and then every 10 s:
        # the replica must be attached before the Sentinel starts.
        wait_until(
            lambda: replica.client.info("replication").get("master_link_status") == "up", "the replica link"
        )
        conf = "\n".join(
            [
                f"sentinel monitor {MASTER} 127.0.0.1 {primary.port} 1",
                f"sentinel down-after-milliseconds {MASTER} 1000",
                f"sentinel failover-timeout {MASTER} 3000",
                f"sentinel auth-pass {MASTER} {PASSWORD}",
                f"requirepass {SENTINEL_PASSWORD}",
                "",
            ]
        )
        sentinel = Node(tmp_path, "sentinel", [], sentinel_conf=conf)
        nodes.append(sentinel)
        wait_until(
            lambda: (
                [(r["port"], r["is_sdown"]) for r in sentinel.client.sentinel_slaves(MASTER)]
                == [(replica.port, False)]
            ),
            "the Sentinel to know the replica",
        )
        yield primary, replica, sentinel
    finally:
        for node in reversed(nodes):
            node.kill()


def sentinel_url(sentinel: Node) -> str:
    # An unreachable Sentinel first: the client must go on to the next one.
    return (
        f"redis+sentinel://:{PASSWORD}@127.0.0.1:{free_port()},127.0.0.1:{sentinel.port}/{MASTER}/{DB}"
        f"?sentinel_password={SENTINEL_PASSWORD}"
    )


def post(client: Any, site: NewSite, text: str) -> str:
    body = {"text": text, "article_id": "kasachstan", "author": {"id": "leser-1"}}
    response = client.post(
        "/api/v1/comments", json=body, headers={"Authorization": f"Bearer {site.secret_key}"}
    )
    assert response.status_code == 202, response.get_json()
    return str(response.get_json()["id"])


def pending_on(node: Node) -> list[str]:
    return [item.decode() for item in node.data().lrange(PENDING_KEY, 0, -1)]


@pytest.mark.slow
@pytest.mark.skipif(not HAS_REDIS_SERVER, reason="NOTICE: no redis-server on PATH; Sentinel failover SKIPPED")
@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_clients_follow_a_sentinel_failover(
    sentinel_setup: tuple[Node, Node, Node], config: Config, database: Database, site: NewSite
) -> None:
    primary, replica, sentinel = sentinel_setup
    config = config.with_overrides(redis_url=sentinel_url(sentinel))

    # The API, built as `moderation serve` builds it.
    resources = Resources(config, database.engine, database.sessions, connect_redis(config.redis_url))
    api_redis = resources.require_redis()
    assert isinstance(api_redis, FailFastRedis)
    assert isinstance(api_redis.connection_pool, SentinelConnectionPool)
    client = create_app(resources=resources, test_config={"TESTING": True}).test_client()
    # A worker, built as `moderation worker` builds it.
    context = runtime.build_context(config)
    worker_redis = context.redis
    assert isinstance(worker_redis.connection_pool, SentinelConnectionPool)
    assert worker_redis.connection_pool.connection_kwargs["socket_timeout"] == WORKER_REDIS_TIMEOUT_S
    # The `?wait` client: a pool of its own with a longer timeout, still asking Sentinel.
    waiter = waiting_connection(api_redis, 3.0)
    assert isinstance(waiter.connection_pool, SentinelConnectionPool)
    assert waiter.connection_pool.connection_kwargs["socket_timeout"] == 3.0
    # RQ's scheduler rebuilds its client from the worker's (`rq.connections.parse_connection`), in the
    # process it forks: that client must stay a Sentinel client.
    scheduler = RQScheduler([QUEUE_NAME], connection=worker_redis, interval=1)
    assert isinstance(scheduler.connection, FailFastRedis)
    assert isinstance(scheduler.connection.connection_pool, SentinelConnectionPool)
    assert scheduler.acquire_locks(auto_start=True) == {QUEUE_NAME}
    assert scheduler._process is not None
    try:
        first = post(client, site, "Vor dem Failover")
        assert pending_on(primary) == [first]
        assert client.get("/readyz").status_code == 200
        for connected in (worker_redis, waiter):
            connected.ping()  # every client now holds a connection to the old primary
        wait_until(lambda: primary.data().exists(scheduler.key), "the scheduler's heartbeat")
        assert primary.data().execute_command("WAIT", 1, 2000) == 1  # the replica has everything

        primary.kill()
        # Done when the Sentinel names the replica as a healthy primary, as clients ask (`SENTINEL
        # get-master-addr-by-name` names it a little earlier, while the failover still runs).
        asking = Sentinel([("127.0.0.1", sentinel.port)], sentinel_kwargs={"password": SENTINEL_PASSWORD})
        wait_until(
            lambda: asking.discover_master(MASTER) == ("127.0.0.1", replica.port),
            "the Sentinel failover",
            timeout_s=FAILOVER_TIMEOUT_S,
        )
        failed_over = datetime.now(UTC)

        # The API: a comment posted now lands on the new primary, and /readyz is green again.
        second = post(client, site, "Nach dem Failover")
        assert pending_on(replica) == [first, second]
        assert client.get("/readyz").status_code == 200
        # The worker: pops both, pushes one.
        assert PendingQueue(worker_redis).pop(10) == [first, second]
        PendingQueue(worker_redis).push(["worker-push"])
        # The `?wait` client: a blocking pop and a decided-wake-up on the new primary.
        assert PendingQueue(waiter).pop(10, wait_s=1.0) == ["worker-push"]
        PendingQueue(waiter).push(["waiter-push"])
        assert PendingQueue(api_redis).pop(10) == ["waiter-push"]
        PendingQueue(worker_redis).announce_decided([first])
        assert PendingQueue(waiter).wait_decided(first, 2.0)

        # The scheduler: its process dies if Redis fails during a heartbeat, and RQ's worker starts it
        # again (`run_maintenance_tasks`); either way it moves due jobs on the new primary.
        if not scheduler._process.is_alive():
            scheduler.acquire_locks(auto_start=True)
        job = Queue(QUEUE_NAME, connection=worker_redis).enqueue_at(
            failed_over - timedelta(seconds=1), "workers.jobs.drain", result_ttl=0
        )
        wait_until(
            lambda: job.id.encode() in replica.data().lrange(f"rq:queue:{QUEUE_NAME}", 0, -1),
            "the scheduler to queue the due job on the new primary",
            timeout_s=5,
        )
    finally:
        if scheduler._process is not None and scheduler._process.is_alive():
            scheduler._process.terminate()
            scheduler._process.join(5)
        waiter.close()
        context.resources.close()
        api_redis.close()


def make_certificates(base: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1 signed by it: (ca, cert, key)."""

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=base, check=True, capture_output=True)

    key = ["-newkey", "rsa:2048", "-nodes", "-days", "1"]
    openssl("req", "-x509", *key, "-subj", "/CN=moderation-test-ca", "-keyout", "ca.key", "-out", "ca.crt")
    openssl("req", *key, "-subj", "/CN=127.0.0.1", "-keyout", "server.key", "-out", "server.csr")
    (base / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "1", "-out", "server.crt", "-extfile", "ext.cnf",
    )  # fmt: skip
    return base / "ca.crt", base / "server.crt", base / "server.key"


@pytest.mark.skipif(
    not HAS_REDIS_SERVER or shutil.which("openssl") is None,
    reason="NOTICE: no redis-server or openssl on PATH; rediss+sentinel:// SKIPPED",
)
def test_tls_to_the_redis_servers(tmp_path: Path) -> None:
    """`rediss+sentinel://`: TLS to the primary, whose certificate is checked against `ssl_ca_certs`;
    the Sentinel itself is asked in plain text (it reaches the primary over TLS itself)."""
    ca, cert, key = make_certificates(tmp_path)
    tls = ["--tls-cert-file", str(cert), "--tls-key-file", str(key), "--tls-ca-cert-file", str(ca)]
    tls += ["--tls-auth-clients", "no"]
    port = free_port()
    nodes: list[Node] = []
    try:
        primary = Node(tmp_path, "primary", ["--tls-port", str(port), *tls, "--requirepass", PASSWORD])
        nodes.append(primary)
        # `Node` pings the plain port; the Sentinel names the TLS port, which only speaks TLS.
        conf = f"sentinel monitor {MASTER} 127.0.0.1 {port} 1\ntls-replication yes\n"
        conf += "".join(f"{name[2:]} {value}\n" for name, value in zip(tls[::2], tls[1::2], strict=True))
        conf += f"sentinel auth-pass {MASTER} {PASSWORD}\nrequirepass {SENTINEL_PASSWORD}\n"
        sentinel = Node(tmp_path, "sentinel", [], sentinel_conf=conf)
        nodes.append(sentinel)
        base = (
            f"rediss+sentinel://:{PASSWORD}@127.0.0.1:{sentinel.port}/{MASTER}/{DB}"
            f"?sentinel_password={SENTINEL_PASSWORD}"
        )
        trusted = connect_redis(f"{base}&ssl_ca_certs={ca}")
        assert trusted is not None
        PendingQueue(trusted).push(["über-tls"])
        waiter = waiting_connection(trusted, 2.0)
        assert PendingQueue(waiter).pop(1, wait_s=1.0) == ["über-tls"]
        untrusted = connect_redis(base)  # the system's CAs do not know ours
        assert untrusted is not None
        with pytest.raises(redis.ConnectionError, match="certificate verify failed"):
            untrusted.ping()
        for client in (trusted, waiter, untrusted):
            client.close()
    finally:
        for node in reversed(nodes):
            node.kill()


MALFORMED = [
    ("redis+sentinel://:{pw}@127.0.0.1:26379", "master name"),
    ("redis+sentinel://:{pw}@127.0.0.1:26379/", "master name"),
    ("redis+sentinel://:{pw}@/main/0", "Sentinel address is missing"),
    ("redis+sentinel://:{pw}@a:26379,,b:26379/main/0", "Sentinel address is missing"),
    ("redis+sentinel://:{pw}@a:port/main/0", "'a:port' has no valid port"),
    ("redis+sentinel://:{pw}@a:70000/main/0", "'a:70000' has no valid port"),
    ("redis+sentinel://:{pw}@a b:26379/main/0", "no valid host name"),
    ("redis+sentinel://:{pw}@a:26379/main/zwei", "database number 'zwei'"),
    ("redis+sentinel://:{pw}@a:26379/main/0/1", "more than a master name"),
    ("redis+sentinel://{pw}@a:26379/main/0", "':password' or 'user:password'"),
    ("redis+sentinel://:{pw}/x@a:26379/main/0", "percent-encode"),
    ("redis+sentinel://:{pw}@a:26379/main/0?timeout=1", "unknown parameter 'timeout'"),
    ("redis+sentinel://:{pw}@a:26379/main/0?sentinel_password=", "'sentinel_password' is empty"),
    ("redis+sentinel://:{pw}@a:26379/main/0?ssl_cert_reqs=none", "need rediss+sentinel://"),
    ("rediss+sentinel://:{pw}@a:26379/main/0?ssl_cert_reqs=lax", "ssl_cert_reqs must be"),
]


@pytest.mark.parametrize(("url", "problem"), MALFORMED)
def test_malformed_sentinel_url_stops_the_start(url: str, problem: str) -> None:
    secret = "Hunter2-geheim"
    with pytest.raises(ValueError) as raised:
        connect_redis(url.format(pw=secret))
    message = str(raised.value)
    assert message.startswith("REDIS_URL: ")
    assert problem in message
    assert "Hunter2" not in message and "geheim" not in message


def test_sentinel_url_parts() -> None:
    parsed = parse_sentinel_url(
        "rediss+sentinel://leser:p%40ss%2Fwort@s1.internal,[::1]:26380/moderation-main/3"
        "?sentinel_password=w%26ch&ssl_cert_reqs=none"
    )
    assert parsed.sentinels == (("s1.internal", 26379), ("::1", 26380))
    assert (parsed.service, parsed.db, parsed.tls) == ("moderation-main", 3, True)
    assert (parsed.username, parsed.password, parsed.sentinel_password) == ("leser", "p@ss/wort", "w&ch")
    assert "p@ss" not in repr(parsed) and "w&ch" not in repr(parsed)
    assert parse_sentinel_url("redis+sentinel://a/main").db == 0
    # TLS to the data nodes: redis-py's Sentinel pool opens SSL connections.
    client = connect_redis("rediss+sentinel://:pw@127.0.0.1:1/main/0?ssl_cert_reqs=none")
    assert client is not None
    assert issubclass(client.connection_pool.connection_class, redis.SSLConnection)
    client.close()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("redis://:s3cret@redis.internal:6379/0", "redis://:***@redis.internal:6379/0"),
        ("rediss://app:pa%40ss@redis.internal:6380/1", "rediss://app:***@redis.internal:6380/1"),
        (
            "redis+sentinel://:s3cret@s1:26379,s2/main/2?sentinel_password=other&ssl_cert_reqs=none",
            "redis+sentinel://:***@s1:26379,s2/main/2?sentinel_password=***&ssl_cert_reqs=none",
        ),
    ],
)
def test_logged_redis_urls_show_no_password(url: str, shown: str) -> None:
    """`moderation up` logs which Redis it uses: never with a password in it."""
    assert redacted_url(url) == shown
    assert "s3cret" not in redacted_url(url) and "other" not in redacted_url(url)
