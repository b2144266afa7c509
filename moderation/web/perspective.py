"""Perspective API's endpoints, so a site that called Google's Perspective only changes the URL.

`POST /v1alpha1/comments:analyze` and `POST /v1alpha1/comments:suggestscore` take Perspective's requests
with the site's secret key as `?key=` or `X-Goog-Api-Key` and answer in Perspective's shapes; every error
under `/v1alpha1/` (also a 404, 405 or 500 no view of ours raised) is in Google's shape
`{"error": {"code": <HTTP status>, "message", "status": "INVALID_ARGUMENT"|...}}`.

This process holds no model: an analysis is handed to the workers through Redis
(`moderation.store.analysis`) and the answer awaited within `MODERATION_ANALYZE_TIMEOUT_MS`. With
`doNotStore: true` nothing reaches the database; otherwise the comment is stored like any of the site's
comments (committed before the workers see it), decided by the worker that scores it and, if the answer
comes too late, by the reconciler later: a stored comment is never lost.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import redis
from flask import Blueprint, Response, current_app, g, jsonify, request
from pydantic import ValidationError
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import HTTP_STATUS_CODES

from moderation.domain import perspective
from moderation.domain.limits import stored_limits
from moderation.domain.perspective import AnalyzeRequest, PerspectiveError
from moderation.domain.submissions import CommentIn
from moderation.resources import Resources
from moderation.store import site_models
from moderation.store.analysis import AnalysisQueue, new_request_id, wait_reply
from moderation.store.comments import store_comments
from moderation.store.db import transaction
from moderation.store.keys import PUBLISHABLE_PREFIX, hash_key
from moderation.store.queue import PendingQueue, waiting_connection
from moderation.store.suggestions import add_suggested_label
from moderation.store.tables import Site
from moderation.web import strict_json
from moderation.web.context import get_resources
from moderation.web.ratelimit import Budget, SlidingWindowLimiter

log = logging.getLogger(__name__)
bp = Blueprint("perspective", __name__, url_prefix="/v1alpha1")

PREFIX = "/v1alpha1/"
GOOGLE_PREFIXES = (PREFIX, "/$discovery/")
KEY_HEADER = "X-Goog-Api-Key"
# Google's canonical error codes by HTTP status, for errors no view of ours raised (404, 405, 413, 500...).
GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "UNIMPLEMENTED",
    409: "ABORTED",
    413: "INVALID_ARGUMENT",
    414: "INVALID_ARGUMENT",
    415: "INVALID_ARGUMENT",
    422: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


class GoogleError(Exception):
    """An error answered in Google's shape; `details` as Google's `google.rpc` detail objects."""

    def __init__(
        self, code: int, status: str, message: str, details: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message
        self.details = details


def google_error(
    code: int, status: str, message: str, details: list[dict[str, Any]] | None = None
) -> Response:
    body: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details:
        body["details"] = details
    response = jsonify({"error": body})
    response.status_code = code
    return response


def _invalid(message: str) -> GoogleError:
    return GoogleError(400, "INVALID_ARGUMENT", message)


def _key_error(reason: str, message: str, code: int, status: str) -> GoogleError:
    info = {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": reason,
        "domain": "googleapis.com",
        "metadata": {"service": "commentanalyzer.googleapis.com"},
    }
    return GoogleError(code, status, message, [info])


@bp.errorhandler(GoogleError)
def _google_error(exc: GoogleError) -> Response:
    return google_error(exc.code, exc.status, exc.message, exc.details)


@bp.after_app_request
def google_shape(response: Response) -> Response:
    """Errors under `/v1alpha1/` (and of the discovery document) that the service's own handlers answered
    (a NUL in the URL, a path or method no view knows, the database down, an unexpected error) in
    Google's shape, keeping their status and headers (`Allow`, `Retry-After`); answers under
    `/v1alpha1/` are never cached."""
    if not request.path.startswith(GOOGLE_PREFIXES):
        return response
    if request.path.startswith(PREFIX):
        response.headers["Cache-Control"] = "no-store"
    if response.status_code < 400:
        return response
    body = response.get_json(silent=True) if response.mimetype == "application/json" else None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("code"), int):
        return response  # ours, already in Google's shape
    status = response.status_code
    message = error.get("message") if isinstance(error, dict) else None
    shaped = {
        "code": status,
        "message": str(message or HTTP_STATUS_CODES.get(status, "error")),
        "status": GOOGLE_STATUS.get(status, "INTERNAL" if status >= 500 else "INVALID_ARGUMENT"),
    }
    response.set_data(json.dumps({"error": shaped}))
    response.mimetype = "application/json"
    return response


def authenticate(resources: Resources) -> Site:
    """The site whose secret key the request carries as `?key=` or `X-Goog-Api-Key` (answered as Google
    answers: no key 403 PERMISSION_DENIED, an unknown key 400 INVALID_ARGUMENT API_KEY_INVALID). A
    publishable key is refused: its answers would let anyone probe the model from a browser."""
    key = (request.args.get("key") or request.headers.get(KEY_HEADER) or "").strip()
    if not key:
        raise _key_error(
            "API_KEY_MISSING",
            "The request is missing a valid API key: pass the site's secret key as ?key= or X-Goog-Api-Key.",
            403,
            "PERMISSION_DENIED",
        )
    if key.startswith(PUBLISHABLE_PREFIX):
        raise _key_error(
            "API_KEY_SERVICE_BLOCKED",
            "A publishable key cannot call this API; use the site's secret key (never in a browser).",
            403,
            "PERMISSION_DENIED",
        )
    site = None
    if len(key) <= 200 and key.isascii() and key.isprintable():
        with resources.sessions() as session:
            site = session.scalars(select(Site).where(Site.api_key_hash == hash_key(key))).first()
    if site is None:
        raise _key_error(
            "API_KEY_INVALID", "API key not valid. Please pass a valid API key.", 400, "INVALID_ARGUMENT"
        )
    return site


def limit(resources: Resources, site: Site) -> None:
    """One request from the site's Perspective budget (a sliding minute), or 429 RESOURCE_EXHAUSTED."""
    own = stored_limits(site.limits).perspective_per_minute
    per_minute = resources.config.rate_limit_perspective_per_minute if own is None else own
    budget = Budget("perspective", f"perspective:{site.id}", per_minute, 1)
    verdict = SlidingWindowLimiter(resources.redis).take([budget])
    if verdict.allowed:
        return
    g.retry_after = verdict.retry_after_s
    raise GoogleError(
        429,
        "RESOURCE_EXHAUSTED",
        f"Quota exceeded: at most {per_minute} requests a minute for this key; retry in "
        f"{verdict.retry_after_s} s.",
    )


