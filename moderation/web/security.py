"""What every answer of the app carries and what no request may carry, whatever blueprint (or none) answers.

Security headers are set on every response: pages, API answers, JSON errors, 404s and 405s for paths no
view knows, and 500s (Flask runs after-request hooks for all of them). Views may set their own first;
these are only defaults.

Some requests are refused before any view runs. A NUL character is never part of anything the service
stores or looks up (comment texts, ids, names and e-mail addresses refuse control characters, and
PostgreSQL cannot hold a NUL in text at all), so a request with one in its path, query string or form
fields gets a 400; a query string longer than any page or API call needs gets a 414.
"""

from __future__ import annotations

from flask import Flask, Response, abort, request
from werkzeug.routing import IntegerConverter

from moderation.web.errors import ApiError, wants_json

# Pages: only our own scripts, styles and forms; never framed.
HTML_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
# Anything else (JSON, metrics, scripts and styles): nothing to load, nothing to frame.
DATA_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
HSTS = "max-age=31536000; includeSubDomains"
# Ids in URLs are database integers; PostgreSQL's INTEGER ends here (SQLite's at 2**63 - 1).
MAX_URL_INT = 2**31 - 1
# The longest query string a dashboard link builds is well under 2 KiB (filters are cut to a few hundred
# characters each); proxies commonly refuse request lines over 4 to 8 KiB anyway.
MAX_QUERY_BYTES = 8192


class BoundedInt(IntegerConverter):
    """`<int:...>` that never matches a number no database row can have (a 404, not an overflow)."""

    def __init__(self, map: object, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("max", MAX_URL_INT)
        super().__init__(map, *args, **kwargs)  # type: ignore[arg-type]


def _has_nul() -> bool:
    if "\x00" in request.path:
        return True
    if any("\x00" in key or "\x00" in value for key, value in request.args.items(multi=True)):
        return True
    if request.path.startswith("/api/") or request.mimetype not in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        return False
    return any("\x00" in key or "\x00" in value for key, value in request.form.items(multi=True))


def refuse_malformed() -> None:
    """400 for a NUL anywhere, 414 for a query string longer than any page or API call needs."""
    if len(request.query_string) > MAX_QUERY_BYTES:
        if wants_json():
            raise ApiError(414, "invalid_request", f"the query string may be at most {MAX_QUERY_BYTES} bytes")
        abort(414)
    if _has_nul():
        if wants_json():
            raise ApiError(400, "invalid_request", "the request contains a NUL character")
        abort(400)


def add_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Content-Security-Policy", HTML_CSP if response.mimetype == "text/html" else DATA_CSP)
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", HSTS)
    if request.path.startswith("/api/v1/"):
        # Answers carry comment texts and author ids: no shared cache may keep them.
        headers.setdefault("Cache-Control", "no-store")
    return response


def install_converters(app: Flask) -> None:
    """Must run before any blueprint is registered: rules pick their converters when they are added."""
    app.url_map.converters["int"] = BoundedInt


def init_app(app: Flask) -> None:
    app.before_request(refuse_malformed)
    app.after_request(add_headers)
