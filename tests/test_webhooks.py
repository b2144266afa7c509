"""Webhooks by the Standard Webhooks specification, on the wire: a real HTTP receiver verifies every
delivery with the `standardwebhooks` reference library. Decisions of the model (a real worker run),
moderators and undo each send one `comment.decided` event carrying the comment as the API returns it;
failures are retried on the schedule (the clock is moved, not waited for) and logged; a 410 or a day of
failures switches the endpoint off; a rotated secret signs beside the new one (SQLite + PostgreSQL)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import redis
from click.testing import CliRunner
from flask.testing import FlaskClient
from rq import Queue, SimpleWorker
from rq.registry import ScheduledJobRegistry
from sqlalchemy import func, select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from moderation.cli.main import cli
from moderation.config import Config
from moderation.domain import webhooks as spec
from moderation.domain.timestamps import as_utc, utcnow
from moderation.resources import Resources
from moderation.store import privacy, webhooks
from moderation.store.accounts import NewSite
from moderation.store.db import transaction
from moderation.store.queue import QUEUE_NAME
from moderation.store.tables import AuditEvent, Site, WebhookAttempt, WebhookDelivery
from tests.browser import seed
from tests.conftest import TEST_REDIS_URL, Database
from workers import runtime
from workers.webhooks import run_due

JSON = {"Accept": "application/json"}
INSULT = "Du bist ein dummer Vollidiot"


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes


class Receiver:
    """An HTTP endpoint on a free local port that records each request and answers the statuses queued
    in `answers` (then 200)."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.answers: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append(Received({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(receiver.answers.pop(0) if receiver.answers else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/moderation"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.close()


@pytest.fixture
def config(config: Config) -> Config:
    """The receiver listens on 127.0.0.1: these tests allow private addresses, as
    MODERATION_WEBHOOK_ALLOW_PRIVATE=1 does."""
    return config.with_overrides(webhook_allow_private=True)


@pytest.fixture
def worker(resources: Resources) -> Iterator[runtime.WorkerContext]:
    """A worker context for delivery jobs run in this process (no model needed)."""
    context = runtime.WorkerContext(resources)
    runtime.install(context)
    yield context
    runtime.install(None)


def connect(database: Database, site: NewSite, url: str) -> str:
    """Sets the site's endpoint; returns the secret shown once."""
    with transaction(database.sessions) as session:
        row = session.get(Site, site.site.id)
        assert row is not None
        secret = webhooks.set_url(session, row, url, actor="test")
    assert secret is not None and secret.startswith("whsec_")
    return secret


def send_test_event(database: Database, site: NewSite) -> None:
    with transaction(database.sessions) as session:
        row = session.get(Site, site.site.id)
        assert row is not None
        webhooks.record_test_event(session, row, actor="test")


def run_jobs(connection: redis.Redis, name: str) -> None:
    SimpleWorker([Queue(name, connection=connection)], connection=connection).work(burst=True)


def verified(secret: str, request: Received) -> dict[str, Any]:
    return dict(Webhook(secret).verify(request.body, request.headers))


def deliveries(database: Database) -> list[WebhookDelivery]:
    with database.sessions() as session:
        rows = list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))
        session.expunge_all()
    return rows


def attempts(database: Database) -> list[WebhookAttempt]:
    with database.sessions() as session:
        rows = list(session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.id)))
        session.expunge_all()
    return rows


def site_row(database: Database, site: NewSite) -> Site:
    with database.sessions() as session:
        row = session.get(Site, site.site.id)
        assert row is not None
        session.expunge(row)
    return row


