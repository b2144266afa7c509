"""The moderator dashboard: server-rendered pages at `/`, one blueprint per concern.

Login, CSRF and security headers are enforced here for every dashboard blueprint at once, so a new
view cannot forget them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask, Response, redirect, render_template, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_babel import Babel, format_datetime
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import HTTPException

from moderation.domain.timestamps import as_utc
from moderation.web.dashboard import (
    actions,
    audit,
    auth,
    catalogue,
    coral,
    limits,
    model_versions,
    queue,
    settings,
    stats,
    webhooks,
    wording,
)
from moderation.web.dashboard.highlight import highlight, isolate
from moderation.web.dashboard.numbers import day_input, hours, number, percent

LANGUAGES = ("de", "en")
DEFAULT_LANGUAGE = "de"
BLUEPRINTS = (
    auth.bp,
    queue.bp,
    actions.bp,
    audit.bp,
    stats.bp,
    settings.bp,
    model_versions.bp,
    coral.bp,
    webhooks.bp,
    limits.bp,
)
_PUBLIC_ENDPOINTS = {"auth.login", "auth.language"}
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)

csrf = CSRFProtect()


class _SessionInterface(SecureCookieSessionInterface):
    """Marks the session cookie Secure whenever the request came over HTTPS (directly or via a proxy
    that says so), so `moderation up` on plain http://127.0.0.1 still works while production is safe."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or request.is_secure


def select_locale() -> str:
    chosen = session.get("lang")
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


def _is_dashboard_request() -> bool:
    return request.blueprint in {bp.name for bp in BLUEPRINTS}


def _guard() -> Any:
    """Login for every dashboard page except the login form; CSRF on every state-changing request."""
    if not _is_dashboard_request():
        return None
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()
    if request.endpoint in _PUBLIC_ENDPOINTS or current_user.is_authenticated:
        return None
    if request.accept_mimetypes.best == "application/json" or request.headers.get("X-Requested-With"):
        return Response(
            '{"error": {"code": "unauthorized", "message": "log in first"}}', 401, mimetype="application/json"
        )
    return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))


def _security_headers(response: Response) -> Response:
    if _is_dashboard_request() or request.path.startswith("/static/"):
        response.headers.setdefault("Content-Security-Policy", _CSP)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
    if _is_dashboard_request():
        # Pages show comment texts and author data: keep them out of shared caches and the back button.
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def render_error(exc: HTTPException) -> Response:
    """HTML error page for dashboard paths (the API keeps its JSON errors)."""
    status = exc.code or 500
    body = render_template("error.html", status=status, description=exc.description)
    return Response(body, status, mimetype="text/html")


def _datetime_filter(value: datetime | None, fmt: str = "short") -> str:
    value = as_utc(value)
    return "" if value is None else format_datetime(value, fmt)


def init_app(app: Flask) -> None:
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)  # checked in _guard for dashboard views only
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # the token lives as long as the session
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Europe/Berlin")
    app.config.setdefault("PERMANENT_SESSION_LIFETIME", 12 * 3600)
    app.session_interface = _SessionInterface()
    csrf.init_app(app)
    Babel(app, locale_selector=select_locale)
    login = LoginManager(app)
    login.session_protection = "strong"
    login.login_view = "auth.login"
    login.user_loader(auth.load_user)
    app.before_request(_guard)
    app.after_request(_security_headers)
    app.extensions["html_errors"] = render_error
    app.jinja_env.filters["highlight"] = highlight
    app.jinja_env.filters["isolate"] = isolate
    app.jinja_env.filters["when"] = _datetime_filter
    app.jinja_env.filters["number"] = number
    app.jinja_env.filters["percent"] = percent
    app.jinja_env.filters["hours"] = hours
    app.jinja_env.filters["day_input"] = day_input
    wording.init_app(app)
    catalogue.init_app(app)
    app.context_processor(lambda: {"languages": LANGUAGES, "current_language": select_locale()})
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
