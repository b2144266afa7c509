"""Coral Talk's external moderation phase: signed requests, Coral's answer shape within the time budget,
the comment in our dashboard, the secret on the CLI and the settings page (SQLite + PostgreSQL)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from typing import Any

import redis
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from rq import Queue, SimpleWorker
from sqlalchemy import func, select

from moderation.cli.main import cli
from moderation.config import Config
from moderation.domain.policy import SitePolicy
from moderation.store.accounts import NewSite
from moderation.store.db import transaction
from moderation.store.queue import QUEUE_NAME
from moderation.store.tables import AuditEvent, Comment, Site
from tests.browser import seed
from tests.conftest import TEST_REDIS_URL, Database

SECRET = "empsec_0123456789abcdef0123456789abcdef"
CIVIL = "Ich finde die Analyse zu Kasachstan sehr aufschlussreich."
HELD = "Das Treffen in Astana war gut vorbereitet, sagt der Minister."
REJECTED = "Der Autor ist ein Schwachkopf, typisch."
CARD_ID = re.compile(r'<article class="card[^"]*" id="c-([0-9a-f]+)"')


def coral_body(text: str, action: str = "NEW", comment_id: str | None = None, **extra: Any) -> dict[str, Any]:
    """A request as Coral's documentation shows it (Coral adds no comment id; some senders do)."""
    comment: dict[str, Any] = {"body": text, "parentID": None}
    if comment_id is not None:
        comment["id"] = comment_id
    return {
        "action": action,
        "comment": comment,
        "author": {"id": "baf4e943-3594-4fcc-b2ba-3e8de7a76352", "role": "COMMENTER"},
        "story": {"id": "245b3856-b0a0", "url": "https://zeitung.example/kasachstan/"},
        "site": {"id": "a4bede88"},
        "tenantID": "19ba5794",
        "tenantDomain": "zeitung.example",
        **extra,
    }


def signed(body: dict[str, Any] | bytes, *secrets: str) -> tuple[bytes, dict[str, str]]:
    """Serialised as Coral does (two-space indent) and signed with each secret, comma-separated."""
    raw = body if isinstance(body, bytes) else json.dumps(body, indent=2).encode("utf-8")
    signatures = [f"sha256={hmac.new(s.encode(), raw, hashlib.sha256).hexdigest()}" for s in secrets]
    return raw, {"X-Coral-Signature": ",".join(signatures), "Content-Type": "application/json"}


def post(client: FlaskClient, raw: bytes, headers: dict[str, str], name: str = "testsite") -> Any:
    return client.post(f"/api/v1/coral/{name}", data=raw, headers=headers)


def configure(
    database: Database, site: NewSite, *, budget_ms: int | None, secret: str | None = SECRET
) -> None:
    with transaction(database.sessions) as session:
        row = session.get(Site, site.site.id)
        assert row is not None
        row.coral_secret, row.coral_budget_ms = secret, budget_ms
        row.policy = SitePolicy.from_dict(
            {**row.policy, "banned_words": ["schwachkopf"], "suspect_words": ["astana"]}
        ).to_dict()


def comment_count(database: Database) -> int:
    with database.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Comment)) or 0)


def work(redis_conn: redis.Redis) -> None:
    SimpleWorker([Queue(QUEUE_NAME, connection=redis_conn)], connection=redis_conn).work(burst=True)


def post_while_working(
    client: FlaskClient, redis_conn: redis.Redis, raw: bytes, headers: dict[str, str]
) -> Any:
    """Coral's request runs in a thread and waits; this (main) thread is the worker that decides it."""
    answer: dict[str, Any] = {}
    request = threading.Thread(target=lambda: answer.update(response=post(client, raw, headers)))
    request.start()
    while request.is_alive():
        work(redis_conn)
        request.join(0.02)
    return answer["response"]