def test_decisions_of_model_moderator_and_undo_each_send_one_verified_event(
    client: FlaskClient,
    site: NewSite,
    context: Any,
    database: Database,
    redis_conn: redis.Redis,
    receiver: Receiver,
) -> None:
    secret = connect(database, site, receiver.url)
    with transaction(database.sessions) as session:
        seed.make_users(session)
    token = seed.login(client, "mod@example.org", "moderator-password-1")
    auth = {"Authorization": f"Bearer {site.secret_key}"}
    posted = client.post(
        "/api/v1/comments",
        json={"text": INSULT, "article_id": "a1", "author": {"id": "leser-1"}},
        headers=auth,
    )
    assert posted.status_code == 202
    cid = posted.get_json()["id"]

    def api() -> dict[str, Any]:
        return dict(client.get(f"/api/v1/comments/{cid}", headers=auth).get_json())

    # 1. The model decides in a real worker run; the commit queues one delivery job, which posts it.
    run_jobs(redis_conn, QUEUE_NAME)
    assert receiver.requests == []  # nothing is sent from inside the deciding transaction
    run_jobs(redis_conn, webhooks.QUEUE)
    (first,) = receiver.requests
    event = verified(secret, first)
    assert event["type"] == "comment.decided" and event["data"] == api()
    assert event["data"]["decision"]["source"] == "model" and event["data"]["status"] in {"held", "rejected"}
    assert first.headers["content-type"] == "application/json"
    assert first.headers["user-agent"].startswith("comment-moderation-webhooks/")
    assert first.headers["webhook-id"].startswith("msg_")

    # 2. A moderator approves it: one more event, with the moderator's decision.
    approved = client.post(
        "/actions/decide", headers=JSON, data={"comment_id": cid, "action": "approve", "csrf_token": token}
    )
    assert approved.status_code == 200 and approved.get_json()["decided"] == 1
    run_jobs(redis_conn, webhooks.QUEUE)
    assert len(receiver.requests) == 2
    event = verified(secret, receiver.requests[1])
    assert event["data"] == api() and event["data"]["status"] == "approved"
    assert event["data"]["decision"]["source"] == "moderator"

    # 3. The moderator undoes it: the model's decision is current again, announced once more.
    action_id = approved.get_json()["action_id"]
    undone = client.post(f"/actions/undo/{action_id}", headers=JSON, data={"csrf_token": token})
    assert undone.status_code == 200 and undone.get_json()["restored"] == 1
    run_jobs(redis_conn, webhooks.QUEUE)
    assert len(receiver.requests) == 3
    event = verified(secret, receiver.requests[2])
    assert event["data"] == api() and event["data"]["decision"]["source"] == "model"
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 3
    assert [d.state for d in deliveries(database)] == ["delivered"] * 3
    assert [a.status_code for a in attempts(database)] == [200, 200, 200]


def test_a_site_without_a_webhook_url_gets_nothing(
    client: FlaskClient, site: NewSite, context: Any, database: Database, redis_conn: redis.Redis
) -> None:
    auth = {"Authorization": f"Bearer {site.secret_key}"}
    body = {"text": "Danke für den Bericht.", "article_id": "a1", "author": {"id": "leser-2"}}
    assert client.post("/api/v1/comments", json=body, headers=auth).status_code == 202
    run_jobs(redis_conn, QUEUE_NAME)
    assert deliveries(database) == []
    assert Queue(webhooks.QUEUE, connection=redis_conn).count == 0


def test_signatures_verify_and_a_tampered_or_stale_message_does_not() -> None:
    secret = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"type":"comment.decided","timestamp":"2026-12-07T01:00:00Z","data":{}}'
    now = int(utcnow().timestamp())

    def headers(timestamp: int, secrets: tuple[str, ...] = (secret,)) -> dict[str, str]:
        signature = spec.signature_header(secrets, "msg_1", timestamp, body)
        return {"webhook-id": "msg_1", "webhook-timestamp": str(timestamp), "webhook-signature": signature}

    assert Webhook(secret).verify(body, headers(now))["type"] == "comment.decided"
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(secret).verify(body.replace(b"{}", b'{"status":"approved"}'), headers(now))
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(body, headers(now - 600))
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook("whsec_" + "A" * 32).verify(body, headers(now))
    # During a rotation both secrets sign: a receiver with either one accepts the message.
    other = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3"
    both = headers(now, (other, secret))
    assert len(both["webhook-signature"].split(" ")) == 2
    for key in (secret, other):
        assert Webhook(key).verify(body, both)["data"] == {}


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("javascript:alert(1)", "scheme"),
        ("ftp://example.org/hook", "scheme"),
        ("https://", "scheme"),
        ("https://user:pw@example.org/hook", "credentials"),
        ("http://127.0.0.1:8080/hook", "private"),
        ("http://localhost/hook", "private"),
        ("http://[::1]/hook", "private"),
        ("http://10.1.2.3/hook", "private"),
        ("http://169.254.169.254/latest/meta-data", "private"),
        ("https://example.org:port/hook", "invalid"),
        ("https://example.org/" + "a" * 2000, "too_long"),
    ],
)
def test_webhook_urls_that_are_refused(url: str, code: str) -> None:
    with pytest.raises(spec.WebhookUrlError) as refused:
        spec.check_url(url)
    assert refused.value.code == code
    assert spec.check_url("http://127.0.0.1:8080/hook", allow_private=True) == "http://127.0.0.1:8080/hook"
    assert spec.check_url(" https://example.org/hook ") == "https://example.org/hook"


