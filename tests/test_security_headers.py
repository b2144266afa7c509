"""Security headers on every answer: pages, API answers, JSON and HTML errors, 404s, 405s and 500s."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from moderation.store.accounts import NewSite
from moderation.web.security import DATA_CSP, HTML_CSP
from tests.hostile_env import HostileEnv, hostile_env

COMMON = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def assert_headers(response: Any, *, html: bool) -> None:
    for name, value in COMMON.items():
        assert response.headers.get(name) == value, (name, response.status_code, dict(response.headers))
    csp = response.headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in csp
    assert csp == (HTML_CSP if html else DATA_CSP)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostileEnv]:
    with hostile_env(request.param, tmp_path_factory.mktemp("headers")) as environment:
        yield environment


def bearer(site: NewSite) -> dict[str, str]:
    return {"Authorization": f"Bearer {site.secret_key}"}


COMMENT = {"text": "Ein Kommentar", "article_id": "a", "author": {"id": "leserin"}}


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/api/v1/comments", COMMENT, 202),
        ("POST", "/api/v1/comments", {"text": ""}, 422),
        ("POST", "/api/v1/comments", b"{", 400),
        ("POST", "/api/v1/comments?wait=x", COMMENT, 400),
        ("GET", "/api/v1/comments/nope", None, 404),
        ("GET", "/api/v1/unknown", None, 404),
        ("DELETE", "/api/v1/comments", None, 405),
        ("GET", "/api/v1/comments/a%00", None, 400),
        ("GET", "/healthz", None, 200),
        ("GET", "/metrics", None, 200),
        ("GET", "/api/openapi.json", None, 200),
    ],
)
def test_api_answers_carry_the_headers(
    env: HostileEnv, method: str, path: str, body: Any, status: int
) -> None:
    env.redis.flushdb()
    client = env.client()
    kwargs: dict[str, Any] = {"headers": bearer(env.site)}
    if isinstance(body, bytes):
        kwargs.update(data=body, content_type="application/json")
    elif body is not None:
        kwargs["json"] = body
    response = client.open(path, method=method, **kwargs)
    assert response.status_code == status
    assert_headers(response, html=False)
    if path.startswith("/api/v1/"):
        assert response.headers["Cache-Control"] == "no-store"


def test_unauthorized_api_answer_carries_the_headers(env: HostileEnv) -> None:
    response = env.client().post("/api/v1/comments", json=COMMENT)
    assert response.status_code == 401
    assert_headers(response, html=False)


def test_405_names_the_allowed_methods(env: HostileEnv) -> None:
    client = env.client()
    response = client.delete("/api/v1/comments", headers=bearer(env.site))
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "invalid_request"
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"POST"}
    page = client.put("/login")
    assert page.status_code == 405 and "GET" in page.headers["Allow"]
    assert_headers(page, html=True)


@pytest.mark.parametrize(
    ("path", "status"),
    [("/", 200), ("/audit", 200), ("/queue/all?site=%C2%B2", 200), ("/no-such-page", 404), ("/?q=%00", 400)],
)
def test_dashboard_pages_and_errors_carry_the_headers(env: HostileEnv, path: str, status: int) -> None:
    response = env.client("moderator").get(path)
    assert response.status_code == status
    assert response.mimetype == "text/html"
    assert_headers(response, html=True)
    if status == 200:
        # Pages show comment texts and author data.
        assert response.headers["Cache-Control"] == "no-store"


def test_login_page_static_files_and_redirects_carry_the_headers(env: HostileEnv) -> None:
    client = env.client()
    login = client.get("/login")
    assert login.status_code == 200
    assert_headers(login, html=True)
    redirect = client.get("/")
    assert redirect.status_code == 302
    assert_headers(redirect, html=True)
    static = client.get("/static/dashboard.css")
    assert static.status_code == 200
    assert static.headers["X-Content-Type-Options"] == "nosniff"


def test_unexpected_errors_carry_the_headers(app: Flask) -> None:
    """A fresh app of its own (conftest's): routes cannot be added to one that has answered already."""

    def broken() -> str:
        raise RuntimeError("a bug")

    app.add_url_rule("/api/v1/broken", "broken_api", broken)
    app.add_url_rule("/broken", "broken_page", broken)
    client = app.test_client()
    api = client.get("/api/v1/broken")
    assert api.status_code == 500
    assert api.get_json()["error"]["code"] == "internal"
    assert "a bug" not in api.get_data(as_text=True)
    assert_headers(api, html=False)
    page = client.get("/broken")
    assert page.status_code == 500
    assert "a bug" not in page.get_data(as_text=True)
    assert_headers(page, html=page.mimetype == "text/html")


def test_hsts_only_over_https(env: HostileEnv) -> None:
    client = env.client()
    assert "Strict-Transport-Security" not in client.get("/healthz").headers
    secure = client.get("/healthz", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")
