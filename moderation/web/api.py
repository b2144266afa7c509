"""The comment API used by sites' comment forms: `/api/v1/comments`."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from moderation.domain.enums import Status
from moderation.domain.submissions import MAX_BATCH_ITEMS, CommentIn, describe_errors, parse_comment
from moderation.resources import Resources
from moderation.store.comments import find_comment, serialize, store_comments
from moderation.store.db import transaction
from moderation.store.errors import ExternalIdConflict
from moderation.store.keys import PUBLISHABLE_PREFIX, hash_key
from moderation.store.queue import PendingQueue
from moderation.store.tables import Site
from moderation.web.context import get_resources
from moderation.web.errors import ApiError
from moderation.web.ratelimit import check_rate

log = logging.getLogger(__name__)
bp = Blueprint("api", __name__, url_prefix="/api/v1")

MAX_WAIT_MS = 5000


def authenticate(resources: Resources, *, browser_allowed: bool = True) -> Site:
    """The site whose key the request carries.

    A publishable key (for comment forms in the reader's browser) is accepted only from the site's
    allowed origins, only where `browser_allowed`, and its answers show no more than the comment's status.
    """
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise ApiError(401, "unauthorized", "send the site's API key as 'Authorization: Bearer <key>'")
    key = key.strip()
    with resources.sessions() as session:
        if key.startswith(PUBLISHABLE_PREFIX):
            site = session.scalars(select(Site).where(Site.publishable_key == key)).first()
            if site is not None:
                origin = request.headers.get("Origin")
                if origin not in (site.allowed_origins or []):
                    raise ApiError(403, "forbidden", "this publishable key is not allowed from this origin")
                if not browser_allowed:
                    raise ApiError(
                        403, "forbidden", "a publishable key may only submit and look up single comments"
                    )
                g.browser_origin = origin
        else:
            site = session.scalars(select(Site).where(Site.api_key_hash == hash_key(key))).first()
    if site is None:
        raise ApiError(401, "unauthorized", "unknown API key")
    return site


def for_caller(payload: dict[str, Any]) -> dict[str, Any]:
    """Browsers (publishable keys) see a comment's status only: scores would let a spammer probe the model."""
    if g.get("browser_origin") is None:
        return payload
    return {"id": payload["id"], "external_id": payload["external_id"], "status": payload["status"]}


@bp.after_request
def cors(response: Response) -> Response:
    """CORS for comment forms. A preflight may go ahead from anywhere: the request that follows is
    checked against the site's allowed origins, and only an allowed origin can read its answer."""
    origin = request.headers.get("Origin")
    if origin and request.method == "OPTIONS" and request.headers.get("Access-Control-Request-Method"):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Methods"] = "GET, POST"
        response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
        response.headers["Access-Control-Max-Age"] = "600"
    elif origin and g.get("browser_origin") == origin:
        response.headers["Access-Control-Allow-Origin"] = origin
    response.vary.add("Origin")
    return response


def read_json(limit: int) -> Any:
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, "payload_too_large", f"the body may be at most {limit} bytes")
    mimetype = request.mimetype or ""
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise ApiError(
            415, "unsupported_media_type", "send the body as JSON with 'Content-Type: application/json'"
        )
    request.max_content_length = limit
    raw = request.get_data(cache=False)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, "invalid_json", f"the body is not valid UTF-8 (byte {exc.start})") from exc
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {exc}") from exc


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def wait_ms() -> int:
    raw = request.args.get("wait")
    if raw is None:
        return 0
    try:
        value = int(raw)
    except ValueError as exc:
        raise ApiError(400, "invalid_request", "wait must be an integer number of milliseconds") from exc
    if not 0 <= value <= MAX_WAIT_MS:
        raise ApiError(400, "invalid_request", f"wait must be between 0 and {MAX_WAIT_MS} milliseconds")
    return value


def _limit(resources: Resources, site: Site, cost: int) -> None:
    if not check_rate(resources.redis, site.id, cost, resources.config.rate_limit_per_minute):
        raise ApiError(429, "rate_limited", "too many comments from this site; retry in a minute")


