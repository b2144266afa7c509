"""Scale-out: two worker pools on one Redis and one database decide every comment exactly once; the
deployment files (compose.yaml, the Prometheus alert rules) name only what the service really has."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from rq import Worker
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from moderation.config import Config
from moderation.resources import Resources
from moderation.store.accounts import NewSite
from moderation.store.db import make_engine, pairs_in
from moderation.store.tables import AuditEvent, Comment, Decision
from moderation.web.app import create_app
from tests.conftest import TEST_REDIS_URL, Database

ROOT = Path(__file__).resolve().parents[1]
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
POOLS = {"pool-a": 2, "pool-b": 2}
SINGLE_POSTS = 100
BATCHES = 4
BATCH_ITEMS = 50
TEXTS = [
    "Ich finde die Analyse zu Kasachstan sehr aufschlussreich.",
    "Du bist ein dummer Vollidiot",
    "Danke für den ausgewogenen Bericht, Frage dazu: woher stammen die Zahlen?",
    "Halt endlich die Klappe, du Idiot",
]


def _text(index: int) -> str:
    return f"{TEXTS[index % len(TEXTS)]} (Nr. {index})"


def _unlimited_client(model_home: Config, database: Database, redis_conn: redis.Redis) -> FlaskClient:
    """The API with the global budgets switched off (0), as a site with its own large budgets has them."""
    config = model_home.with_overrides(
        rate_limit_per_minute=0, rate_limit_author_per_minute=0, rate_limit_address_per_minute=0
    )
    app = create_app(resources=Resources(config, database.engine, database.sessions, redis_conn))
    app.config.update(TESTING=True)
    return app.test_client()


def _start_pool(name: str, size: int, model_home: Config, database: Database, tmp_path: Path) -> list[Any]:
    """`size` `moderation worker` processes of one pool; each pool has a MODERATION_HOME of its own (as on
    another host) whose models/ is the same registry, mounted there. Pool b reconciles every second and
    re-queues every pending comment, in flight or not, so the pools also race on the same comments."""
    home = tmp_path / name
    home.mkdir()
    (home / "models").symlink_to(model_home.models_dir.resolve(), target_is_directory=True)
    env = dict(
        os.environ,
        DATABASE_URL=database.url,
        REDIS_URL=TEST_REDIS_URL,
        MODERATION_HOME=str(home),
        SECRET_KEY="test-secret-key",
        MODERATION_SCORING="fast",
        MODERATION_RECONCILE_EVERY="1" if name == "pool-b" else "15",
        MODERATION_RECONCILE_AFTER="0" if name == "pool-b" else "30",
    )
    processes = []
    for number in range(size):
        log = (tmp_path / f"{name}-{number}.log").open("wb")
        processes.append(
            (
                subprocess.Popen(
                    [sys.executable, "-m", "moderation", "worker"], env=env, stderr=log, stdout=log
                ),
                log,
            )
        )
    return processes


def _wait_until(check: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_two_worker_pools_decide_every_comment_exactly_once(
    model_home: Config, database: Database, redis_conn: redis.Redis, site: NewSite, tmp_path: Path
) -> None:
    client = _unlimited_client(model_home, database, redis_conn)
    auth = {"Authorization": f"Bearer {site.secret_key}"}
    pools = {name: _start_pool(name, size, model_home, database, tmp_path) for name, size in POOLS.items()}
    pool_of_pid = {proc.pid: name for name, procs in pools.items() for proc, _ in procs}
    started = time.monotonic()
    took: dict[str, float] = {}
    try:
        # Every worker has loaded the model and registered with RQ before the first comment arrives.
        _wait_until(
            lambda: {w.pid for w in Worker.all(connection=redis_conn)} >= set(pool_of_pid),
            60,
            "4 registered workers",
        )
        took["workers ready"] = time.monotonic() - started
        ids: list[str] = []
        for index in range(SINGLE_POSTS):
            body = {"text": _text(index), "article_id": "a-1", "author": {"id": f"leser-{index % 7}"}}
            response = client.post("/api/v1/comments", json=body, headers=auth)
            assert response.status_code == 202, response.get_json()
            ids.append(response.get_json()["id"])
            if index % (SINGLE_POSTS // BATCHES) == 0:
                items = [
                    {"text": _text(1000 + len(ids) + i), "article_id": "a-2", "author": {"id": f"b-{i}"}}
                    for i in range(BATCH_ITEMS)
                ]
                answer = client.post("/api/v1/comments:batch", json={"comments": items}, headers=auth)
                assert answer.status_code == 202, answer.get_json()
                ids.extend(item["id"] for item in answer.get_json()["comments"])
        assert len(set(ids)) == SINGLE_POSTS + BATCHES * BATCH_ITEMS == 300

        def all_decided() -> bool:
            with database.sessions() as session:
                pending = session.scalar(
                    select(func.count()).select_from(Comment).where(Comment.status == "pending")
                )
            return pending == 0

        took["posted"] = time.monotonic() - started
        _wait_until(all_decided, 60, "every comment decided")
        took["all decided"] = time.monotonic() - started
        jobs_by_pool: Counter[str] = Counter()
        for worker in Worker.all(connection=redis_conn):
            if worker.pid in pool_of_pid:
                jobs_by_pool[pool_of_pid[worker.pid]] += worker.successful_job_count
    finally:
        for procs in pools.values():
            for proc, _ in procs:
                proc.send_signal(signal.SIGTERM)
        for procs in pools.values():
            for proc, log in procs:
                proc.wait(timeout=30)
                log.close()

    # Exactly one model or rule decision, and one `comment.decided` audit event, per comment.
    with database.sessions() as session:
        decisions = dict(
            session.execute(
                select(Decision.comment_id, func.count())
                .where(Decision.source.in_(("model", "rule")))
                .group_by(Decision.comment_id)
            ).all()
        )
        audits = dict(
            session.execute(
                select(AuditEvent.comment_id, func.count())
                .where(AuditEvent.event == "comment.decided")
                .group_by(AuditEvent.comment_id)
            ).all()
        )
        statuses = Counter(session.scalars(select(Comment.status)).all())
    assert set(decisions) == set(ids) and set(decisions.values()) == {1}
    assert set(audits) == set(ids) and set(audits.values()) == {1}
    assert statuses["pending"] == 0 and sum(statuses.values()) == 300
    assert statuses["approved"] and (statuses["held"] + statuses["rejected"])
    sample = client.get(f"/api/v1/comments/{ids[1]}", headers=auth).get_json()
    assert sample["status"] in ("held", "rejected") and sample["decision"]["source"] in ("model", "rule")

    # Both pools did work: their logs add up to every comment, once.
    decided_by_pool: Counter[str] = Counter()
    for name, size in POOLS.items():
        for number in range(size):
            text = (tmp_path / f"{name}-{number}.log").read_text(errors="replace")
            decided_by_pool[name] += sum(int(n) for n in re.findall(r"drain decided (\d+) comments", text))
    print(f"comments decided per pool: {dict(decided_by_pool)}; drain jobs per pool: {dict(jobs_by_pool)}")
    print("seconds since the pools started:", {k: round(v, 1) for k, v in took.items()})
    assert sum(decided_by_pool.values()) == 300
    # RQ's job counts are only a hint (a drain job may still be finishing its last wait for more work
    # when they are read); the workers' own logs are the evidence that both pools decided comments.
    assert all(decided_by_pool[name] > 0 for name in POOLS)


def _exported_metric_names(client: FlaskClient) -> set[str]:
    response = client.get("/metrics")
    assert response.status_code == 200
    names: set[str] = set()
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        names.add(family.name)
        if family.type == "counter":
            names.add(family.name + "_total")
        names.update(sample.name for sample in family.samples)
    return names


# Series Prometheus itself makes for every scrape target, not exported by the service.
SCRAPE_SERIES = {"up"}
PROMQL_FUNCTIONS = {
    "rate", "increase", "delta", "deriv", "max", "min", "sum", "avg", "by", "without", "absent", "and",
    "or", "unless", "on", "ignoring", "max_over_time", "min_over_time", "avg_over_time", "clamp_min",
    "time", "count", "bool", "offset",
}  # fmt: skip


def test_alert_rules_name_only_metrics_the_service_exports(
    client: FlaskClient, site: NewSite, redis_conn: redis.Redis
) -> None:
    # One comment stored, so the labelled series of comments exist too.
    auth = {"Authorization": f"Bearer {site.secret_key}"}
    body = {"text": "Guter Artikel", "article_id": "a", "author": {"id": "r"}}
    assert client.post("/api/v1/comments", json=body, headers=auth).status_code == 202
    exported = _exported_metric_names(client)
    assert {"moderation_queue_backlog", "moderation_comments", "moderation_decisions"} <= exported

    document = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    rules = [rule for group in document["groups"] for rule in group["rules"]]
    assert len(rules) >= 5
    assert len({rule["alert"] for rule in rules}) == len(rules), "alert names must be unique"
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations", "keep_firing_for"}, rule
        assert rule["labels"]["severity"] in ("page", "ticket"), rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]
        assert re.fullmatch(r"\d+[smh]", rule.get("for", "0s")), rule["alert"]
        expr = rule["expr"]
        assert expr.count("(") == expr.count(")") and expr.count("[") == expr.count("]"), rule["alert"]
        # Every series the rule reads: label values, durations and PromQL words left out.
        unquoted = re.sub(r'"[^"]*"|\[[^\]]*\]|\{[^}]*\}|\b(?:by|without|on|ignoring)\s*\([^)]*\)', " ", expr)
        words = set(re.findall(r"\b[a-z_][a-z0-9_]*\b", unquoted)) - PROMQL_FUNCTIONS
        series = {word for word in words if word.startswith("moderation_")} | (words & SCRAPE_SERIES)
        assert series, f"{rule['alert']} reads no series"
        assert words <= series, f"{rule['alert']}: unknown words {words - series}"
        assert series - SCRAPE_SERIES <= exported, f"{rule['alert']}: not exported {series - exported}"


def test_alert_rules_pass_promtool_and_their_unit_tests() -> None:
    """`promtool` checks the rules' PromQL and runs deploy/prometheus/alerts.test.yml (a stall pages, one
    instance down is a ticket, a large backlog is a ticket); skipped where Prometheus is not installed."""
    # `make test` puts it into the venv (`make promtool`); an installed Prometheus has it on PATH.
    beside = Path(sys.executable).with_name("promtool")
    promtool = str(beside) if beside.exists() else shutil.which("promtool")
    if promtool is None:
        pytest.skip(
            "NOTICE: promtool not found (Debian package prometheus); alert rules not run by Prometheus"
        )
    for args in (["check", "rules", "alerts.yml"], ["test", "rules", "alerts.test.yml"]):
        run = subprocess.run([promtool, *args], cwd=ALERTS.parent, capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stdout + run.stderr
        assert "SUCCESS" in run.stdout + run.stderr


def test_compose_file_wires_init_api_and_workers_without_secrets() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert {"redis", "postgres", "init", "api", "worker"} <= set(services)
    for name in ("api", "worker"):
        depends = services[name]["depends_on"]
        assert depends["init"]["condition"] == "service_completed_successfully"
        assert depends["redis"]["condition"] == depends["postgres"]["condition"] == "service_healthy"
        assert services[name]["volumes"] == ["moderation-home:/var/lib/moderation"]
    assert services["api"]["command"][:2] == ["moderation", "serve"]
    assert services["worker"]["command"] == ["moderation", "worker"]
    for name in ("redis", "postgres", "api", "worker"):
        assert "test" in services.get(name, {}).get("healthcheck", {}) or name == "api", name
    env = services["api"]["environment"]
    # Secrets are taken from the operator's environment, never written into the file.
    assert env["SECRET_KEY"].startswith("${SECRET_KEY:?")
    assert "${POSTGRES_PASSWORD:?" in env["DATABASE_URL"]
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "USER moderation" in dockerfile and "HEALTHCHECK" in dockerfile and "/healthz" in dockerfile
    assert not re.search(r"(?m)^\s*(ENV|ARG)\s+.*(SECRET_KEY|PASSWORD|DATABASE_URL)", dockerfile)


def _prepared_after_repeats(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            for _ in range(8):  # psycopg prepares a query on the server after its 5th run
                connection.execute(text("SELECT count(*) FROM comments WHERE status = :s"), {"s": "held"})
            return int(connection.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_prepare_threshold_none_in_the_url_turns_server_side_prepared_statements_off(
    database: Database,
) -> None:
    """What a PgBouncer in transaction mode without prepared-statement support needs (docs/deployment.md)."""
    assert _prepared_after_repeats(database.url) >= 1
    assert _prepared_after_repeats(f"{database.url}&prepare_threshold=none") == 0
    assert _prepared_after_repeats(f"{database.url}&prepare_threshold=2") >= 1
    # A value that is neither a number nor `none` stops the start (ValueError naming the value).
    with pytest.raises(ValueError):
        make_engine(f"{database.url}&prepare_threshold=sometimes")


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_lookups_by_site_and_external_id_or_author_search_the_two_column_indexes(database: Database) -> None:
    """Accepting a comment looks its external id up, and deciding one its author's history. SQLite read
    `(site_id, x) IN (...)` through the site column only and scanned every comment of the site, so the
    time to accept one comment grew with the table (60 % of the accept time at 20,000 comments)."""
    for second, pairs in (
        (Comment.external_id, [(1, "a"), (1, "b"), (2, "c")]),
        (Comment.author_id, [(1, "leser-1")]),
    ):
        statement = select(Comment.id).where(pairs_in(Comment.site_id, second, pairs))
        compiled = statement.compile(dialect=database.engine.dialect, compile_kwargs={"literal_binds": True})
        with database.engine.connect() as connection:
            plan = " | ".join(
                str(row[-1]) for row in connection.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
            )
        assert "SCAN comments" not in plan, plan
        assert f"(site_id=? AND {second.key}=?)" in plan, plan
    with pytest.raises(ValueError):
        pairs_in(Comment.site_id, Comment.author_id, [])


def _backend_pid(engine: Any) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(database: Database, pid: int) -> None:
    with database.engine.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        connection.commit()
    time.sleep(0.2)


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_pooled_connections_are_pinged_only_after_sitting_idle(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection the server closed while it sat idle in the pool is replaced before use; one used a
    moment ago is handed out without a ping (a round trip per request saved), so a connection that died
    within that moment costs one error, and the next checkout gets a new connection."""
    from moderation.store import db

    engine = make_engine(database.url)
    try:
        monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 0.0)  # every pooled connection counts as idle
        first = _backend_pid(engine)
        _terminate(database, first)
        second = _backend_pid(engine)  # pinged, found closed, replaced: no error
        assert second != first

        monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 3600.0)  # used a moment ago: not pinged
        _terminate(database, second)
        with pytest.raises(OperationalError), engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        third = _backend_pid(engine)  # the pool dropped the dead connection
        assert third not in (first, second)
    finally:
        engine.dispose()