def test_a_failing_receiver_is_retried_on_the_schedule_and_the_log_shows_it(
    site: NewSite,
    resources: Resources,
    worker: Any,
    database: Database,
    redis_conn: redis.Redis,
    receiver: Receiver,
) -> None:
    secret = connect(database, site, receiver.url)
    receiver.answers = [500, 503]
    send_test_event(database, site)
    run_jobs(redis_conn, webhooks.QUEUE)  # the first attempt, by the job the commit queued
    (delivery,) = deliveries(database)
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("pending", 1, 500)
    first_at = as_utc(attempts(database)[0].attempted_at)
    assert first_at is not None
    assert as_utc(delivery.next_attempt_at) == first_at + timedelta(seconds=5)
    # The retry is in RQ's scheduler (the workers run it), at the time the schedule says.
    assert ScheduledJobRegistry(webhooks.QUEUE, connection=redis_conn).count == 1

    assert run_due(resources, now=first_at + timedelta(seconds=4)) == 0  # not due yet
    assert run_due(resources, now=first_at + timedelta(seconds=5)) == 1  # 503
    assert run_due(resources, now=first_at + timedelta(minutes=5)) == 0
    assert run_due(resources, now=first_at + timedelta(minutes=5, seconds=5)) == 1  # 200
    (delivery,) = deliveries(database)
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("delivered", 3, 200)
    assert [a.status_code for a in attempts(database)] == [500, 503, 200]
    assert all(a.response_ms is not None and a.response_ms >= 0 for a in attempts(database))
    # The same message each time (one id and body), each attempt signed afresh.
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
    assert len({r.body for r in receiver.requests}) == 1
    assert verified(secret, receiver.requests[-1])["type"] == "webhook.test"
    assert site_row(database, site).webhook_failures == 0


def test_a_day_of_failures_gives_up_and_switches_the_endpoint_off(
    site: NewSite, resources: Resources, database: Database, receiver: Receiver
) -> None:
    connect(database, site, receiver.url)
    receiver.answers = [500] * 20
    send_test_event(database, site)
    start = deliveries(database)[0].created_at
    now = as_utc(start)
    assert now is not None
    assert run_due(resources, now=now) == 1
    for delay in spec.RETRY_DELAYS:
        now += delay
        assert run_due(resources, now=now) == 1
    (delivery,) = deliveries(database)
    assert (delivery.state, delivery.attempts) == ("failed", 1 + len(spec.RETRY_DELAYS))
    assert now - as_utc(start) > timedelta(hours=24)  # type: ignore[operator]
    row = site_row(database, site)
    assert row.webhook_disabled_at is not None and row.webhook_disabled_reason == "failing"
    assert row.webhook_failures == 8
    # Switched off, the site writes no more events.
    send_test_event(database, site)
    assert run_due(resources, now=now + timedelta(hours=1)) == 0
    assert [d.state for d in deliveries(database)] == ["failed", "disabled"]