def _enqueue(resources: Resources, ids: list[str]) -> None:
    """Hands new ids to the workers. A failure here loses nothing: the reconciler finds them in SQL."""
    if not ids:
        return
    try:
        PendingQueue(resources.require_redis()).push(ids)
    except Exception:
        log.exception("could not enqueue %d comments; the reconciler will pick them up", len(ids))


def _store(resources: Resources, site: Site, items: list[CommentIn]) -> list[tuple[dict[str, Any], bool]]:
    try:
        with transaction(resources.sessions) as session:
            stored = store_comments(session, site, items, resources.config.secret_key)
            ids = [s.comment.id for s in stored if s.created]
            out = [(serialize(s.comment), s.created) for s in stored]
    except ExternalIdConflict as exc:
        details = {"index": exc.index, "external_id": exc.external_id}
        raise ApiError(409, "conflict", str(exc), details) from exc
    except IntegrityError as exc:
        # Another request stored the same external id between our check and our insert.
        raise ApiError(
            409, "conflict", "a comment with this external_id was stored concurrently; retry"
        ) from exc
    _enqueue(resources, ids)
    return out


@bp.post("/comments")
def create_comment() -> tuple[Response, int]:
    resources = get_resources()
    site = authenticate(resources)
    body = read_json(resources.config.max_body_bytes)
    wait = wait_ms()
    try:
        item = parse_comment(body)
    except ValidationError as exc:
        raise ApiError(422, "invalid_request", "the comment is invalid", describe_errors(exc)) from exc
    except ValueError as exc:
        raise ApiError(422, "invalid_request", str(exc)) from exc
    _limit(resources, site, 1)
    [(payload, created)] = _store(resources, site, [item])
    if payload["status"] == Status.PENDING.value and wait:
        payload = _wait_for_decision(resources, site, payload, wait / 1000.0)
    status = 202 if payload["status"] == Status.PENDING.value else 200
    return jsonify(for_caller(payload)), status


def _wait_for_decision(
    resources: Resources, site: Site, payload: dict[str, Any], timeout_s: float
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    queue = PendingQueue(resources.require_redis())
    while True:
        remaining = deadline - time.monotonic()
        try:
            queue.wait_decided(payload["id"], min(remaining, 0.5))
        except Exception:
            log.warning("waiting on Redis failed; polling the database instead", exc_info=True)
            time.sleep(min(max(remaining, 0), 0.1))
        with resources.sessions() as session:
            comment = find_comment(session, site, payload["id"])
            if comment is not None and comment.status != Status.PENDING.value:
                return serialize(comment)
        if time.monotonic() >= deadline:
            return payload


@bp.post("/comments:batch")
def create_batch() -> tuple[Response, int]:
    resources = get_resources()
    site = authenticate(resources, browser_allowed=False)
    body = read_json(resources.config.max_batch_body_bytes)
    if not isinstance(body, dict) or set(body) != {"comments"} or not isinstance(body["comments"], list):
        raise ApiError(
            422, "invalid_request", "the body must be an object with one field, 'comments', a list"
        )
    raw_items = body["comments"]
    if not 1 <= len(raw_items) <= MAX_BATCH_ITEMS:
        raise ApiError(
            422, "invalid_request", f"a batch holds 1 to {MAX_BATCH_ITEMS} comments, not {len(raw_items)}"
        )
    items: list[CommentIn] = []
    errors: list[dict[str, Any]] = []
    for index, raw in enumerate(raw_items):
        try:
            items.append(parse_comment(raw))
        except ValidationError as exc:
            errors.append({"index": index, "errors": describe_errors(exc)})
        except ValueError as exc:
            errors.append({"index": index, "errors": [{"field": "(item)", "message": str(exc)}]})
    if errors:
        raise ApiError(
            422,
            "invalid_request",
            f"{len(errors)} of {len(raw_items)} comments are invalid; none stored",
            errors,
        )
    _limit(resources, site, len(items))
    stored = _store(resources, site, items)
    return jsonify({"comments": [payload for payload, _ in stored]}), 202


@bp.get("/comments/<comment_id>")
def get_comment(comment_id: str) -> Response:
    resources = get_resources()
    site = authenticate(resources)
    with resources.sessions() as session:
        comment = find_comment(session, site, comment_id)
        if comment is None:
            raise ApiError(404, "not_found", f"no comment with id {comment_id!r} for this site")
        return jsonify(for_caller(serialize(comment)))
