"""Privacy: per-author export and erasure (API and CLI), retention (by hand and as an RQ job), the access
log without client addresses, on SQLite and PostgreSQL with a real Redis."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import redis
from flask.testing import FlaskClient
from rq import Queue, SimpleWorker
from rq.registry import ScheduledJobRegistry
from sqlalchemy import func, select, text, update

from classifiers.encoder import DIM, E5_DIM, E5_NAME, ENCODER_NAME, EmbeddingCache, encoder_input, text_key
from classifiers.names import mask_names
from moderation.config import Config
from moderation.domain import reasons
from moderation.domain.attributes import NAMES, ScoreSet
from moderation.domain.enums import Action, Role, Source
from moderation.domain.facts import CommentFacts
from moderation.domain.labels import LabelIn
from moderation.domain.policy import Verdict
from moderation.domain.priority import thresholds_of
from moderation.domain.timestamps import utcnow
from moderation.resources import Resources
from moderation.store.accounts import NewSite, create_user
from moderation.store.authors import ERASED_EVENT, RETENTION_EVENT
from moderation.store.db import make_engine, migrate, transaction
from moderation.store.decisions import ModelDecision, apply_decision, claim_pending, record_model_decisions
from moderation.store.labels import import_labels
from moderation.store.tables import AuditEvent, Comment, Decision, Scores, Site, SiteLabel, User
from moderation.web.accesslog import FORMAT, FORMAT_WITH_IPS, PrivateAccessLogger, access_logger
from moderation.web.openapi import document
from tests.browser import seed
from tests.conftest import TEST_REDIS_URL, Database
from tests.test_cli import run
from workers import runtime
from workers.retention import QUEUE, RETENTION_JOB, RETENTION_SCHEDULED_KEY, schedule_retention

AUTHOR = "leser-42"
MARK = "Zebrafink"  # in every text of the author, and in one of another author
LINK = "https://erika.example/blog"
TEXTS = [
    f"Der {MARK} singt heute besonders schön, siehe {LINK}",
    f"Ich finde den {MARK}-Artikel über Putin schlecht recherchiert.",
    f"Mein dritter {MARK}-Kommentar wartet auf einen Moderator.",
    f"Vierter {MARK}-Kommentar, noch nicht entschieden.",
]
OTHER_TEXT = f"Auch ich mag den {MARK}, sagt ein anderer Leser."


def auth(site: NewSite) -> dict[str, str]:
    return {"Authorization": f"Bearer {site.secret_key}"}


def post(
    client: FlaskClient, site: NewSite, body: str, author: str, external_id: str, *, personal: bool = True
) -> str:
    """Posts a comment through the API; `personal`: with the author's name, address and e-mail."""
    comment: dict[str, Any] = {
        "text": body,
        "article_id": "kasachstan-russland",
        "author": {"id": author},
        "external_id": external_id,
    }
    if personal:
        comment["author"].update(name="Erika Muster", ip="203.0.113.7")
        comment["metadata"] = {"email": "erika@example.org"}
    response = client.post("/api/v1/comments", json=comment, headers=auth(site))
    assert response.status_code == 202, response.get_json()
    return str(response.get_json()["id"])


def decide(database: Database, comment_id: str, action: Action, found: list[reasons.Reason]) -> None:
    """The model's decision, written by the service's decision writer, with scores and a span."""
    now = utcnow()
    with transaction(database.sessions) as session:
        comment = session.get(Comment, comment_id)
        assert comment is not None
        site = session.get(Site, comment.site_id)
        assert site is not None and claim_pending(session, [comment_id], now) == {comment_id}
        values = dict.fromkeys(NAMES, 0.1)
        spans = [{"start": 4, "end": 13, "attribute": "toxicity", "weight": 0.4}]
        record_model_decisions(
            session,
            [
                ModelDecision(
                    comment_id=comment_id,
                    site_id=comment.site_id,
                    verdict=Verdict(action, Source.RULE if found else Source.MODEL, tuple(found)),
                    facts=CommentFacts(comment.text, author_has_history=False, lang="de"),
                    scores=ScoreSet.rounded(values, {"loaded_language": 0.2}, [], spans),
                    lang="de",
                    thresholds=thresholds_of(site.policy),
                    scoring_profile="fast",
                )
            ],
            model_version="test-model",
            now=now,
        )


