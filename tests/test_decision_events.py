"""Workers, moderators and undo announce a decision in one shape: the `comment.decided` audit event
(and the `DecisionEvent` the workers return) has the same keys and value types whoever decided, says
who decided, the status it left and which decision it is about (SQLite + PostgreSQL)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import redis
from flask.testing import FlaskClient
from rq import Queue, SimpleWorker
from sqlalchemy import select

from moderation.store.accounts import NewSite
from moderation.store.db import transaction
from moderation.store.decisions import DecisionEvent
from moderation.store.queue import QUEUE_NAME
from moderation.store.tables import AuditEvent, Comment, Decision
from tests.browser import seed
from tests.conftest import Database
from workers.pipeline import decide_batch

JSON = {"Accept": "application/json"}
INSULT = "Du bist ein dummer Vollidiot"
CIVIL = "Ich finde die Analyse zu Kasachstan sehr aufschlussreich."
LINK = "Mehr Hintergründe zur Lage in Kasachstan hier: https://example.org/kasachstan"
LATER = "Danke für den ausführlichen Bericht über die Wahlen in Kasachstan."
MODERATOR = "moderator:mod@example.org"

# The one shape of `comment.decided`: each key with the type of its value when it is not null.
SHAPE: dict[str, type] = {
    "decision_id": int,
    "action": str,
    "source": str,
    "status": str,
    "reasons": list,
    "model_version": str,
    "reason_code": str,
    "note": str,
    "undo_of": int,
    "site_model_version": str,
}
# Null in these runs: the site has no model of its own (tests/test_site_learning.py covers one that has).
ALWAYS_NULL_HERE = {"site_model_version"}
NEVER_NULL = {"decision_id", "action", "source", "status", "reasons"}
STATUS_OF = {"approve": "approved", "hold": "held", "reject": "rejected"}


def post(client: FlaskClient, site: NewSite, text: str, author: str) -> str:
    response = client.post(
        "/api/v1/comments",
        json={"text": text, "article_id": "kasachstan-russland", "author": {"id": author}},
        headers={"Authorization": f"Bearer {site.secret_key}"},
    )
    assert response.status_code == 202, response.get_json()
    return str(response.get_json()["id"])


def api_decision(client: FlaskClient, site: NewSite, cid: str) -> dict[str, Any]:
    body = client.get(
        f"/api/v1/comments/{cid}", headers={"Authorization": f"Bearer {site.secret_key}"}
    ).get_json()
    return dict(body["decision"])


def decided_events(database: Database, after: int = 0) -> list[AuditEvent]:
    with database.sessions() as session:
        rows = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.event == "comment.decided", AuditEvent.id > after)
            .order_by(AuditEvent.id)
        ).all()
        session.expunge_all()
    return list(rows)


def statuses(database: Database) -> dict[str, str]:
    with database.sessions() as session:
        return {cid: status for cid, status in session.execute(select(Comment.id, Comment.status))}


def step(database: Database, after: int, expected: int) -> list[AuditEvent]:
    """The `comment.decided` events written since audit id `after`: as many as expected, each with the
    status its comment has now (right after the decision it announces)."""
    rows = decided_events(database, after)
    assert len(rows) == expected, [row.data for row in rows]
    now = statuses(database)
    for row in rows:
        assert row.comment_id is not None
        assert row.data["status"] == now[row.comment_id], (row.comment_id, row.data)
    return rows


def test_workers_moderators_and_undo_announce_one_shape(
    client: FlaskClient, site: NewSite, context: Any, database: Database, redis_conn: redis.Redis
) -> None:
    with transaction(database.sessions) as session:
        seed.make_users(session)
    token = seed.login(client, "mod@example.org", "moderator-password-1")
    civil, insult, link = (
        post(client, site, CIVIL, "leser-1"),
        post(client, site, INSULT, "leser-2"),
        post(client, site, LINK, "neu-1"),
    )
    scorer = context.scorer()
    assert scorer is not None

    # 1. The workers decide: the events they return are the audit rows they wrote.
    events = decide_batch(database.sessions, scorer, [civil, insult, link], redis_conn)
    assert sorted(e.comment_id for e in events) == sorted([civil, insult, link])
    worker_rows = step(database, 0, expected=3)
    by_comment = {row.comment_id: row for row in worker_rows}
    for event in events:
        assert isinstance(event, DecisionEvent)
        row = by_comment[event.comment_id]
        assert row.data == event.data(), event.comment_id
        assert (row.actor, row.site_id) == (event.actor, event.site_id)
        assert event.status == STATUS_OF[event.action]
        assert event.model_version == scorer.version and event.actor == f"{event.source}:{scorer.version}"
    civil_event, insult_event, link_event = (
        {e.comment_id: e for e in events}[c] for c in (civil, insult, link)
    )
    assert (civil_event.source, civil_event.status) == ("model", "approved")
    assert (insult_event.source, insult_event.status) in {("model", "held"), ("model", "rejected")}
    assert (link_event.source, link_event.status) == ("rule", "held")
    assert "link_from_new_author" in [r["code"] for r in link_event.reasons]

    # 2. A moderator approves the held link through the dashboard form.
    approved = client.post(
        "/actions/decide",
        headers=JSON,
        data={"comment_id": link, "action": "approve", "csrf_token": token},
    )
    assert approved.status_code == 200 and approved.get_json()["decided"] == 1, approved.get_json()
    (approve_row,) = step(database, worker_rows[-1].id, expected=1)
    assert approve_row.comment_id == link and approve_row.actor == MODERATOR
    assert approve_row.data["source"] == "moderator" and approve_row.data["action"] == "approve"
    assert approve_row.data["reason_code"] is None and approve_row.data["note"] is None

    # 3. A moderator rejects the civil comment, with a reason and a note ...
    rejected = client.post(
        "/actions/decide",
        headers=JSON,
        data={
            "comment_id": civil,
            "action": "reject",
            "reason_code": "off_topic",
            "note": "Gehört nicht zum Artikel",
            "csrf_token": token,
        },
    )
    assert rejected.status_code == 200 and rejected.get_json()["decided"] == 1, rejected.get_json()
    action_id = rejected.get_json()["action_id"]
    (reject_row,) = step(database, approve_row.id, expected=1)
    assert reject_row.comment_id == civil and reject_row.actor == MODERATOR
    assert (reject_row.data["source"], reject_row.data["status"]) == ("moderator", "rejected")
    assert (reject_row.data["reason_code"], reject_row.data["note"]) == (
        "off_topic",
        "Gehört nicht zum Artikel",
    )
    assert api_decision(client, site, civil)["source"] == "moderator"

    # 4. ... and undoes it: the model's approval is current again, announced as such.
    undone = client.post(f"/actions/undo/{action_id}", headers=JSON, data={"csrf_token": token})
    assert undone.status_code == 200 and undone.get_json()["restored"] == 1, undone.get_json()
    (undo_row,) = step(database, reject_row.id, expected=1)
    assert undo_row.comment_id == civil and undo_row.actor == MODERATOR
    assert undo_row.data["undo_of"] == reject_row.data["decision_id"]
    assert undo_row.data == {**civil_event.data(), "undo_of": reject_row.data["decision_id"]}
    assert api_decision(client, site, civil)["source"] == "model"

    # 5. A comment decided by a real RQ worker (the drain job) is announced the same way.
    later = post(client, site, LATER, "leser-3")
    SimpleWorker([Queue(QUEUE_NAME, connection=redis_conn)], connection=redis_conn).work(burst=True)
    (rq_row,) = step(database, undo_row.id, expected=1)
    assert rq_row.comment_id == later and rq_row.data["source"] in ("model", "rule")
    assert rq_row.data["model_version"] == scorer.version

    # Every `comment.decided` event has the one shape.
    rows = decided_events(database)
    assert [r.id for r in rows] == [r.id for r in [*worker_rows, approve_row, reject_row, undo_row, rq_row]]
    types: dict[str, set[type]] = defaultdict(set)
    for row in rows:
        assert set(row.data) == set(SHAPE), (row.id, sorted(row.data))
        for key, value in row.data.items():
            if value is None:
                assert key not in NEVER_NULL, (row.id, key)
                continue
            types[key].add(type(value))
        assert row.data["source"] in ("model", "rule", "moderator")
        assert row.data["status"] == STATUS_OF[row.data["action"]]
        assert all(isinstance(r, dict) and r.get("code") for r in row.data["reasons"])
        assert row.site_id == site.site.id
    # Each key's non-null values have one type, the expected one, and every key is seen non-null once.
    assert dict(types) == {key: {kind} for key, kind in SHAPE.items() if key not in ALWAYS_NULL_HERE}
    # The source says who decided: the workers' model/rule decisions carry the model version and
    # reasons; the moderators' carry neither.
    for row in rows:
        if row.data["source"] == "moderator":
            assert row.actor == MODERATOR and row.data["model_version"] is None and row.data["reasons"] == []
        else:
            assert row.data["model_version"] == scorer.version and row.data["reasons"]

    # `decision_id` names the decision announced: it exists with that action and source, or it was
    # the undone one (deleted), named by the undo's `undo_of`.
    with database.sessions() as session:
        for row in rows:
            decision = session.get(Decision, row.data["decision_id"])
            if row.id == reject_row.id:
                # The undone decision is gone; its id must not name another decision since.
                assert decision is None, (
                    f"undone decision {row.data['decision_id']} (moderator reject of {civil}) now names "
                    f"a {decision.source} decision of comment {decision.comment_id}"
                )
                continue
            assert decision is not None, row.data
            assert (decision.comment_id, decision.action, decision.source) == (
                row.comment_id,
                row.data["action"],
                row.data["source"],
            )
            assert decision.reasons == row.data["reasons"]
            assert decision.model_version == row.data["model_version"]
            assert (decision.reason_code, decision.note) == (row.data["reason_code"], row.data["note"])
        assert {r.data["undo_of"] for r in rows if r.data["undo_of"] is not None} == {
            reject_row.data["decision_id"]
        }


def test_an_undone_decision_keeps_its_id_to_itself(
    client: FlaskClient, site: NewSite, context: Any, database: Database, redis_conn: redis.Redis
) -> None:
    """Reject, undo, approve the same comment: the approval is a new decision with an id of its own, so
    the audit trail does not mark it as undone."""
    with transaction(database.sessions) as session:
        seed.make_users(session)
    token = seed.login(client, "mod@example.org", "moderator-password-1")
    civil = post(client, site, CIVIL, "leser-1")
    decide_batch(database.sessions, context.scorer(), [civil], redis_conn)
    form = {"comment_id": civil, "csrf_token": token}
    rejected = client.post(
        "/actions/decide", headers=JSON, data={**form, "action": "reject", "reason_code": "other"}
    ).get_json()
    assert client.post(rejected["undo_url"], headers=JSON, data={"csrf_token": token}).status_code == 200
    assert client.post("/actions/decide", headers=JSON, data={**form, "action": "approve"}).status_code == 200
    rows = decided_events(database)
    assert [(r.data["source"], r.data["action"]) for r in rows] == [
        ("model", "approve"),
        ("moderator", "reject"),
        ("model", "approve"),  # the undo
        ("moderator", "approve"),
    ]
    assert rows[2].data["undo_of"] == rows[1].data["decision_id"]
    assert rows[3].data["decision_id"] != rows[1].data["decision_id"]
    html = client.get(f"/comments/{civil}").get_data(as_text=True)
    trail = html[html.index('class="plain trail"') :]
    assert trail.count("rückgängig gemacht</span>") == 1  # the rejection only, not the approval
