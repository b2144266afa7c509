"""The whole path on real Redis, RQ and SQL: a comment in, a decision out, exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient
from rq import Queue, SimpleWorker
from sqlalchemy import func, select

from classifiers.registry import Registry
from moderation.config import Config
from moderation.resources import Resources
from moderation.store.accounts import NewSite
from moderation.store.model_versions import register_and_activate
from moderation.store.queue import PENDING_KEY, QUEUE_NAME, PendingQueue
from moderation.store.tables import AuditEvent, Comment, Decision, Scores
from tests.conftest import TEST_REDIS_URL, Database
from workers import jobs, runtime
from workers.pipeline import decide_batch
from workers.reconcile import reconcile

INSULT = "Du bist ein dummer Vollidiot"
CIVIL = "Ich finde die Analyse zu Kasachstan sehr aufschlussreich."


@pytest.fixture
def context(model_home: Config, database: Database, redis_conn: redis.Redis) -> Any:
    ctx = runtime.WorkerContext(Resources(model_home, database.engine, database.sessions, redis_conn))
    runtime.install(ctx)
    # Each test is a freshly started worker: no batch rate remembered from another test's drains (a slow
    # batch there would size this test's first batch).
    jobs._last_rate.clear()
    yield ctx
    runtime.install(None)


def post(client: FlaskClient, site: NewSite, text: str, **extra: Any) -> Any:
    data = {
        "text": text,
        "article_id": "kasachstan-russland",
        "author": {"id": extra.pop("author", "leser-1")},
        **extra,
    }
    return client.post("/api/v1/comments", json=data, headers={"Authorization": f"Bearer {site.secret_key}"})


def get(client: FlaskClient, site: NewSite, cid: str) -> dict[str, Any]:
    return client.get(
        f"/api/v1/comments/{cid}", headers={"Authorization": f"Bearer {site.secret_key}"}
    ).get_json()


def work(redis_conn: redis.Redis) -> None:
    SimpleWorker([Queue(QUEUE_NAME, connection=redis_conn)], connection=redis_conn).work(burst=True)


def decisions_of(database: Database, cid: str) -> tuple[int, int]:
    with database.sessions() as session:
        decisions = session.scalar(
            select(func.count()).select_from(Decision).where(Decision.comment_id == cid)
        )
        audits = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.comment_id == cid, AuditEvent.event == "comment.decided")
        )
    return int(decisions or 0), int(audits or 0)


def test_worker_decides_insult_and_civil_comment(
    client: FlaskClient, site: NewSite, context: Any, database: Database, redis_conn: redis.Redis
) -> None:
    insult = post(client, site, INSULT).get_json()["id"]
    civil = post(client, site, CIVIL).get_json()["id"]
    work(redis_conn)
    got_insult, got_civil = get(client, site, insult), get(client, site, civil)
    assert got_insult["status"] in ("held", "rejected")
    assert got_civil["status"] == "approved"
    version = context.scorer().version
    for got in (got_insult, got_civil):
        decision = got["decision"]
        assert (
            decision["source"] == "model" and decision["model_version"] == version and decision["decided_at"]
        )
        assert decision["reasons"] and all(r["code"] and r["detail"] for r in decision["reasons"])
        assert 0 <= got["scores"]["toxicity"] <= 1 and 0 <= got["scores"]["propaganda"] <= 1
        assert got["lang"] == "de"
    assert got_insult["decision"]["reasons"][0]["code"].startswith("toxicity_")
    assert got_insult["scores"]["toxicity"] > got_civil["scores"]["toxicity"]
    assert any(
        INSULT[s["start"] : s["end"]].lower().startswith(("vollidiot", "dumm")) for s in got_insult["spans"]
    )
    for cid in (insult, civil):
        assert decisions_of(database, cid) == (1, 1)
    assert redis_conn.llen(PENDING_KEY) == 0
    assert jobs._last_rate == []  # two comments are mostly per-batch overhead: no rate taken from them
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'moderation_decisions{action="approve",source="model"} 1.0' in metrics
    assert 'moderation_comments{status="approved"} 1.0' in metrics


def test_a_threat_after_civil_sentences_is_held_for_the_threat(
    client: FlaskClient, site: NewSite, context: Any, redis_conn: redis.Redis
) -> None:
    """A comment is also read sentence by sentence for threats: civil sentences before a threat do not
    hide it (written for this test, in no training file)."""
    opening = (
        "Der Artikel erklärt die Verträge über die Pipeline ausführlich. Die Grafik fand ich hilfreich. "
    )
    threat = "Herr Redakteur, wir finden Sie und dann werden Sie bluten."
    cid = post(client, site, opening + threat).get_json()["id"]
    work(redis_conn)
    got = get(client, site, cid)
    assert got["status"] == "held"
    assert "threat_hold" in [r["code"] for r in got["decision"]["reasons"]]
    assert got["scores"]["attributes"]["threat"] >= 0.5
    start = len(opening)
    assert any(s["attribute"] == "threat" and s["start"] >= start for s in got["spans"])


def test_one_job_scores_many_comments_in_one_batch(
    client: FlaskClient, site: NewSite, context: Any, database: Database, redis_conn: redis.Redis
) -> None:
    items = [
        {"text": f"Kommentar Nummer {i} zur Lage in Kasachstan", "article_id": "a", "author": {"id": f"r{i}"}}
        for i in range(40)
    ]
    client.post(
        "/api/v1/comments:batch",
        json={"comments": items},
        headers={"Authorization": f"Bearer {site.secret_key}"},
    )
    assert redis_conn.llen(f"rq:queue:{QUEUE_NAME}") == 1
    calls: list[int] = []
    scorer = context.scorer()
    original = scorer.score

    def counting(texts: Any) -> Any:
        calls.append(len(texts))
        return original(texts)

    scorer.score = counting  # observe the real scorer; it still does the work
    work(redis_conn)
    assert calls == [40]
    # The drain remembers this batch's rate for the next one's size (a batch of at least 16 comments).
    assert len(jobs._last_rate) == 1 and jobs._last_rate[0] > 0
    with database.sessions() as session:
        assert (
            session.scalar(select(func.count()).select_from(Comment).where(Comment.status == "pending")) == 0
        )
        assert session.scalar(select(func.count()).select_from(Scores)) == 40


def test_links_from_first_time_authors_are_held(
    client: FlaskClient, site: NewSite, context: Any, redis_conn: redis.Redis
) -> None:
    first = post(client, site, "Mehr dazu hier: https://example.org/kasachstan", author="neu").get_json()[
        "id"
    ]
    work(redis_conn)
    got = get(client, site, first)
    assert got["status"] == "held" and got["decision"]["source"] == "rule"
    assert "link_from_new_author" in [r["code"] for r in got["decision"]["reasons"]]


def test_without_model_the_fallback_holds(
    client: FlaskClient, site: NewSite, config: Config, database: Database, redis_conn: redis.Redis
) -> None:
    resources = Resources(config, database.engine, database.sessions, redis_conn)
    resources.registry = Registry(config.home / "no-models")
    ctx = runtime.WorkerContext(resources)
    runtime.install(ctx)
    try:
        cid = post(client, site, CIVIL).get_json()["id"]
        work(redis_conn)
    finally:
        runtime.install(None)
    got = get(client, site, cid)
    assert got["status"] == "held"
    assert got["decision"]["source"] == "rule" and got["decision"]["model_version"] is None
    assert [r["code"] for r in got["decision"]["reasons"]] == ["scoring_failed"]


def test_flushed_redis_loses_nothing(
    client: FlaskClient, site: NewSite, context: Any, database: Database, redis_conn: redis.Redis
) -> None:
    ids = [post(client, site, f"Kommentar {i}").get_json()["id"] for i in range(5)]
    redis_conn.flushdb()
    work(redis_conn)
    assert all(get(client, site, cid)["status"] == "pending" for cid in ids)
    assert reconcile(database.sessions, PendingQueue(redis_conn), older_than_s=0) == 5
    work(redis_conn)
    for cid in ids:
        assert get(client, site, cid)["status"] != "pending"
        assert decisions_of(database, cid) == (1, 1)
    # A second pass finds nothing left to do.
    assert reconcile(database.sessions, PendingQueue(redis_conn), older_than_s=0) == 0


def test_worker_killed_mid_batch_loses_nothing(
    client: FlaskClient, site: NewSite, context: Any, database: Database, redis_conn: redis.Redis
) -> None:
    ids = [post(client, site, f"Kommentar {i}").get_json()["id"] for i in range(6)]
    # A real process takes a batch off the queue and dies before deciding it.
    script = (
        "import os, signal, redis\n"
        "from moderation.store.queue import PendingQueue\n"
        f"q = PendingQueue(redis.Redis.from_url({TEST_REDIS_URL!r}))\n"
        "q.drain_started()\n"
        "assert len(q.pop(4)) == 4\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    dead = subprocess.run([sys.executable, "-c", script], timeout=60)
    assert dead.returncode == -signal.SIGKILL
    assert redis_conn.llen(PENDING_KEY) == 2
    reconcile(database.sessions, PendingQueue(redis_conn), older_than_s=0)
    work(redis_conn)
    for cid in ids:
        assert get(client, site, cid)["status"] != "pending"
        assert decisions_of(database, cid) == (1, 1)


def test_racing_workers_decide_exactly_once(
    client: FlaskClient, site: NewSite, context: Any, database: Database
) -> None:
    ids = [post(client, site, f"Kommentar {i}").get_json()["id"] for i in range(10)]
    scorer = context.scorer()
    results: list[list[str]] = []
    barrier = threading.Barrier(3)

    def run() -> None:
        barrier.wait()
        results.append([event.comment_id for event in decide_batch(database.sessions, scorer, ids)])

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(sum(results, [])) == sorted(ids)
    for cid in ids:
        assert decisions_of(database, cid) == (1, 1)


def test_wait_answers_200_with_a_real_worker_process(
    client: FlaskClient, site: NewSite, model_home: Config, database: Database, redis_conn: redis.Redis
) -> None:
    env = dict(
        os.environ,
        DATABASE_URL=database.url,
        REDIS_URL=TEST_REDIS_URL,
        MODERATION_HOME=str(model_home.home),
        SECRET_KEY="test-secret-key",
    )
    proc = subprocess.Popen([sys.executable, "-m", "moderation", "worker"], env=env)
    try:
        post(client, site, "Aufwärmen")  # the first job waits for the model to load
        deadline = time.monotonic() + 60
        while redis_conn.llen(PENDING_KEY) and time.monotonic() < deadline:
            time.sleep(0.2)
        response = post(client, site, INSULT, external_id="w-1")
        url = "/api/v1/comments?wait=3000"
        data = {"text": CIVIL, "article_id": "a", "author": {"id": "r"}}
        waited = client.post(url, json=data, headers={"Authorization": f"Bearer {site.secret_key}"})
        assert waited.status_code == 200, waited.get_json()
        assert waited.get_json()["status"] == "approved"
        assert waited.get_json()["decision"]["model_version"]
        assert response.status_code == 202
        again = post(client, site, INSULT, external_id="w-1")
        assert again.status_code == 200 and again.get_json()["status"] in ("held", "rejected")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_worker_switches_to_a_newly_promoted_model(
    config: Config, database: Database, redis_conn: redis.Redis, trained_model_dir: Path, monkeypatch: Any
) -> None:
    import json
    import shutil

    from moderation.store import model_versions
    from moderation.store.db import transaction

    source = Registry(trained_model_dir)
    original = source.latest()
    assert original is not None
    root = config.home / "models"
    shutil.copytree(source.path(original), root / "2000.01.01-000000")
    shutil.copytree(source.path(original), root / "2000.01.02-000000")
    card_path = root / "2000.01.02-000000" / "model_card.json"
    card_path.write_text(json.dumps({**json.loads(card_path.read_text()), "version": "2000.01.02-000000"}))
    card_path = root / "2000.01.01-000000" / "model_card.json"
    card_path.write_text(json.dumps({**json.loads(card_path.read_text()), "version": "2000.01.01-000000"}))
    registry = Registry(root)
    register_and_activate(database.sessions, registry, "2000.01.01-000000", actor="test")
    monkeypatch.setattr(runtime, "MODEL_CHECK_INTERVAL_S", 0.0)
    ctx = runtime.WorkerContext(Resources(config, database.engine, database.sessions, redis_conn))
    first = ctx.scorer()
    assert first is not None and first.version == "2000.01.01-000000"
    register_and_activate(database.sessions, registry, "2000.01.02-000000", actor="test")
    second = ctx.scorer()
    assert second is not None and second.version == "2000.01.02-000000"
    with database.sessions() as session:
        assert model_versions.previous_version(session) == "2000.01.01-000000"
    with transaction(database.sessions) as session:
        model_versions.activate(session, "2000.01.01-000000", actor="test:rollback")
    rolled = ctx.scorer()
    assert rolled is not None and rolled.version == "2000.01.01-000000"


def test_same_text_from_several_authors_is_held(
    client: FlaskClient, site: NewSite, other_site: NewSite, context: Any, redis_conn: redis.Redis
) -> None:
    base = "Kasachstan war nie ein echter Staat, der Norden gehört historisch zu Russland und das weiß jeder"
    variants = [base + ".", "@leser3 " + base.upper() + "!!!", base.replace("Russland", "Russland ") + " 🇷🇺"]
    ids = [post(client, site, text, author=f"konto-{i}").get_json()["id"] for i, text in enumerate(variants)]
    own = post(client, site, base + " ...", author="konto-0").get_json()["id"]  # the first author again
    elsewhere = post(client, other_site, base, author="konto-9").get_json()["id"]
    short = [
        post(client, site, "Danke für den Artikel!", author=f"kurz-{i}").get_json()["id"] for i in range(4)
    ]
    work(redis_conn)
    codes = {
        cid: [r["code"] for r in get(client, site, cid)["decision"]["reasons"]] for cid in ids + [own] + short
    }
    assert "coordinated_posting" not in codes[ids[0]] and "coordinated_posting" not in codes[ids[1]]
    assert "coordinated_posting" in codes[ids[2]]
    third = get(client, site, ids[2])["decision"]["reasons"]
    assert any(r["detail"].endswith("by 2 other authors") for r in third)
    assert "coordinated_posting" in codes[own]  # konto-1 and konto-2 posted it too
    assert all("coordinated_posting" not in codes[cid] for cid in short)
    # Sites do not see each other's comments, so the other site's copy is its first.
    other = get(client, other_site, elsewhere)["decision"]["reasons"]
    assert "coordinated_posting" not in [r["code"] for r in other]