@bp.after_request
def retry_after(response: Response) -> Response:
    if response.status_code == 429 and g.get("retry_after"):
        response.headers["Retry-After"] = str(g.retry_after)
    return response


def read_body(limit_bytes: int) -> Any:
    """The JSON body, whatever its declared type (Google's servers read JSON either way)."""
    too_large = _invalid(f"Request payload size exceeds the limit: {limit_bytes} bytes.")
    if request.content_length is not None and request.content_length > limit_bytes:
        raise too_large
    request.max_content_length = limit_bytes
    try:
        raw = request.get_data(cache=False)
    except RequestEntityTooLarge as exc:
        raise too_large from exc
    try:
        return strict_json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise _invalid(f"Invalid JSON payload received: not UTF-8 (byte {exc.start}).") from exc
    except strict_json.StrictJSONError as exc:
        raise _invalid(f"Invalid JSON payload received. {exc}") from exc


def _has_site_model(resources: Resources, site: Site, body: Any) -> bool:
    """Looked up only when SITE_REJECT is asked for."""
    wanted = body.get("requestedAttributes") if isinstance(body, dict) else None
    if not isinstance(wanted, dict) or perspective.SITE_REJECT not in wanted:
        return False
    with resources.sessions() as session:
        return site_models.active_version(session, site.id) is not None


def _blocking_redis(resources: Resources) -> redis.Redis:
    """This process's client for the BLPOP on a reply, whose socket outlasts the time budget."""
    base = resources.require_redis()
    held = current_app.extensions.get("perspective_redis")
    if held is None or held[0] is not base:
        held = (base, waiting_connection(base, resources.config.analyze_timeout_ms / 1000 + 1.0))
        current_app.extensions["perspective_redis"] = held
    client: redis.Redis = held[1]
    return client


