"""JSON errors for the API: `{"error": {"code", "message", "details"?}}`, never HTML, never a trace."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, current_app, jsonify, request
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

log = logging.getLogger(__name__)

# Seconds a client is asked to wait (`Retry-After`) while the database is unavailable.
DATABASE_RETRY_AFTER_S = 5

_CODES_BY_STATUS = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "invalid_request",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    503: "unavailable",
}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def error_response(status: int, code: str, message: str, details: Any = None) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    response = jsonify({"error": body})
    response.status_code = status
    return response


def wants_json() -> bool:
    """API and machine endpoints always answer JSON; browsers on dashboard pages get HTML."""
    path = request.path
    if path.startswith(("/api/", "/v1alpha1/", "/healthz", "/readyz", "/metrics")):
        return True
    return request.accept_mimetypes.best == "application/json"


def register(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        response = current_app.make_response(_http_error_body(exc))
        # Werkzeug's headers for the error (`Allow` on a 405, `Retry-After`, ...) survive our body.
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers.setdefault(name, value)
        return response

    def _http_error_body(exc: HTTPException) -> Any:
        status = exc.code or 500
        if not wants_json():
            return _html_error(exc)
        if status == 413:
            return error_response(413, "payload_too_large", "the request body is too large")
        code = _CODES_BY_STATUS.get(status, "invalid_request" if status < 500 else "internal")
        return error_response(status, code, exc.description or exc.name)

    @app.errorhandler(sa_exc.OperationalError)
    @app.errorhandler(sa_exc.InterfaceError)
    @app.errorhandler(sa_exc.DisconnectionError)
    @app.errorhandler(sa_exc.TimeoutError)
    def _database_unavailable(exc: Exception) -> Any:
        # The database is down or unreachable: nothing is half-stored (a transaction commits whole or not
        # at all), so the client retries later; with the same external_id a retry never stores a second
        # comment, even if the lost connection had already committed the first.
        log.warning("database unavailable on %s %s: %s", request.method, request.path, type(exc).__name__)
        if not wants_json():
            response = _html_error(ServiceUnavailable())
        else:
            response = error_response(
                503, "unavailable", "the database is unavailable; retry in a few seconds"
            )
        response = current_app.make_response(response)
        response.status_code = 503
        response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER_S)
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        log.exception("unhandled error on %s %s", request.method, request.path)
        if not wants_json():
            return _html_error(InternalServerError())
        return error_response(500, "internal", "an internal error occurred; it has been logged")


def _html_error(exc: HTTPException) -> Any:
    """The dashboard registers an HTML error page renderer; without it werkzeug's plain page is used."""
    renderer = current_app.extensions.get("html_errors")
    return exc if renderer is None else renderer(exc)