def test_410_gone_switches_the_endpoint_off_and_an_admin_switches_it_on(
    client: FlaskClient, site: NewSite, resources: Resources, database: Database, receiver: Receiver
) -> None:
    connect(database, site, receiver.url)
    receiver.answers = [410]
    send_test_event(database, site)
    send_test_event(database, site)
    assert run_due(resources) == 1  # the second is not attempted: the endpoint is off
    assert [(d.state, d.attempts) for d in deliveries(database)] == [("disabled", 1), ("disabled", 0)]
    row = site_row(database, site)
    assert row.webhook_disabled_reason == "gone" and not webhooks.is_active(row)

    with transaction(database.sessions) as session:
        seed.make_users(session)
    token = seed.login(client, "admin@example.org", "admin-password-1")
    page = client.get(f"/settings/sites/{site.site.id}").get_data(as_text=True)
    assert "ausgeschaltet" in page and "410 Gone" in page and "Webhook wieder einschalten" in page
    on = client.post(f"/settings/sites/{site.site.id}/webhook/enable", data={"csrf_token": token})
    assert on.status_code == 302
    assert webhooks.is_active(site_row(database, site))
    send_test_event(database, site)
    assert run_due(resources) == 1
    assert deliveries(database)[-1].state == "delivered"
    with database.sessions() as session:
        events = list(session.scalars(select(AuditEvent.event).where(AuditEvent.event.like("site.webhook%"))))
    assert "site.webhook_disabled" in events and "site.webhook_enabled" in events


def test_a_rotated_secret_signs_beside_the_new_one_until_the_overlap_ends(
    site: NewSite, resources: Resources, database: Database, receiver: Receiver
) -> None:
    old = connect(database, site, receiver.url)
    with transaction(database.sessions) as session:
        row = session.get(Site, site.site.id)
        assert row is not None
        new = webhooks.rotate_secret(session, row, actor="test")
    assert new != old
    send_test_event(database, site)
    assert run_due(resources) == 1
    signed = receiver.requests[-1]
    assert len(signed.headers["webhook-signature"].split(" ")) == 2
    assert verified(old, signed)["type"] == verified(new, signed)["type"] == "webhook.test"
    send_test_event(database, site)
    assert run_due(resources, now=utcnow() + webhooks.ROTATION_OVERLAP + timedelta(seconds=1)) == 1
    late = receiver.requests[-1]
    assert len(late.headers["webhook-signature"].split(" ")) == 1
    assert verified(new, late)["type"] == "webhook.test"
    with pytest.raises(WebhookVerificationError):
        verified(old, late)


def test_the_settings_section_sets_the_url_shows_the_secret_once_and_logs_deliveries(
    client: FlaskClient, site: NewSite, resources: Resources, database: Database, receiver: Receiver
) -> None:
    with transaction(database.sessions) as session:
        seed.make_users(session)
    sid = site.site.id
    moderator = seed.login(client, "mod@example.org", "moderator-password-1")
    refused = client.post(
        f"/settings/sites/{sid}/webhook", data={"webhook_url": receiver.url, "csrf_token": moderator}
    )
    assert refused.status_code == 403
    client.post("/logout", data={"csrf_token": moderator})
    token = seed.login(client, "admin@example.org", "admin-password-1")
    assert (
        client.post(f"/settings/sites/{sid}/webhook", data={"webhook_url": receiver.url}).status_code == 400
    )

    bad = client.post(
        f"/settings/sites/{sid}/webhook", data={"webhook_url": "javascript:alert(1)", "csrf_token": token}
    )
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert 'aria-describedby="field-webhook_url-error"' in html and 'value="javascript:alert(1)"' in html
    assert "Die Webhook-URL muss mit https:// (oder http://) beginnen." in html
    assert site_row(database, site).webhook_url is None

    made = client.post(
        f"/settings/sites/{sid}/webhook", data={"webhook_url": receiver.url, "csrf_token": token}
    )
    assert made.status_code == 200
    shown = re.search(r'id="webhook-secret">(whsec_[A-Za-z0-9+/=]+)<', made.get_data(as_text=True))
    assert shown is not None and site_row(database, site).webhook_secret == shown.group(1)
    page = client.get(f"/settings/sites/{sid}").get_data(as_text=True)
    assert shown.group(1) not in page and "Noch keine Zustellungen." in page

    rotated = client.post(f"/settings/sites/{sid}/webhook/rotate", data={"csrf_token": token})
    again = re.search(r'id="webhook-secret">(whsec_[A-Za-z0-9+/=]+)<', rotated.get_data(as_text=True))
    assert again is not None and again.group(1) != shown.group(1)
    assert "Das bisherige Geheimnis signiert auch noch bis" in rotated.get_data(as_text=True)

    assert client.post(f"/settings/sites/{sid}/webhook/test", data={"csrf_token": token}).status_code == 302
    assert run_due(resources) == 1
    assert verified(again.group(1), receiver.requests[-1])["data"]["test"] is True
    page = client.get(f"/settings/sites/{sid}").get_data(as_text=True)
    assert "webhook.test" in page and "zugestellt" in page and 'class="delivery-delivered"' in page

    assert (
        client.post(f"/settings/sites/{sid}/webhook/disable", data={"csrf_token": token}).status_code == 302
    )
    assert site_row(database, site).webhook_disabled_reason == "admin"
    assert (
        client.post(
            f"/settings/sites/{sid}/webhook", data={"webhook_url": "", "csrf_token": token}
        ).status_code
        == 302
    )
    assert site_row(database, site).webhook_url is None
    with database.sessions() as session:
        events = set(session.scalars(select(AuditEvent.event).where(AuditEvent.site_id == sid)))
    assert {
        "site.webhook_changed",
        "site.webhook_secret_rotated",
        "site.webhook_test_sent",
        "site.webhook_disabled",
    } <= events
    audit = client.get("/audit").get_data(as_text=True)
    assert "Neues Signaturgeheimnis für den Webhook" in audit