def _http(url: str, body: dict[str, Any] | None = None, key: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None)
    if body is not None:
        request.add_header("Content-Type", "application/json")
    if key is not None:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_metrics_add_up_the_counters_of_every_gunicorn_process(
    database: Database, redis_conn: redis.Redis, site: NewSite, tmp_path: Path
) -> None:
    """`moderation serve --workers 3`: whichever process answers a scrape reports the refusals of all."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update(
        DATABASE_URL=database.url,
        REDIS_URL=TEST_REDIS_URL,
        SECRET_KEY="test-secret-key",
        MODERATION_HOME=str(tmp_path / "home"),
        MODERATION_RATE_LIMIT_AUTHOR="1",
    )
    command = [sys.executable, "-m", "moderation", "serve", "--port", str(port), "--workers", "3"]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:

        def answers() -> bool:
            try:
                return _http(f"{base}/healthz")[0] == 200
            except OSError:
                return False

        _wait_until(answers, 60, "the server to answer")
        body = {"text": "Guter Artikel", "article_id": "a", "author": {"id": "one-author"}}
        # Sent side by side, so several processes take them; the author's budget is one a minute.
        with ThreadPoolExecutor(8) as pool:
            statuses = sorted(
                pool.map(lambda _: _http(f"{base}/api/v1/comments", body, site.secret_key)[0], range(9))
            )
        assert statuses == [202] + [429] * 8
        for _ in range(6):
            _, text_body = _http(f"{base}/metrics")
            refused = {
                sample.labels.get("budget"): sample.value
                for family in text_string_to_metric_families(text_body)
                for sample in family.samples
                if sample.name == "moderation_rate_limited_total"
            }
            assert refused == {"author": 8.0}
    finally:
        server.terminate()
        server.wait(timeout=30)