@dataclass
class World:
    ids: list[str]  # the author's comments: approved (with a link), rejected by a moderator, held, pending
    other_author: str
    other_site: str


def populate(
    client: FlaskClient,
    database: Database,
    site: NewSite,
    other_site: NewSite,
    redis_conn: redis.Redis,
    embeddings: Path,
) -> World:
    ids = [post(client, site, body, AUTHOR, f"erika-{i}") for i, body in enumerate(TEXTS)]
    other_author = post(client, site, OTHER_TEXT, "leser-7", "other-1", personal=False)
    other_site_id = post(client, other_site, TEXTS[1], AUTHOR, "site2-1", personal=False)
    decide(database, ids[0], Action.HOLD, [reasons.link_from_new_author(LINK)])
    decide(database, ids[1], Action.HOLD, [])
    decide(database, ids[2], Action.HOLD, [])
    decide(database, other_author, Action.APPROVE, [])
    decide(database, other_site_id, Action.APPROVE, [])
    with transaction(database.sessions) as session:
        user = create_user(session, "mod@example.org", "moderator-password-1", Role.MODERATOR)
        apply_decision(session, user, [ids[0]], Action.APPROVE)
        apply_decision(
            session, user, [ids[1]], Action.REJECT, "insult", note=f"zitiert: {MARK}-Artikel schlecht"
        )
        apply_decision(session, user, [other_author], Action.REJECT, "spam")
        import_labels(
            session,
            site.site.id,
            [
                LabelIn(1, f"Archiv: {MARK} von früher", "reject", "insult", "old-1", None, AUTHOR),
                LabelIn(2, "Archiv eines anderen", "approve", None, "old-2", None, "leser-9"),
            ],
        )
    # What the recent-comments index and the embedding cache hold of these texts.
    for cid in [*ids, other_author]:
        redis_conn.set(f"moderation:dupsig:{cid}", b"x")
    # The scorer caches what each encoder read: the text with names masked (USE as it was, too).
    cache = EmbeddingCache(embeddings / f"{ENCODER_NAME}.sqlite")
    cache.put({text_key(encoder_input(t)): np.ones(DIM, dtype=np.float32) for t in [*TEXTS, OTHER_TEXT]})
    e5 = EmbeddingCache(embeddings / f"{E5_NAME}.sqlite", E5_DIM)
    e5.put(
        {text_key(encoder_input(mask_names(t))): np.ones(E5_DIM, np.float32) for t in [*TEXTS, OTHER_TEXT]}
    )
    return World(ids, other_author, other_site_id)


def search_hits(database: Database, needle: str) -> int:
    """What the dashboard's text search finds: the FTS5 trigram index (SQLite), ILIKE (PostgreSQL)."""
    with database.engine.connect() as connection:
        if database.kind == "sqlite":
            return int(
                connection.execute(
                    text("SELECT count(*) FROM comments_search WHERE comments_search MATCH :q"),
                    {"q": f'"{needle}"'},
                ).scalar_one()
            )
        return int(
            connection.execute(
                text("SELECT count(*) FROM comments WHERE text ILIKE :q"), {"q": f"%{needle}%"}
            ).scalar_one()
        )


def stored_mentions(database: Database, needle: str) -> dict[str, int]:
    """Rows of every table that hold `needle` anywhere in them."""
    tables = ["comments", "scores", "decisions", "audit_events", "site_labels"]
    out = {}
    with database.engine.connect() as connection:
        for table in tables:
            rows = connection.execute(text(f"SELECT * FROM {table}")).all()
            out[table] = sum(1 for row in rows if needle in json.dumps([str(v) for v in row]))
    return out


def cached_embeddings(embeddings: Path, texts: list[str]) -> int:
    """Embeddings of `texts` in the USE cache (as written) and the e5 cache (names masked)."""
    use = EmbeddingCache(embeddings / f"{ENCODER_NAME}.sqlite")
    e5 = EmbeddingCache(embeddings / f"{E5_NAME}.sqlite", E5_DIM)
    return len(use.get([text_key(encoder_input(t)) for t in texts])) + len(
        e5.get([text_key(encoder_input(mask_names(t))) for t in texts])
    )