def _store(resources: Resources, site: Site, wanted: AnalyzeRequest) -> str:
    """Stores the comment as any of the site's comments (committed before a worker can look for it)."""
    try:
        item = CommentIn.model_validate(
            {
                "text": wanted.text,
                "article_id": wanted.article_id,
                "author": {"id": wanted.author_id},
                "lang": wanted.languages[0] if wanted.languages else None,
                "metadata": wanted.metadata(),
            }
        )
    except ValidationError as exc:
        raise _invalid(f"Invalid comment: {exc.errors(include_url=False)[0]['msg']}") from exc
    with transaction(resources.sessions) as session:
        [stored] = store_comments(session, site, [item])
        return stored.comment.id


def _unavailable(message: str) -> GoogleError:
    return GoogleError(503, "UNAVAILABLE", message)


def _give_up(queue: AnalysisQueue, request_id: str, comment_id: str | None) -> None:
    """No answer in time: the request is withdrawn (its text leaves Redis) and a stored comment goes to
    the ordinary queue, decided there as soon as a worker is free (deciding is conditional on the comment
    still being pending, so a worker already on it does no harm). If Redis fails here, the reconciler
    finds the comment later."""
    try:
        queue.withdraw(request_id)
        if comment_id is not None:
            PendingQueue(queue.redis).push([comment_id])
    except redis.RedisError:
        log.warning("could not withdraw analysis request %s; it expires on its own", request_id)


@bp.post("/comments:analyze")
def analyze() -> Response:
    started = time.monotonic()
    resources = get_resources()
    site = authenticate(resources)
    limit(resources, site)
    body = read_body(resources.config.max_body_bytes)
    try:
        wanted = perspective.parse_analyze(body, site_reject_available=_has_site_model(resources, site, body))
    except PerspectiveError as exc:
        raise _invalid(str(exc)) from exc
    comment_id = None if wanted.do_not_store else _store(resources, site, wanted)
    later = " The comment is stored and will be decided." if comment_id else ""
    sentences = perspective.sentence_spans(wanted.text) if wanted.spans else []
    # One sentence is the whole comment: its span score is the summary score, not scored twice.
    apart = len(sentences) > 1
    budget_ms = resources.config.analyze_timeout_ms
    request_id = new_request_id()
    if resources.redis is None:
        raise _unavailable("The scoring service is unavailable (no queue)." + later)
    queue = AnalysisQueue(resources.redis)
    try:
        left_ms = budget_ms - int((time.monotonic() - started) * 1000)
        queue.submit(
            request_id,
            site_id=site.id,
            ttl_ms=left_ms,
            text=None if comment_id else wanted.text,
            comment_id=comment_id,
            sentences=tuple(wanted.text[b:e] for b, e in sentences) if apart else (),
            site_reject=any(a.name == perspective.SITE_REJECT for a in wanted.attributes),
        )
        reply = wait_reply(
            _blocking_redis(resources), request_id, budget_ms / 1000 - (time.monotonic() - started)
        )
    except (redis.RedisError, OSError) as exc:
        log.warning("analysis hand-off failed: %s", exc)
        raise _unavailable("The scoring service is unavailable; retry in a few seconds." + later) from exc
    if reply is None:
        _give_up(queue, request_id, comment_id)
        raise _unavailable(f"No score within {budget_ms} ms; retry." + later)
    if "error" in reply:
        _give_up(queue, request_id, comment_id)
        raise _unavailable(
            f"The scoring service could not score the comment ({reply['error']}); retry." + later
        )
    values = reply["values"]
    scored_sentences = (
        list(zip(sentences, reply.get("sentences") or [], strict=False))
        if apart
        else [(s, values) for s in sentences]
    )
    return jsonify(perspective.analyze_response(wanted, values, reply.get("lang"), scored_sentences))


@bp.post("/comments:suggestscore")
def suggest_score() -> Response:
    resources = get_resources()
    site = authenticate(resources)
    limit(resources, site)
    body = read_body(resources.config.max_body_bytes)
    try:
        suggestion = perspective.parse_suggestion(body)
    except PerspectiveError as exc:
        raise _invalid(str(exc)) from exc
    with transaction(resources.sessions) as session:
        add_suggested_label(session, site.id, site.name, suggestion)
    out: dict[str, Any] = {}
    if suggestion.client_token is not None:
        out["clientToken"] = suggestion.client_token
    if suggestion.languages:
        out["requestedLanguages"] = list(suggestion.languages)
    return jsonify(out)