def test_cli_sets_the_endpoint_prints_the_secret_once_and_rotates(
    config: Config, database: Database, site: NewSite, receiver: Receiver
) -> None:
    env = {
        "MODERATION_HOME": str(config.home),
        "DATABASE_URL": database.url,
        "REDIS_URL": TEST_REDIS_URL,
        "SECRET_KEY": "test-secret-key",
    }

    def run(*args: str, allow: str = "1") -> Any:
        return CliRunner().invoke(
            cli, ["sites", "webhook", *args], env=env | {"MODERATION_WEBHOOK_ALLOW_PRIVATE": allow}
        )

    refused = run("testsite", "--url", receiver.url, allow="0")
    assert refused.exit_code == 2 and "MODERATION_WEBHOOK_ALLOW_PRIVATE=1" in refused.output
    made = run("testsite", "--url", receiver.url)
    assert made.exit_code == 0, made.output
    (line,) = [x for x in made.output.splitlines() if x.startswith("webhook secret:")]
    secret = line.split()[2]
    assert secret.startswith("whsec_") and site_row(database, site).webhook_secret == secret
    same = run("testsite", "--url", receiver.url)
    assert same.exit_code == 0 and "webhook secret" not in same.output
    rotated = run("testsite", "--rotate", "--test", "--log")
    assert rotated.exit_code == 0, rotated.output
    assert "webhook secret: whsec_" in rotated.output and "webhook.test" in rotated.output
    assert site_row(database, site).webhook_secret_previous == secret
    off = run("testsite", "--disable")
    assert off.exit_code == 0 and "switched off: admin" in off.output
    on = run("testsite", "--enable")
    assert on.exit_code == 0 and f"{receiver.url} (on)" in on.output
    assert run("nosuchsite", "--rotate").exit_code == 1


def test_erasing_an_author_deletes_the_deliveries_that_carry_their_comments(
    client: FlaskClient,
    site: NewSite,
    context: Any,
    database: Database,
    redis_conn: redis.Redis,
    receiver: Receiver,
) -> None:
    connect(database, site, receiver.url)
    auth = {"Authorization": f"Bearer {site.secret_key}"}
    for author in ("leser-1", "leser-2"):
        body = {"text": f"Ein Kommentar von {author}.", "article_id": "a1", "author": {"id": author}}
        assert client.post("/api/v1/comments", json=body, headers=auth).status_code == 202
    run_jobs(redis_conn, QUEUE_NAME)
    run_jobs(redis_conn, webhooks.QUEUE)
    assert len(deliveries(database)) == 2 and all(
        b"leser-1" in r.body or b"leser-2" in r.body for r in receiver.requests
    )
    with database.sessions() as session:
        row = session.get(Site, site.site.id)
        assert row is not None
        session.expunge(row)
    erased = privacy.erase_author(
        database.sessions, row, "leser-1", actor="test", fallback_key="k", caches=privacy.Caches()
    )
    assert erased is not None
    left = deliveries(database)
    assert len(left) == 1 and "leser-1" not in left[0].body and "leser-2" in left[0].body
    with database.sessions() as session:
        assert session.scalar(select(func.count()).select_from(WebhookAttempt)) == 1
    assert json.loads(left[0].body)["type"] == "comment.decided"