# -- export -------------------------------------------------------------------------------------------


def test_export_holds_the_authors_comments_decisions_and_labels(
    client: FlaskClient,
    config: Config,
    database: Database,
    site: NewSite,
    other_site: NewSite,
    redis_conn: redis.Redis,
) -> None:
    world = populate(client, database, site, other_site, redis_conn, config.embeddings_dir)
    response = client.get(f"/api/v1/authors/{AUTHOR}", headers=auth(site))
    assert response.status_code == 200, response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    exported = response.get_json()
    assert (exported["site"], exported["author_id"]) == ("testsite", AUTHOR)
    comments = exported["comments"]
    assert [c["id"] for c in comments] == world.ids  # this site only, oldest first
    assert [c["text"] for c in comments] == TEXTS
    assert [c["status"] for c in comments] == ["approved", "rejected", "held", "pending"]
    first = comments[0]
    assert first["author"] == {"id": AUTHOR, "name": "Erika Muster"}
    assert first["metadata"] == {"email": "erika@example.org"} and len(first["ip_hash"]) == 64
    assert first["scores"]["toxicity"] == 0.1 and first["spans"][0]["start"] == 4
    assert [d["source"] for d in first["decisions"]] == ["rule", "moderator"]
    assert first["decisions"][0]["reasons"][0]["params"]["link"] == LINK
    assert comments[1]["decisions"][-1]["note"] == f"zitiert: {MARK}-Artikel schlecht"
    assert comments[3]["decisions"] == [] and comments[3]["scores"] is None
    labels = sorted((label["source"], label["text"]) for label in exported["labels"])
    assert labels == [
        ("imported", f"Archiv: {MARK} von früher"),
        ("moderator", TEXTS[0]),
        ("moderator", TEXTS[1]),
    ]

    # The CLI exports the same (apart from the time of the export).
    result = run(config, database, "authors", "export", "testsite", AUTHOR)
    assert result.exit_code == 0, result.output
    from_cli = json.loads(result.output)
    assert {**from_cli, "exported_at": None} == {**exported, "exported_at": None}


# -- erasure ------------------------------------------------------------------------------------------


