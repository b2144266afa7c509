"""Dashboard accounts: login, throttling, CSRF, roles, cookie and security headers (SQLite + PostgreSQL)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from moderation.store.accounts import NewSite
from moderation.store.db import transaction
from moderation.store.tables import AuditEvent
from tests.browser import seed
from tests.conftest import Database


@pytest.fixture
def users(database: Database) -> None:
    with transaction(database.sessions) as session:
        seed.make_users(session)


def test_pages_need_login(client: FlaskClient) -> None:
    for path in ("/", "/queue/all", "/audit", "/stats", "/models", "/settings"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")


def test_login_page_is_german_by_default_and_english_on_request(client: FlaskClient) -> None:
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="de">' in page and "Anmelden" in page and "Passwort" in page
    token = seed.csrf_of(page)
    client.post("/language", data={"lang": "en", "csrf_token": token, "next": "/login"})
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in page and "Log in" in page and "Password" in page


def test_login_logout(client: FlaskClient, users: None, database: Database) -> None:
    token = seed.login(client, "MOD@example.org ", "moderator-password-1")
    page = client.get("/")
    assert page.status_code == 200 and "mod@example.org" in page.get_data(as_text=True)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/").status_code == 302
    with database.sessions() as session:
        assert "login.succeeded" in session.scalars(select(AuditEvent.event)).all()


def test_wrong_password_then_throttled(client: FlaskClient, users: None) -> None:
    token = seed.csrf_of(client.get("/login").get_data(as_text=True))
    form = {"email": "mod@example.org", "password": "wrong-password", "csrf_token": token}
    for _ in range(5):
        response = client.post("/login", data=form)
        assert response.status_code == 401
        assert "E-Mail oder Passwort ist falsch" in response.get_data(as_text=True)
    # Now even the right password is refused until the window passes.
    response = client.post("/login", data=dict(form, password="moderator-password-1"))
    assert response.status_code == 429
    assert client.get("/").status_code == 302


def test_login_without_csrf_token_is_refused(client: FlaskClient, users: None) -> None:
    response = client.post("/login", data={"email": "mod@example.org", "password": "moderator-password-1"})
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert client.get("/").status_code == 302


def test_open_redirect_after_login_is_refused(client: FlaskClient, users: None) -> None:
    token = seed.csrf_of(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login",
        data={
            "email": "mod@example.org",
            "password": "moderator-password-1",
            "csrf_token": token,
            "next": "//evil.example/phish",
        },
    )
    assert response.headers["Location"] == "/"


def test_moderator_cannot_open_admin_settings(client: FlaskClient, users: None, site: NewSite) -> None:
    token = seed.login(client, "mod@example.org", "moderator-password-1")
    assert client.get("/settings").status_code == 403
    assert client.get(f"/settings/sites/{site.site.id}").status_code == 403
    assert client.post("/settings/sites", data={"name": "x", "csrf_token": token}).status_code == 403
    assert "Einstellungen" not in client.get("/").get_data(as_text=True)


def test_admin_opens_settings(client: FlaskClient, users: None) -> None:
    seed.login(client, "admin@example.org", "admin-password-1")
    assert client.get("/settings").status_code == 200


def test_session_cookie_flags_and_headers(client: FlaskClient, users: None) -> None:
    token = seed.csrf_of(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login",
        data={"email": "mod@example.org", "password": "moderator-password-1", "csrf_token": token},
        base_url="https://dashboard.example",
    )
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Lax" in cookie
    page = client.get("/", base_url="https://dashboard.example")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Cache-Control"] == "no-store"


def test_api_errors_stay_json(client: FlaskClient) -> None:
    response = client.get("/api/v1/comments/nope")
    assert response.mimetype == "application/json"
    page = client.get("/no-such-page")
    assert page.status_code == 404 and page.mimetype == "text/html"