def test_signed_requests_get_coral_answers_and_show_in_the_dashboard(
    client: FlaskClient, site: NewSite, context: Any, database: Database, redis_conn: redis.Redis
) -> None:
    configure(database, site, budget_ms=5000)
    context.scorer()  # loaded before the clock of the first request runs
    approved = post_while_working(client, redis_conn, *signed(coral_body(CIVIL, comment_id="c-1"), SECRET))
    assert approved.status_code == 200, approved.get_data(as_text=True)
    assert approved.get_json() == {"status": "NONE", "actions": [], "tags": []}

    held = post_while_working(client, redis_conn, *signed(coral_body(HELD, comment_id="c-2"), SECRET))
    assert held.status_code == 200
    assert held.get_json()["status"] == "SYSTEM_WITHHELD"
    assert {"actionType": "FLAG", "reason": "COMMENT_DETECTED_SUSPECT_WORD"} in held.get_json()["actions"]

    rejected = post_while_working(client, redis_conn, *signed(coral_body(REJECTED), SECRET))
    assert rejected.status_code == 200
    assert rejected.get_json()["status"] == "REJECTED"
    assert {"actionType": "FLAG", "reason": "COMMENT_DETECTED_BANNED_WORD"} in rejected.get_json()["actions"]

    # The same request again is the same comment (answered from storage); an edit is a new revision.
    again = post(client, *signed(coral_body(CIVIL, comment_id="c-1"), SECRET))
    assert again.status_code == 200 and again.get_json()["status"] == "NONE"
    edit = signed(coral_body(REJECTED, action="EDIT", comment_id="c-1"), SECRET)
    assert post_while_working(client, redis_conn, *edit).get_json()["status"] == "REJECTED"
    with database.sessions() as session:
        rows = {c.external_id: c for c in session.scalars(select(Comment))}
    assert len(rows) == 4 and rows["coral:c-1"].status == "approved"
    revision = next(c for key, c in rows.items() if key and key.startswith("coral:c-1@"))
    assert revision.status == "rejected" and revision.extra["coral"]["action"] == "EDIT"
    original = rows["coral:c-1"]
    assert original.article_id == "245b3856-b0a0"
    assert original.author_id == "baf4e943-3594-4fcc-b2ba-3e8de7a76352"
    assert original.extra["coral"]["tenant_domain"] == "zeitung.example"
    assert original.extra["coral"]["story_url"] == "https://zeitung.example/kasachstan/"

    with transaction(database.sessions) as session:
        seed.make_users(session)
    seed.login(client, "mod@example.org", "moderator-password-1")
    queue = client.get("/").get_data(as_text=True)
    assert CARD_ID.findall(queue) == [rows["coral:c-2"].id]


def test_slow_model_gets_no_opinion_within_the_budget(
    client: FlaskClient, site: NewSite, context: Any, database: Database, redis_conn: redis.Redis
) -> None:
    configure(database, site, budget_ms=300)
    raw, headers = signed(coral_body(CIVIL, comment_id="slow"), SECRET)
    started = time.monotonic()
    response = post(client, raw, headers)  # no worker runs: the decision cannot come in time
    elapsed = time.monotonic() - started
    assert response.status_code == 204 and response.get_data() == b""
    assert 0.2 <= elapsed < 0.3 + 0.4
    work(redis_conn)  # the comment was stored and handed over: it is decided later all the same
    with database.sessions() as session:
        stored = session.scalars(select(Comment).where(Comment.external_id == "coral:slow")).one()
    assert stored.status == "approved"


def test_wrong_signatures_are_refused_and_store_nothing(
    client: FlaskClient, site: NewSite, other_site: NewSite, database: Database, redis_conn: redis.Redis
) -> None:
    configure(database, site, budget_ms=0)
    raw, good = signed(coral_body(CIVIL), SECRET)
    wrong_secret = signed(raw, "empsec_another_secret_entirely")[1]
    tampered = raw.replace(b"Analyse", b"Analyze")
    refused = {
        "missing": (raw, {"Content-Type": "application/json"}),
        "other secret": (raw, wrong_secret),
        "tampered body": (tampered, good),
        "not sha256": (
            raw,
            {**good, "X-Coral-Signature": good["X-Coral-Signature"].replace("sha256", "sha1")},
        ),
        "bare hex": (raw, {**good, "X-Coral-Signature": good["X-Coral-Signature"].removeprefix("sha256=")}),
    }
    for case, (body, headers) in refused.items():
        response = post(client, body, headers)
        assert response.status_code == 401, case
        assert response.get_json()["error"]["code"] == "unauthorized", case
    assert comment_count(database) == 0

    # Each refusal names its error code; none of them stores anything.
    unknown = post(client, raw, good, name="no-such-site")
    assert (unknown.status_code, unknown.get_json()["error"]["code"]) == (404, "not_found")
    without_secret = post(client, raw, good, name="othersite")
    assert (without_secret.status_code, without_secret.get_json()["error"]["code"]) == (403, "forbidden")
    bad_json = post(client, *signed(b'{"action": "NEW",', SECRET))
    assert (bad_json.status_code, bad_json.get_json()["error"]["code"]) == (400, "invalid_json")
    not_coral = post(client, *signed({"action": "DELETE", "comment": {}}, SECRET))
    assert (not_coral.status_code, not_coral.get_json()["error"]["code"]) == (422, "invalid_request")
    empty = post(client, *signed(coral_body("   "), SECRET))
    assert (empty.status_code, empty.get_json()["error"]["code"]) == (422, "invalid_request")
    form_raw, form_headers = signed(coral_body(CIVIL), SECRET)
    as_form = post(client, form_raw, {**form_headers, "Content-Type": "text/plain"})
    assert (as_form.status_code, as_form.get_json()["error"]["code"]) == (415, "unsupported_media_type")
    assert comment_count(database) == 0

    # While Coral rotates its secret it signs with both: one right signature is enough.
    rotating = signed(raw, "empsec_the_old_secret_before_rotation", SECRET)
    assert post(client, *rotating).status_code == 204  # budget 0: stored, no opinion
    assert comment_count(database) == 1