def test_erasure_removes_the_authors_texts_everywhere(
    client: FlaskClient,
    config: Config,
    database: Database,
    site: NewSite,
    other_site: NewSite,
    redis_conn: redis.Redis,
) -> None:
    world = populate(client, database, site, other_site, redis_conn, config.embeddings_dir)
    assert search_hits(database, MARK) == 6  # 4 of the author, 1 of another author, 1 on the other site
    before = stored_mentions(database, MARK)
    assert before["comments"] == 6 and before["site_labels"] == 4 and before["decisions"] == 1
    assert before["audit_events"] == 1  # the moderator's note
    assert stored_mentions(database, LINK)["audit_events"] == 1  # the rule's reason quotes the link
    assert stored_mentions(database, "erika-1")["audit_events"] == 1  # comment.received
    assert cached_embeddings(config.embeddings_dir, TEXTS) == 8

    response = client.delete(f"/api/v1/authors/{AUTHOR}", headers=auth(site))
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {
        "erased": True,
        "comments_anonymised": 2,  # approved and rejected: kept for the statistics, without content
        "comments_deleted": 2,  # held and pending
        "labels_deleted": 3,  # the moderator's two labels, the imported one
    }

    # Search: only the other author's comment and the other site's are found.
    assert search_hits(database, MARK) == 2
    assert search_hits(database, "schlecht recherchiert") == 1  # the same text on the other site stays
    after = stored_mentions(database, MARK)
    assert after == {"comments": 2, "scores": 0, "decisions": 0, "audit_events": 0, "site_labels": 1}
    for needle in (LINK, "Erika", "erika@example.org", "erika-1", "erika-3"):
        assert sum(stored_mentions(database, needle).values()) == 0, needle
    with database.sessions() as session:
        remaining = {c.id: c for c in session.scalars(select(Comment).where(Comment.site_id == site.site.id))}
        assert set(remaining) == {world.ids[0], world.ids[1], world.other_author}
        for cid, status in ((world.ids[0], "approved"), (world.ids[1], "rejected")):
            kept = remaining[cid]
            assert (kept.status, kept.text, kept.author_id, kept.author_name) == (status, "", "", None)
            assert (kept.author_ip_hash, kept.external_id, kept.extra) == (None, None, {})
            scores = session.get(Scores, cid)
            assert scores is not None and scores.spans == [] and scores.toxicity == 0.1
            decisions = list(session.scalars(select(Decision).where(Decision.comment_id == cid)))
            assert [d.action for d in decisions] == (
                ["hold", "approve"] if status == "approved" else ["hold", "reject"]
            )
            assert all(d.note is None for d in decisions)
        link_reason = session.scalars(select(Decision).where(Decision.comment_id == world.ids[0])).first()
        assert link_reason is not None and link_reason.reasons[0]["params"]["link"] == "[removed]"
        # Nothing of the author in training labels, so no future site model learns from them.
        assert session.scalar(select(func.count()).where(SiteLabel.author_id == AUTHOR)) == 0
        assert [label.text for label in session.scalars(select(SiteLabel).order_by(SiteLabel.id))] == [
            OTHER_TEXT,
            "Archiv eines anderen",
        ]
        # The other site's comment of the same author id is untouched.
        untouched = session.get(Comment, world.other_site)
        assert untouched is not None and untouched.author_id == AUTHOR and untouched.text == TEXTS[1]
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.event == ERASED_EVENT)))
    assert len(events) == 1
    event = events[0]
    assert (event.actor, event.site_id, event.comment_id) == ("site:testsite", site.site.id, None)
    assert set(event.data) == {"author_hash", "comments_anonymised", "comments_deleted", "labels_deleted"}
    assert AUTHOR not in json.dumps(event.data) and MARK not in json.dumps(event.data)
    # The caches: recent-comments signatures and cached embeddings of the author's texts are gone.
    assert [redis_conn.exists(f"moderation:dupsig:{cid}") for cid in world.ids] == [0, 0, 0, 0]
    assert redis_conn.exists(f"moderation:dupsig:{world.other_author}") == 1
    assert cached_embeddings(config.embeddings_dir, TEXTS) == 0
    assert cached_embeddings(config.embeddings_dir, [OTHER_TEXT]) == 2

    # Idempotent: again answers 200 with nothing removed and when it was done; no second audit entry.
    again = client.delete(f"/api/v1/authors/{AUTHOR}", headers=auth(site))
    assert again.status_code == 200
    body = again.get_json()
    assert (body["comments_anonymised"], body["comments_deleted"], body["labels_deleted"]) == (0, 0, 0)
    assert body["already_erased_at"]
    with database.sessions() as session:
        count = session.scalar(select(func.count()).where(AuditEvent.event == ERASED_EVENT))
    assert count == 1
    assert client.get(f"/api/v1/authors/{AUTHOR}", headers=auth(site)).status_code == 404
    # The other site still knows the author.
    assert client.get(f"/api/v1/authors/{AUTHOR}", headers=auth(other_site)).status_code == 200


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"]["code"] == code and body["error"]["message"]


