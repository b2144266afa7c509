"""Security: redirects after login, login throttling, session revocation, rate limits, `?wait` slots,
per-site IP hashing keys and file modes (real Redis, SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import redis
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import func, select

from moderation.cli.main import cli
from moderation.config import Config
from moderation.resources import Resources
from moderation.store.accounts import NewSite, set_password
from moderation.store.db import make_engine, transaction
from moderation.store.tables import AuditEvent, Comment, Site
from moderation.web import ratelimit
from moderation.web.api import wait_slots
from moderation.web.app import create_app
from moderation.web.dashboard.auth import is_safe_next
from moderation.web.ratelimit import Budget, SlidingWindowLimiter
from tests.browser import seed
from tests.conftest import Database

MOD = ("mod@example.org", "moderator-password-1")
ORIGIN = "https://zeitung.example"


@pytest.fixture
def users(database: Database) -> None:
    with transaction(database.sessions) as session:
        seed.make_users(session)


def app_with(resources: Resources, **overrides: Any) -> Flask:
    """The app on the same database and Redis, with some settings changed."""
    changed = Resources(
        resources.config.with_overrides(**overrides), resources.engine, resources.sessions, resources.redis
    )
    return create_app(resources=changed, test_config={"TESTING": True})


def dead_redis() -> redis.Redis:
    """A client of a Redis that is not there: refused at once, no retries."""
    return redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))


def login_form(client: FlaskClient, email: str, password: str, **extra: str) -> dict[str, str]:
    token = seed.csrf_of(client.get("/login").get_data(as_text=True))
    return {"email": email, "password": password, "csrf_token": token, **extra}


def post_login(client: FlaskClient, email: str, password: str, address: str, **headers: str) -> int:
    form = login_form(client, email, password)
    response = client.post("/login", data=form, environ_base={"REMOTE_ADDR": address}, headers=headers)
    return response.status_code


def comment(
    author: str = "leser-1", ip: str | None = None, text: str = "Ein sachlicher Beitrag."
) -> dict[str, Any]:
    person: dict[str, Any] = {"id": author}
    if ip:
        person["ip"] = ip
    return {"text": text, "article_id": "artikel-1", "author": person}


def bearer(key: str, **more: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **more}


# --- 1. Safe `next` -----------------------------------------------------------------------------------

UNSAFE_NEXT = [
    "//evil.example",
    "//evil.example/phish",
    "/\\evil.example",
    "/\\/evil.example",
    "\\\\evil.example",
    "/\t/evil.example",  # what `/%09/evil.example` decodes to: browsers drop the tab, leaving //evil.example
    "/\n/evil.example",
    "/\r\nSet-Cookie:x=1",
    "/ /evil.example",
    "https://evil.example/",
    "http:/evil.example",
    "javascript:alert(1)",
    "evil.example",
    "",
    "/" + "a" * 2001,
    "/\u3000/evil.example",
    "/\u202e/x",
]
SAFE_NEXT = [
    "/",
    "/queue/all?site=2&q=m%C3%BCll",
    "/audit?before=10#top",
    "/%2F%2Fevil.example",
    "/@evil.example",
]


@pytest.mark.parametrize("target", UNSAFE_NEXT)
def test_unsafe_next_is_refused(target: str) -> None:
    assert not is_safe_next(target)


@pytest.mark.parametrize("target", SAFE_NEXT)
def test_same_origin_paths_are_kept(target: str) -> None:
    assert is_safe_next(target)


@pytest.mark.parametrize(
    "query",
    [
        "/%09/evil.example",
        "/%0d%0aSet-Cookie:x=1",
        "//evil.example",
        "/%5Cevil.example",
        "https://evil.example",
    ],
)
def test_get_login_when_logged_in_never_leaves_the_site(client: FlaskClient, users: None, query: str) -> None:
    seed.login(client, *MOD)
    response = client.get(f"/login?next={query}")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert "x=1" not in response.headers.get("Set-Cookie", "")


def test_get_login_keeps_a_same_site_next(client: FlaskClient, users: None) -> None:
    seed.login(client, *MOD)
    response = client.get("/login?next=/audit%3Fbefore%3D5")
    assert response.headers["Location"] == "/audit?before=5"


@pytest.mark.parametrize("target", ["/\t/evil.example", "//evil.example", "/\\evil.example", "/\r\nX: y"])
def test_post_login_language_and_actions_fall_back_home(
    client: FlaskClient, users: None, target: str
) -> None:
    response = client.post("/login", data=login_form(client, *MOD, next=target))
    assert response.status_code == 302 and response.headers["Location"] == "/"
    token = seed.csrf_of(client.get("/").get_data(as_text=True))
    response = client.post("/language", data={"lang": "en", "csrf_token": token, "next": target})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    response = client.post("/actions/decide", data={"action": "approve", "csrf_token": token, "next": target})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    response = client.post(
        "/actions/decide", data={"action": "approve", "csrf_token": token, "next": "/audit"}
    )
    assert response.headers["Location"] == "/audit"


# --- 2. Login throttling ------------------------------------------------------------------------------


def test_guessing_from_one_address_does_not_lock_out_the_moderator(
    client: FlaskClient, users: None, database: Database
) -> None:
    for _ in range(5):
        assert post_login(client, MOD[0], "wrong-password", "198.51.100.7") == 401
    # That address is stopped, even with the right password, before any password check ...
    assert post_login(client, MOD[0], MOD[1], "198.51.100.7") == 429
    with database.sessions() as session:
        assert session.scalar(select(func.count()).where(AuditEvent.event == "login.failed")) == 5
    # ... while the moderator, at another address, logs in.
    assert post_login(client, MOD[0], MOD[1], "203.0.113.20") == 302
    assert client.get("/", environ_base={"REMOTE_ADDR": "203.0.113.20"}).status_code == 200


def test_address_budget_spans_accounts(client: FlaskClient, users: None, database: Database) -> None:
    for i in range(50):
        assert post_login(client, f"guess{i}@example.org", "wrong-password", "198.51.100.8") == 401
    assert post_login(client, "admin@example.org", "admin-password-1", "198.51.100.8") == 429
    assert post_login(client, "admin@example.org", "admin-password-1", "198.51.100.9") == 302


def test_success_clears_the_account_counter(app: Flask, users: None) -> None:
    for _ in range(2):
        client = app.test_client()
        for _ in range(4):
            assert post_login(client, MOD[0], "wrong-password", "198.51.100.10") == 401
        assert post_login(client, MOD[0], MOD[1], "198.51.100.10") == 302


def test_parallel_guesses_get_no_more_password_checks_than_the_budget(
    app: Flask, users: None, database: Database
) -> None:
    clients = [app.test_client() for _ in range(40)]
    forms = [login_form(c, MOD[0], f"wrong-password-{i}") for i, c in enumerate(clients)]
    statuses: list[int] = []
    start = threading.Barrier(len(clients))

    def guess(c: FlaskClient, form: dict[str, str]) -> None:
        start.wait()
        response = c.post("/login", data=form, environ_base={"REMOTE_ADDR": "198.51.100.11"})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=guess, args=pair) for pair in zip(clients, forms, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [401] * 5 + [429] * 35
    with database.sessions() as session:
        checked = session.scalar(select(func.count()).where(AuditEvent.event == "login.failed"))
    assert checked == 5


def test_real_client_address_behind_a_trusted_proxy(resources: Resources, users: None) -> None:
    proxied = app_with(resources, trusted_proxies=1).test_client()
    # Everyone arrives from the proxy's address; X-Forwarded-For names the reader.
    for _ in range(5):
        status = post_login(proxied, MOD[0], "wrong", "10.0.0.2", **{"X-Forwarded-For": "198.51.100.12"})
        assert status == 401
    assert post_login(proxied, MOD[0], MOD[1], "10.0.0.2", **{"X-Forwarded-For": "198.51.100.12"}) == 429
    assert post_login(proxied, MOD[0], MOD[1], "10.0.0.2", **{"X-Forwarded-For": "203.0.113.30"}) == 302


def test_forwarded_for_is_ignored_without_trusted_proxies(client: FlaskClient, users: None) -> None:
    for i in range(5):
        status = post_login(client, MOD[0], "wrong", "198.51.100.13", **{"X-Forwarded-For": f"203.0.113.{i}"})
        assert status == 401
    assert post_login(client, MOD[0], MOD[1], "198.51.100.13", **{"X-Forwarded-For": "203.0.113.99"}) == 429


def test_login_throttle_counts_in_sql_when_redis_is_down(
    resources: Resources, users: None, database: Database
) -> None:
    broken = create_app(
        resources=Resources(resources.config, resources.engine, resources.sessions, dead_redis()),
        test_config={"TESTING": True},
    )
    client = broken.test_client()
    for _ in range(5):
        assert post_login(client, MOD[0], "wrong-password", "198.51.100.14") == 401
    assert post_login(client, MOD[0], MOD[1], "198.51.100.14") == 429
    assert post_login(client, MOD[0], MOD[1], "203.0.113.40") == 302


def test_login_addresses_are_not_hashed_with_a_site_key_or_plain(
    client: FlaskClient, users: None, database: Database, resources: Resources
) -> None:
    assert post_login(client, MOD[0], "wrong", "198.51.100.15") == 401
    with database.sessions() as session:
        data = session.scalars(select(AuditEvent.data).where(AuditEvent.event == "login.failed")).one()
    plain = hmac.new(resources.config.secret_key.encode(), b"198.51.100.15", hashlib.sha256).hexdigest()
    assert data["ip_hash"] != plain and "198.51.100.15" not in str(data)


@pytest.mark.parametrize("raw", ["-1", "11", "zwei"])
def test_trusted_proxies_is_validated(raw: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="MODERATION_TRUSTED_PROXIES"):
        Config.from_env(
            {"MODERATION_HOME": str(tmp_path), "SECRET_KEY": "k", "MODERATION_TRUSTED_PROXIES": raw}
        )
    env = {"MODERATION_HOME": str(tmp_path), "SECRET_KEY": "k", "MODERATION_TRUSTED_PROXIES": "2"}
    assert Config.from_env(env).trusted_proxies == 2


# --- 3. Session revocation ----------------------------------------------------------------------------


def copy_session(source: FlaskClient, target: FlaskClient) -> None:
    cookie = source.get_cookie("session")
    assert cookie is not None
    target.set_cookie("session", cookie.value)


def test_copied_cookie_stops_working_after_logout(app: Flask, users: None) -> None:
    moderator, thief = app.test_client(), app.test_client()
    token = seed.login(moderator, *MOD)
    copy_session(moderator, thief)
    assert thief.get("/").status_code == 200
    assert moderator.post("/logout", data={"csrf_token": token}).status_code == 302
    assert thief.get("/").status_code == 302
    # Logging in again gives a new session that works; the old copy stays dead.
    seed.login(moderator, *MOD)
    assert moderator.get("/").status_code == 200
    assert thief.get("/").status_code == 302


def test_password_change_ends_open_sessions(app: Flask, users: None, database: Database) -> None:
    moderator = app.test_client()
    seed.login(moderator, *MOD)
    assert moderator.get("/").status_code == 200
    with transaction(database.sessions) as session:
        set_password(session, MOD[0], "a-new-password-2")
    assert moderator.get("/").status_code == 302
    assert post_login(moderator, MOD[0], MOD[1], "198.51.100.16") == 401
    assert post_login(moderator, MOD[0], "a-new-password-2", "198.51.100.16") == 302


def test_dashboard_password_change_keeps_this_session_and_ends_the_others(app: Flask, users: None) -> None:
    moderator, other_device = app.test_client(), app.test_client()
    token = seed.login(moderator, *MOD)
    seed.login(other_device, *MOD)
    page = moderator.get("/account/password")
    assert page.status_code == 200 and "Passwort ändern" in page.get_data(as_text=True)
    form = {"csrf_token": token, "current_password": "falsch-falsch", "new_password": "neues-passwort-9"}
    assert (
        moderator.post("/account/password", data=dict(form, repeat_password="neues-passwort-9")).status_code
        == 403
    )
    form["current_password"] = MOD[1]
    assert (
        moderator.post("/account/password", data=dict(form, repeat_password="anders-passwort")).status_code
        == 422
    )
    assert (
        moderator.post(
            "/account/password", data=dict(form, new_password="kurz", repeat_password="kurz")
        ).status_code
        == 422
    )
    done = moderator.post("/account/password", data=dict(form, repeat_password="neues-passwort-9"))
    assert done.status_code == 302
    assert moderator.get("/").status_code == 200
    assert other_device.get("/").status_code == 302
    assert post_login(other_device, MOD[0], "neues-passwort-9", "127.0.0.1") == 302


def test_dashboard_password_guesses_are_throttled(app: Flask, users: None) -> None:
    moderator = app.test_client()
    token = seed.login(moderator, *MOD)
    form = {"csrf_token": token, "new_password": "neues-passwort-9", "repeat_password": "neues-passwort-9"}
    for i in range(5):
        guess = moderator.post("/account/password", data=dict(form, current_password=f"rate-{i}"))
        assert guess.status_code == 403
    assert moderator.post("/account/password", data=dict(form, current_password=MOD[1])).status_code == 429


def test_cli_password_change(app: Flask, users: None, database: Database, tmp_path: Path) -> None:
    moderator = app.test_client()
    seed.login(moderator, *MOD)
    env = {"DATABASE_URL": database.url, "MODERATION_HOME": str(tmp_path), "SECRET_KEY": "k", "REDIS_URL": ""}
    result = CliRunner().invoke(cli, ["users", "password", MOD[0], "--password", "cli-password-123"], env=env)
    assert result.exit_code == 0, result.output
    assert moderator.get("/").status_code == 302
    result = CliRunner().invoke(
        cli, ["users", "password", "nobody@example.org", "--password", "x" * 12], env=env
    )
    assert result.exit_code != 0 and "no account" in result.output


# --- 4. Rate limits -----------------------------------------------------------------------------------


def browser_site(database: Database, site: NewSite) -> None:
    with transaction(database.sessions) as session:
        row = session.get(Site, site.site.id)
        assert row is not None
        row.allowed_origins = [ORIGIN]


def test_default_budget_fits_a_full_batch(client: FlaskClient, site: NewSite, database: Database) -> None:
    batch = {"comments": [comment(f"leser-{i}", text=f"Beitrag {i}") for i in range(1000)]}
    response = client.post("/api/v1/comments:batch", json=batch, headers=bearer(site.secret_key))
    assert response.status_code == 202, response.get_data(as_text=True)
    assert len(response.get_json()["comments"]) == 1000
    again = client.post("/api/v1/comments:batch", json=batch, headers=bearer(site.secret_key))
    assert again.status_code == 429
    assert again.get_json()["error"]["details"]["budget"] == "site"
    assert 1 <= int(again.headers["Retry-After"]) <= 60


def test_refused_batch_uses_up_nothing(resources: Resources, site: NewSite, database: Database) -> None:
    client = app_with(resources, rate_limit_per_minute=10).test_client()

    def batch(n: int, tag: str) -> int:
        items = [comment(text=f"{tag} {i}") for i in range(n)]
        return client.post(
            "/api/v1/comments:batch", json={"comments": items}, headers=bearer(site.secret_key)
        ).status_code

    assert batch(8, "a") == 202
    assert batch(5, "b") == 429
    assert batch(2, "c") == 202  # the refused five took nothing
    assert batch(1, "d") == 429
    assert batch(11, "e") == 429
    with database.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Comment)) == 10


def test_publishable_key_cannot_spend_the_sites_budget(
    resources: Resources, site: NewSite, database: Database
) -> None:
    browser_site(database, site)
    client = app_with(resources, rate_limit_per_minute=5, rate_limit_browser_per_minute=3).test_client()
    from_browser = bearer(site.publishable_key, Origin=ORIGIN)
    for i in range(3):
        assert client.post("/api/v1/comments", json=comment(f"b{i}"), headers=from_browser).status_code == 202
    refused = client.post("/api/v1/comments", json=comment("b9"), headers=from_browser)
    assert refused.status_code == 429 and refused.get_json()["error"]["details"]["budget"] == "browser"
    for i in range(5):
        server = client.post("/api/v1/comments", json=comment(f"s{i}"), headers=bearer(site.secret_key))
        assert server.status_code == 202
    assert (
        client.post("/api/v1/comments", json=comment("s9"), headers=bearer(site.secret_key)).status_code
        == 429
    )


def test_per_author_budget(resources: Resources, site: NewSite) -> None:
    client = app_with(resources, rate_limit_author_per_minute=2).test_client()
    for i in range(2):
        assert (
            client.post(
                "/api/v1/comments",
                json=comment("vielschreiber", text=f"t{i}"),
                headers=bearer(site.secret_key),
            ).status_code
            == 202
        )
    refused = client.post(
        "/api/v1/comments", json=comment("vielschreiber", text="t3"), headers=bearer(site.secret_key)
    )
    assert refused.status_code == 429 and refused.get_json()["error"]["details"]["budget"] == "author"
    assert (
        client.post("/api/v1/comments", json=comment("andere"), headers=bearer(site.secret_key)).status_code
        == 202
    )


def test_per_address_budget(
    resources: Resources, site: NewSite, other_site: NewSite, database: Database
) -> None:
    browser_site(database, site)
    client = app_with(resources, rate_limit_address_per_minute=2).test_client()
    key = bearer(site.secret_key)
    for i in range(2):
        assert (
            client.post("/api/v1/comments", json=comment(f"a{i}", ip="192.0.2.1"), headers=key).status_code
            == 202
        )
    refused = client.post("/api/v1/comments", json=comment("a9", ip="192.0.2.1"), headers=key)
    assert refused.status_code == 429 and refused.get_json()["error"]["details"]["budget"] == "address"
    assert client.post("/api/v1/comments", json=comment("a8", ip="192.0.2.2"), headers=key).status_code == 202
    # Another site's readers have budgets of their own.
    other = bearer(other_site.secret_key)
    assert (
        client.post("/api/v1/comments", json=comment("o1", ip="192.0.2.1"), headers=other).status_code == 202
    )
    # A browser's address is the request's own; an `author.ip` it sends does not get it round the budget.
    from_browser = bearer(site.publishable_key, Origin=ORIGIN)
    env = {"REMOTE_ADDR": "192.0.2.50"}
    for i in range(2):
        ok = client.post(
            "/api/v1/comments",
            json=comment(f"w{i}", ip=f"10.1.1.{i}"),
            headers=from_browser,
            environ_base=env,
        )
        assert ok.status_code == 202
    refused = client.post(
        "/api/v1/comments", json=comment("w9", ip="10.1.1.9"), headers=from_browser, environ_base=env
    )
    assert refused.status_code == 429 and refused.get_json()["error"]["details"]["budget"] == "address"


def test_window_slides(redis_conn: redis.Redis) -> None:
    limiter = SlidingWindowLimiter(redis_conn, window_s=2)
    budget = Budget("site", "test:slide", 4, 1)
    for _ in range(3):
        assert limiter.take([budget]).allowed
    time.sleep(1.2)
    assert limiter.take([budget]).allowed
    refused = limiter.take([budget])
    # A fixed window would start afresh at a boundary; here the first three leave only two seconds later.
    assert not refused.allowed and refused.retry_after_s == 1
    time.sleep(0.9)
    assert limiter.take([Budget("site", "test:slide", 4, 3)]).allowed
    assert not limiter.take([budget]).allowed


def test_all_or_nothing_across_budgets(redis_conn: redis.Redis) -> None:
    limiter = SlidingWindowLimiter(redis_conn)
    roomy, tight = Budget("site", "test:roomy", 100, 1), Budget("author", "test:tight", 1, 1)
    assert limiter.take([roomy, tight]).allowed
    verdict = limiter.take([roomy, tight])
    assert not verdict.allowed and verdict.budget == tight
    assert redis_conn.zcard(ratelimit.PREFIX + "test:roomy") == 1


def fail_open_count() -> float:
    return ratelimit.METRICS.get_sample_value("moderation_rate_limit_fail_open_total") or 0.0


def test_redis_down_fails_open_with_a_log_line_and_a_metric(
    resources: Resources, site: NewSite, caplog: pytest.LogCaptureFixture
) -> None:
    broken = create_app(
        resources=Resources(
            resources.config.with_overrides(rate_limit_per_minute=1),
            resources.engine,
            resources.sessions,
            dead_redis(),
        ),
        test_config={"TESTING": True},
    )
    client = broken.test_client()
    before = fail_open_count()
    SlidingWindowLimiter._last_warning = 0.0
    with caplog.at_level(logging.WARNING, logger="moderation.web.ratelimit"):
        for i in range(3):
            assert (
                client.post(
                    "/api/v1/comments", json=comment(text=f"t{i}"), headers=bearer(site.secret_key)
                ).status_code
                == 202
            )
    assert fail_open_count() - before == 3
    assert any("letting requests through" in r.getMessage() for r in caplog.records)
    metrics = client.get("/metrics").get_data(as_text=True)
    assert "moderation_rate_limit_fail_open_total" in metrics
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert "failing open" in ready.get_json()["error"]["details"]["rate_limits"]


# --- 5. `?wait` slots ---------------------------------------------------------------------------------


def test_wait_over_the_cap_answers_at_once(resources: Resources, site: NewSite, other_site: NewSite) -> None:
    app = app_with(resources, wait_max_concurrent=2, wait_max_concurrent_per_site=1)
    results: dict[str, tuple[int, float]] = {}

    def post(name: str, key: str) -> None:
        started = time.monotonic()
        response = app.test_client().post(
            "/api/v1/comments?wait=1500", json=comment(name, text=name), headers=bearer(key)
        )
        results[name] = (response.status_code, time.monotonic() - started)

    # No worker runs, so a request that may wait holds its thread for the whole 1.5 s.
    holder = threading.Thread(target=post, args=("first", site.secret_key))
    holder.start()
    time.sleep(0.3)
    post("second", site.secret_key)  # same site: its one slot is taken
    other = threading.Thread(target=post, args=("other", other_site.secret_key))
    other.start()
    time.sleep(0.3)
    post("third", other_site.secret_key)  # the two slots of the process are taken
    holder.join()
    other.join()
    assert results["first"][0] == 202 and results["first"][1] >= 1.4
    assert results["other"][0] == 202 and results["other"][1] >= 1.4
    assert results["second"][0] == 202 and results["second"][1] < 0.5
    assert results["third"][0] == 202 and results["third"][1] < 0.5
    slots = wait_slots(app)
    assert slots.try_acquire(site.site.id)  # all given back
    slots.release(site.site.id)


# --- 6. Keys and file modes ---------------------------------------------------------------------------


def test_ip_hash_uses_the_sites_own_key(
    client: FlaskClient, site: NewSite, other_site: NewSite, database: Database, resources: Resources
) -> None:
    for s in (site, other_site):
        response = client.post(
            "/api/v1/comments", json=comment(ip="192.0.2.77"), headers=bearer(s.secret_key)
        )
        assert response.status_code == 202
    with database.sessions() as session:
        rows = {c.site_id: c.author_ip_hash for c in session.scalars(select(Comment))}
        keys = {s.id: s.ip_hash_key for s in session.scalars(select(Site))}
    assert rows[site.site.id] != rows[other_site.site.id]
    for site_id, stored in rows.items():
        key = keys[site_id]
        assert key and len(key) == 64
        assert stored == hmac.new(key.encode(), b"192.0.2.77", hashlib.sha256).hexdigest()
        assert (
            stored
            != hmac.new(resources.config.secret_key.encode(), b"192.0.2.77", hashlib.sha256).hexdigest()
        )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_database_and_secrets_are_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY", "REDIS_URL")}
    env["MODERATION_HOME"] = str(home)
    command = [sys.executable, "-m", "moderation", "migrate"]
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=120)
    assert mode(home / "moderation.db") == 0o600
    assert mode(home / "secret_key") == 0o600
    # The CLI's umask covers what else it writes under MODERATION_HOME.
    result = subprocess.run(
        [sys.executable, "-m", "moderation", "sites", "create", "blatt"],
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    for path in home.rglob("*"):
        assert mode(path) & 0o077 == 0, path


def test_existing_database_file_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    path.touch()
    path.chmod(0o644)
    make_engine(f"sqlite:///{path}").dispose()
    assert mode(path) == 0o600