def run_cli(config: Config, database: Database, *args: str, input: str | None = None) -> Any:
    env = {
        "MODERATION_HOME": str(config.home),
        "DATABASE_URL": database.url,
        "REDIS_URL": TEST_REDIS_URL,
        "SECRET_KEY": "test-secret-key",
    }
    return CliRunner().invoke(cli, list(args), env=env, input=input, catch_exceptions=False)


def stored_secret(database: Database, site: NewSite) -> str | None:
    with database.sessions() as session:
        row = session.get(Site, site.site.id)
        assert row is not None
        return row.coral_secret


def test_cli_prints_a_new_secret_once_or_stores_corals(
    config: Config, database: Database, site: NewSite
) -> None:
    first = run_cli(config, database, "sites", "coral", "testsite")
    assert first.exit_code == 0, first.output
    lines = [line for line in first.output.splitlines() if line.startswith("coral secret:")]
    assert len(lines) == 1
    secret = lines[0].split()[2]
    assert stored_secret(database, site) == secret and first.output.count(secret) == 1
    assert "/api/v1/coral/testsite" in first.output
    rotated = run_cli(config, database, "sites", "coral", "testsite")
    assert stored_secret(database, site) not in (None, secret)
    assert secret not in rotated.output

    pasted = run_cli(config, database, "sites", "coral", "testsite", "--from-stdin", input=SECRET + "\n")
    assert pasted.exit_code == 0 and SECRET not in pasted.output
    assert stored_secret(database, site) == SECRET
    too_short = run_cli(config, database, "sites", "coral", "testsite", "--from-stdin", input="kurz\n")
    assert too_short.exit_code != 0 and stored_secret(database, site) == SECRET
    unknown = run_cli(config, database, "sites", "coral", "no-such-site")
    assert unknown.exit_code != 0 and "no site named" in unknown.output


def test_settings_section_sets_secret_and_budget(
    app: Flask, client: FlaskClient, database: Database, site: NewSite
) -> None:
    with transaction(database.sessions) as session:
        seed.make_users(session)
    token = seed.login(client, "admin@example.org", "admin-password-1")
    page = f"/settings/sites/{site.site.id}"
    html = client.get(page).get_data(as_text=True)
    assert "http://localhost/api/v1/coral/testsite" in html and 'id="coral"' in html

    generated = client.post(f"{page}/coral/secret", data={"csrf_token": token, "secret": ""})
    shown = re.search(r'<code class="key coral-secret">([^<]+)</code>', generated.get_data(as_text=True))
    assert generated.status_code == 200 and shown is not None
    assert stored_secret(database, site) == shown.group(1)
    assert shown.group(1) not in client.get(page).get_data(as_text=True)

    pasted = client.post(f"{page}/coral/secret", data={"csrf_token": token, "secret": SECRET})
    assert pasted.status_code == 302 and stored_secret(database, site) == SECRET
    short = client.post(f"{page}/coral/secret", data={"csrf_token": token, "secret": "zu kurz"})
    assert short.status_code == 422 and stored_secret(database, site) == SECRET
    assert client.post(f"{page}/coral/secret", data={"secret": ""}).status_code == 400  # no CSRF token

    for wrong in ("schnell", "-5", "5001", "1,5"):
        refused = client.post(f"{page}/coral/budget", data={"csrf_token": token, "coral_budget_ms": wrong})
        html = refused.get_data(as_text=True)
        assert refused.status_code == 422, wrong
        assert 'id="coral-budget-error"' in html and "Millisekunden" in html, wrong
    assert (
        client.post(f"{page}/coral/budget", data={"csrf_token": token, "coral_budget_ms": "800"}).status_code
        == 302
    )
    with database.sessions() as session:
        row = session.get(Site, site.site.id)
        assert row is not None and row.coral_budget_ms == 800
        events = list(session.scalars(select(AuditEvent.event).where(AuditEvent.site_id == site.site.id)))
    assert events.count("site.coral_secret_set") == 2 and "site.coral_budget_changed" in events

    moderator = app.test_client()
    moderator_token = seed.login(moderator, "mod@example.org", "moderator-password-1")
    denied = moderator.post(f"{page}/coral/secret", data={"csrf_token": moderator_token})
    assert denied.status_code == 403 and stored_secret(database, site) == SECRET