@pytest.mark.parametrize("method", ["get", "delete"])
def test_author_endpoints_need_the_sites_secret_key(
    client: FlaskClient, database: Database, site: NewSite, other_site: NewSite, method: str
) -> None:
    post(client, site, "Ein Kommentar.", AUTHOR, "e1")
    call = getattr(client, method)
    url = f"/api/v1/authors/{AUTHOR}"
    assert_error(call(url), 401, "unauthorized")
    assert_error(call(url, headers={"Authorization": "Bearer mk_sec_wrong"}), 401, "unauthorized")
    assert_error(call(url, headers={"Authorization": "Basic abc"}), 401, "unauthorized")
    publishable = {"Authorization": f"Bearer {site.publishable_key}", "Origin": "https://example.org"}
    with transaction(database.sessions) as session:
        session.execute(update(Site).values(allowed_origins=["https://example.org"]))
    assert_error(call(url, headers=publishable), 403, "forbidden")
    # Another site's key does not reach this site's authors; unknown authors are 404 as well.
    assert_error(call(url, headers=auth(other_site)), 404, "not_found")
    assert_error(call("/api/v1/authors/niemand", headers=auth(site)), 404, "not_found")
    assert_error(call("/api/v1/authors/" + "x" * 201, headers=auth(site)), 404, "not_found")
    nul = call("/api/v1/authors/a%00b", headers=auth(site))  # refused before or at the lookup, never a 500
    assert (nul.status_code, nul.get_json()["error"]["code"]) in {
        (400, "invalid_request"),
        (404, "not_found"),
    }
    with database.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Comment)) == 1
        assert session.scalar(select(func.count()).where(AuditEvent.event == ERASED_EVENT)) == 0


def test_author_ids_with_slashes_and_unicode(client: FlaskClient, database: Database, site: NewSite) -> None:
    author = "wp/user/Jürgen 7"
    post(client, site, "Ein Kommentar von Jürgen.", author, "j1")
    quoted = urllib.parse.quote(author, safe="")
    assert client.get(f"/api/v1/authors/{quoted}", headers=auth(site)).get_json()["author_id"] == author
    assert client.delete(f"/api/v1/authors/{quoted}", headers=auth(site)).get_json()["comments_deleted"] == 1


def test_cli_export_and_erase(client: FlaskClient, config: Config, database: Database, site: NewSite) -> None:
    cid = post(client, site, f"{MARK} im Terminal", AUTHOR, "t1")
    decide(database, cid, Action.APPROVE, [])
    unknown = run(config, database, "authors", "export", "testsite", "niemand")
    assert unknown.exit_code == 1 and "nothing is stored about author 'niemand'" in unknown.output
    no_site = run(config, database, "authors", "erase", "gibtsnicht", AUTHOR)
    assert no_site.exit_code == 1 and "no site named 'gibtsnicht'" in no_site.output
    erased = run(config, database, "authors", "erase", "testsite", AUTHOR)
    assert erased.exit_code == 0, erased.output
    assert "1 decided comments anonymised, 0 pending or held comments deleted" in erased.output
    again = run(config, database, "authors", "erase", "testsite", AUTHOR)
    assert again.exit_code == 0 and "was already erased at" in again.output
    never = run(config, database, "authors", "erase", "testsite", "niemand")
    assert never.exit_code == 1 and "no erasure is on record" in never.output
    assert search_hits(database, MARK) == 0
    with database.sessions() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.event == ERASED_EVENT)).one()
        assert event.actor == "cli" and event.data["comments_anonymised"] == 1


def test_openapi_documents_the_author_endpoints(client: FlaskClient) -> None:
    path = document()["paths"]["/api/v1/authors/{author_id}"]
    assert set(path) >= {"get", "delete"}
    assert {"200", "401", "403", "404"} <= set(path["delete"]["responses"])
    served = client.get("/api/openapi.json").get_json()
    assert "/api/v1/authors/{author_id}" in served["paths"]


# -- retention ----------------------------------------------------------------------------------------


def age(database: Database, comment_id: str, days: int) -> None:
    with transaction(database.sessions) as session:
        when = utcnow() - timedelta(days=days)
        session.execute(update(Comment).where(Comment.id == comment_id).values(created_at=when))
        session.execute(update(SiteLabel).where(SiteLabel.comment_id == comment_id).values(decided_at=when))


def test_retention_deletes_personal_data_of_old_comments_of_that_site_only(
    client: FlaskClient,
    config: Config,
    database: Database,
    site: NewSite,
    other_site: NewSite,
    redis_conn: redis.Redis,
) -> None:
    old_approved = post(client, site, f"Alt und {MARK}", "leser-1", "r1")
    old_held = post(client, site, f"Alt, wartet, {MARK}", "leser-2", "r2")
    recent = post(client, site, f"Neu und {MARK}", "leser-1", "r3")
    other_old = post(client, other_site, f"Alt auf der anderen Seite, {MARK}", "leser-1", "r1")
    for cid in (old_approved, recent, other_old):
        decide(database, cid, Action.APPROVE, [])
    decide(database, old_held, Action.HOLD, [])
    with transaction(database.sessions) as session:
        user = create_user(session, "mod@example.org", "moderator-password-1", Role.MODERATOR)
        apply_decision(session, user, [old_approved, recent], Action.APPROVE)
    for cid in (old_approved, old_held, other_old):
        age(database, cid, 40)

    # No retention period anywhere: nothing happens.
    nothing = run(config, database, "retention", "run")
    assert nothing.exit_code == 0 and "no site has a retention period" in nothing.output
    assert run(config, database, "retention", "run", "testsite").output.startswith(
        "testsite has no retention"
    )

    updated = run(config, database, "sites", "update", "testsite", "--retention-days", "30")
    assert updated.exit_code == 0 and "retention:       30 days" in updated.output
    result = run(config, database, "retention", "run")
    assert result.exit_code == 0, result.output
    assert (
        "testsite: kept 30 days; 1 comments anonymised, 1 deleted (pending or held), "
        "1 training labels deleted" in result.output
    )
    assert search_hits(database, MARK) == 2  # the recent one, and the other site's old one
    with database.sessions() as session:
        kept = session.get(Comment, old_approved)
        assert kept is not None and (kept.text, kept.author_id, kept.author_ip_hash) == ("", "", None)
        assert kept.status == "approved"
        assert session.get(Comment, old_held) is None
        fresh = session.get(Comment, recent)
        assert fresh is not None and fresh.text == f"Neu und {MARK}" and fresh.author_id == "leser-1"
        other = session.get(Comment, other_old)
        assert other is not None and other.author_id == "leser-1" and MARK in other.text
        labels = [label.comment_id for label in session.scalars(select(SiteLabel))]
        assert labels == [recent]
        event = session.scalars(select(AuditEvent).where(AuditEvent.event == RETENTION_EVENT)).one()
        assert event.data["retention_days"] == 30 and event.data["comments_anonymised"] == 1
        assert MARK not in json.dumps(event.data)
    # A second pass finds nothing more to do and records nothing.
    again = run(config, database, "retention", "run", "testsite")
    assert "0 comments anonymised, 0 deleted" in again.output
    with database.sessions() as session:
        assert session.scalar(select(func.count()).where(AuditEvent.event == RETENTION_EVENT)) == 1


def test_sites_update_retention_days(config: Config, database: Database, site: NewSite) -> None:
    assert "retention:       off" in run(config, database, "sites", "update", "testsite").output
    assert run(config, database, "sites", "update", "testsite", "--retention-days", "0").exit_code == 2
    assert run(config, database, "sites", "update", "testsite", "--retention-days", "x").exit_code == 2
    assert run(config, database, "sites", "update", "nope", "--retention-days", "5").exit_code == 1
    assert "90 days" in run(config, database, "sites", "update", "testsite", "--retention-days", "90").output
    with database.sessions() as session:
        assert session.get(Site, site.site.id).retention_days == 90  # type: ignore[union-attr]
    assert "off" in run(config, database, "sites", "update", "testsite", "--retention-days", "off").output
    with database.sessions() as session:
        assert session.get(Site, site.site.id).retention_days is None  # type: ignore[union-attr]
        changes = session.scalar(select(func.count()).where(AuditEvent.event == "site.retention_changed"))
    assert changes == 2


def test_retention_job_runs_on_rq_and_schedules_itself(
    client: FlaskClient,
    resources: Resources,
    database: Database,
    site: NewSite,
    redis_conn: redis.Redis,
) -> None:
    old = post(client, site, f"Sehr alt, {MARK}", "leser-1", "q1")
    decide(database, old, Action.APPROVE, [])
    age(database, old, 10)
    with transaction(database.sessions) as session:
        session.execute(update(Site).values(retention_days=7))

    assert schedule_retention(redis_conn) is True
    assert schedule_retention(redis_conn) is False  # one pass is scheduled at a time
    queue = Queue(QUEUE, connection=redis_conn)
    scheduled = ScheduledJobRegistry(queue=queue)
    assert [queue.fetch_job(j).func_name for j in scheduled.get_job_ids()] == [RETENTION_JOB]  # type: ignore[union-attr]

    # Due now: a worker runs it like any job, and it schedules the next pass.
    redis_conn.delete(RETENTION_SCHEDULED_KEY)
    for job_id in scheduled.get_job_ids():
        scheduled.remove(job_id, delete_job=True)
    queue.enqueue(RETENTION_JOB)
    runtime.install(runtime.WorkerContext(resources))
    try:
        assert SimpleWorker([queue], connection=redis_conn).work(burst=True)
    finally:
        runtime.install(None)
    with database.sessions() as session:
        comment = session.get(Comment, old)
        assert comment is not None and comment.text == "" and comment.author_id == ""
        assert session.scalars(select(AuditEvent).where(AuditEvent.event == RETENTION_EVENT)).one()
    assert [queue.fetch_job(j).func_name for j in scheduled.get_job_ids()] == [RETENTION_JOB]  # type: ignore[union-attr]
    assert redis_conn.ttl(RETENTION_SCHEDULED_KEY) > 3000


def test_dashboard_sets_the_retention_period(client: FlaskClient, database: Database, site: NewSite) -> None:
    with transaction(database.sessions) as session:
        seed.make_users(session)
    token = seed.login(client, "admin@example.org", "admin-password-1")
    page = client.get(f"/settings/sites/{site.site.id}")
    assert page.status_code == 200 and 'name="retention_days"' in page.get_data(as_text=True)
    url = f"/settings/sites/{site.site.id}/retention"
    saved = client.post(url, data={"retention_days": "14", "csrf_token": token})
    assert saved.status_code == 302
    bad = client.post(url, data={"retention_days": "-3", "csrf_token": token}, follow_redirects=True)
    assert "ganze Zahl von Tagen" in bad.get_data(as_text=True)  # the dashboard speaks German
    with database.sessions() as session:
        assert session.get(Site, site.site.id).retention_days == 14  # type: ignore[union-attr]
    client.post(url, data={"retention_days": "", "csrf_token": token})
    with database.sessions() as session:
        row = session.get(Site, site.site.id)
        assert row is not None and row.retention_days is None
        user = session.scalars(select(User).where(User.email == "admin@example.org")).one()
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.event == "site.retention_changed").order_by(AuditEvent.id)
        ).all()
    assert [e.data["retention_days"] for e in event] == [14, None]
    assert event[0].actor == f"moderator:{user.email}"
    # Moderators do not reach it.
    client.post("/logout", data={"csrf_token": token})
    other = client.application.test_client()
    mod = seed.login(other, "mod@example.org", "moderator-password-1")
    assert other.post(url, data={"retention_days": "1", "csrf_token": mod}).status_code in (302, 403)
    with database.sessions() as session:
        assert session.get(Site, site.site.id).retention_days is None  # type: ignore[union-attr]


# -- access log ---------------------------------------------------------------------------------------


class _Resp:
    status = "200 OK"
    sent = 17
    headers: list[tuple[str, str]] = []


class _Req:
    headers = [("USER-AGENT", "Mozilla/5.0 Testbrowser"), ("X-FORWARDED-FOR", "198.51.100.9")]


def _line(log_ips: bool, trusted_proxies: int = 0, path: str = "/api/v1/authors/leser-42?x=Erika") -> str:
    from gunicorn.config import Config as GunicornConfig

    logger_class, fmt = access_logger(log_ips=log_ips, trusted_proxies=trusted_proxies)
    cfg = GunicornConfig()
    logger = logger_class(cfg)
    environ = {
        "REMOTE_ADDR": "192.0.2.44",
        "REQUEST_METHOD": "DELETE",
        "RAW_URI": path,
        "PATH_INFO": path.split("?")[0],
        "QUERY_STRING": "x=Erika",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_USER_AGENT": "Mozilla/5.0 Testbrowser",
        "HTTP_REFERER": "https://zeitung.example/artikel?leser=Erika",
        "HTTP_X_FORWARDED_FOR": "198.51.100.9",
    }
    atoms = logger.atoms_wrapper_class(logger.atoms(_Resp(), _Req(), environ, timedelta(milliseconds=12)))
    return str(fmt % atoms)


def test_access_log_lines_hold_no_personal_data_by_default() -> None:
    line = _line(log_ips=False)
    assert '"DELETE /api/v1/authors/- HTTP/1.1" 200 17 12ms' in line
    for personal in ("192.0.2.44", "198.51.100.9", "Mozilla", "Erika", "leser-42", "zeitung.example"):
        assert personal not in line
    assert "192.0.2.44" in _line(log_ips=True) and "Mozilla" not in _line(log_ips=True)
    # Behind one trusted proxy the client is the address the proxy saw.
    assert _line(log_ips=True, trusted_proxies=1).startswith("198.51.100.9 ")
    assert issubclass(access_logger(log_ips=False)[0], PrivateAccessLogger)
    assert (access_logger(log_ips=False)[1], access_logger(log_ips=True)[1]) == (FORMAT, FORMAT_WITH_IPS)


def test_access_log_switch_is_validated() -> None:
    base = {"SECRET_KEY": "k", "MODERATION_HOME": "/tmp/moderation-test-home"}
    assert Config.from_env(base).access_log_ips is False
    assert Config.from_env({**base, "MODERATION_ACCESS_LOG_IPS": "1"}).access_log_ips is True
    assert Config.from_env({**base, "MODERATION_ACCESS_LOG_IPS": "off"}).access_log_ips is False
    with pytest.raises(ValueError, match="MODERATION_ACCESS_LOG_IPS"):
        Config.from_env({**base, "MODERATION_ACCESS_LOG_IPS": "maybe"})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve_and_get(tmp_path: Path, extra_env: dict[str, str]) -> str:
    """Runs `moderation serve` on loopback, sends one request with a user agent, returns the access log."""
    home = tmp_path / "home"
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    migrate(make_engine(url))
    port = _free_port()
    env = {
        **os.environ,
        "MODERATION_HOME": str(home),
        "DATABASE_URL": url,
        "REDIS_URL": TEST_REDIS_URL,
        "SECRET_KEY": "test-secret-key",
        **extra_env,
    }
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moderation", "serve", "--port", str(port), "--workers", "1"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    request = urllib.request.Request(
                        f"http://127.0.0.1:{port}/healthz?leser=Erika",
                        headers={"User-Agent": "Mozilla/5.0 Testbrowser"},
                    )
                    with urllib.request.urlopen(request, timeout=2) as response:
                        assert response.status == 200
                    break
                except OSError:
                    assert time.monotonic() < deadline, log_path.read_text()
                    time.sleep(0.2)
            time.sleep(0.5)
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
    return log_path.read_text()


def test_served_access_log_has_no_client_address_unless_configured(tmp_path: Path) -> None:
    plain = _serve_and_get(tmp_path / "plain", {})
    requests = [line for line in plain.splitlines() if "GET /healthz" in line]
    assert requests, plain
    assert all("127.0.0.1" not in line and "Mozilla" not in line and "Erika" not in line for line in requests)
    with_ips = _serve_and_get(tmp_path / "ips", {"MODERATION_ACCESS_LOG_IPS": "1"})
    requests = [line for line in with_ips.splitlines() if "GET /healthz" in line]
    assert requests and all(line.startswith("127.0.0.1 ") for line in requests), with_ips


def test_a_worker_decides_nothing_of_an_erased_pending_comment(
    client: FlaskClient, database: Database, site: NewSite, redis_conn: redis.Redis
) -> None:
    from workers.pipeline import decide_batch

    pending = post(client, site, f"{MARK} wartet noch", AUTHOR, "w1")
    assert client.delete(f"/api/v1/authors/{AUTHOR}", headers=auth(site)).get_json()["comments_deleted"] == 1
    # The id is still on the Redis list; the worker that pops it finds nothing to decide.
    assert decide_batch(database.sessions, None, [pending], redis_conn) == []
    with database.sessions() as session:
        assert session.get(Comment, pending) is None
        assert session.scalar(select(func.count()).select_from(Decision)) == 0
