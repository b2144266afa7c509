"""The comment API used by sites' comment forms: `/api/v1/comments`."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from flask.blueprints import BlueprintSetupState
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from moderation.domain.enums import Status
from moderation.domain.limits import SiteLimits
from moderation.domain.submissions import MAX_BATCH_ITEMS, CommentIn, describe_errors, parse_comment
from moderation.resources import Resources
from moderation.store.comments import find_comment, serialize, store_comments
from moderation.store.db import lookup, transaction
from moderation.store.errors import ExternalIdConflict
from moderation.store.keys import PUBLISHABLE_PREFIX, hash_ip, hash_key
from moderation.store.queue import PendingQueue, waiting_connection
from moderation.store.site_limits import effective_limits
from moderation.store.tables import Site
from moderation.web import strict_json
from moderation.web.context import get_resources
from moderation.web.errors import ApiError
from moderation.web.ratelimit import Budget, SlidingWindowLimiter, WaitSlots, opaque

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
    if len(key) > 200 or not (key.isascii() and key.isprintable()):
        # No key we issue looks like this; never hand control characters to a database lookup.
        raise ApiError(401, "unauthorized", "unknown API key")
    with lookup(resources.sessions) as session:
        if key.startswith(PUBLISHABLE_PREFIX):
            site = session.scalars(select(Site).where(Site.publishable_key == key)).first()
            if site is not None:
                origin = _browser_origin()
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


def _browser_origin() -> str | None:
    """The page's origin: browsers send no `Origin` with a same-origin GET (a form on the service's own
    pages, such as /demo/, looking up its comment), but say `Sec-Fetch-Site: same-origin` instead."""
    origin = request.headers.get("Origin")
    if origin is None and request.headers.get("Sec-Fetch-Site") == "same-origin":
        return request.host_url.rstrip("/")
    return origin


def for_caller(payload: dict[str, Any]) -> dict[str, Any]:
    """Browsers (publishable keys) see a comment's status and the reader's reason only: scores would let
    a spammer probe the model."""
    if g.get("browser_origin") is None:
        return payload
    decision = payload.get("decision") or {}
    return {
        "id": payload["id"],
        "external_id": payload["external_id"],
        "status": payload["status"],
        "reader_reason": decision.get("reader_reason"),
    }


@bp.after_request
def cors(response: Response) -> Response:
    """CORS for comment forms. A preflight may go ahead from anywhere: the request that follows is
    checked against the site's allowed origins, and only an allowed origin can read its answer."""
    origin = request.headers.get("Origin")
    if origin and not (len(origin) <= 300 and origin.isascii() and origin.isprintable()):
        origin = None  # no browser sends this; never echo it into a header
    if origin and request.method == "OPTIONS" and request.headers.get("Access-Control-Request-Method"):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Methods"] = "GET, POST"
        response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
        response.headers["Access-Control-Max-Age"] = "600"
    elif origin and g.get("browser_origin") == origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        # The comment form tells its reader when to try again after a 429.
        response.headers["Access-Control-Expose-Headers"] = "Retry-After"
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
        return strict_json.loads(text)
    except strict_json.StrictJSONError as exc:
        raise ApiError(400, "invalid_json", str(exc)) from exc


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


@bp.record_once
def _install_wait_slots(state: BlueprintSetupState) -> None:
    config = state.app.extensions["moderation"].config
    state.app.extensions["wait_slots"] = WaitSlots(
        config.wait_max_concurrent, config.wait_max_concurrent_per_site
    )


def wait_slots(app: Flask | None = None) -> WaitSlots:
    slots: WaitSlots = (app or current_app).extensions["wait_slots"]
    return slots


def _site_limits(resources: Resources, site: Site) -> SiteLimits:
    """The site's own limits (`sites.limits`, set in its settings) over the service's defaults."""
    return effective_limits(site, resources.config)


def _whole(value: int | None) -> int:
    return value or 0


def _budgets(resources: Resources, site: Site, items: list[CommentIn], *, batch: bool) -> list[Budget]:
    """What a request draws from. A publishable key has its own, smaller budget instead of the site's, so
    a script faking an allowed `Origin` cannot spend the budget of the site's own server. A single comment
    also draws from its author's budget and its client address's: the request's own address for a
    browser, `author.ip` for a site's server. A batch (secret key only) counts each item against the site."""
    limits = _site_limits(resources, site)
    browser = g.get("browser_origin") is not None
    if browser:
        budgets = [Budget("browser", f"browser:{site.id}", _whole(limits.browser_per_minute), len(items))]
    else:
        budgets = [Budget("site", f"site:{site.id}", _whole(limits.site_per_minute), len(items))]
    if batch:
        return budgets
    author = items[0].author
    budgets.append(
        Budget("author", f"author:{site.id}:{opaque(author.id)}", _whole(limits.author_per_minute), 1)
    )
    address = request.remote_addr if browser else author.ip
    if address:
        hashed = hash_ip(address, site.ip_hash_key) if site.ip_hash_key else opaque(f"{site.id} {address}")
        budgets.append(Budget("address", f"address:{site.id}:{hashed}", _whole(limits.address_per_minute), 1))
    return budgets


_REFUSALS = {
    "site": "too many comments from this site",
    "browser": "too many comments through this site's publishable key",
    "author": "too many comments from this author",
    "address": "too many comments from this client address",
}


def _limit(resources: Resources, site: Site, items: list[CommentIn], *, batch: bool = False) -> None:
    """Takes the request's items from its budgets (a sliding minute), or answers 429 and takes nothing."""
    verdict = SlidingWindowLimiter(resources.redis).take(_budgets(resources, site, items, batch=batch))
    if verdict.allowed or verdict.budget is None:
        return
    budget = verdict.budget
    g.retry_after = verdict.retry_after_s
    if budget.cost > budget.limit:
        message = f"{budget.cost} comments exceed this budget of {budget.limit} a minute; send fewer at once"
    else:
        message = f"{_REFUSALS[budget.name]}; retry in {verdict.retry_after_s} s"
    details = {"budget": budget.name, "limit_per_minute": budget.limit, "retry_after": verdict.retry_after_s}
    raise ApiError(429, "rate_limited", message, details)


@bp.after_request
def retry_after(response: Response) -> Response:
    if response.status_code == 429 and g.get("retry_after"):
        response.headers["Retry-After"] = str(g.retry_after)
    return response


def _enqueue(resources: Resources, ids: list[str]) -> None:
    """Hands new ids to the workers. A failure here loses nothing: the reconciler finds them in SQL."""
    if not ids:
        return
    try:
        PendingQueue(resources.require_redis()).push(ids)
    except Exception:
        g.handoff_failed = True  # nothing to wait for: the comment is not decided before the reconciler
        log.exception("could not enqueue %d comments; the reconciler will pick them up", len(ids))


def _store(resources: Resources, site: Site, items: list[CommentIn]) -> list[tuple[dict[str, Any], bool]]:
    try:
        with transaction(resources.sessions) as session:
            stored = store_comments(session, site, items)
    except ExternalIdConflict as exc:
        details = {"index": exc.index, "external_id": exc.external_id}
        raise ApiError(409, "conflict", str(exc), details) from exc
    except IntegrityError as exc:
        # Another request stored the same external id between our check and our insert.
        raise ApiError(
            409, "conflict", "a comment with this external_id was stored concurrently; retry"
        ) from exc
    # Serialized after the commit (the session keeps what it loaded), so no write lock waits on it.
    _enqueue(resources, [s.comment.id for s in stored if s.created])
    return [(serialize(s.comment), s.created) for s in stored]


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
    _limit(resources, site, [item])
    [(payload, created)] = _store(resources, site, [item])
    payload = wait_in_slot(resources, site, payload, wait / 1000.0)
    status = 202 if payload["status"] == Status.PENDING.value else 200
    return jsonify(for_caller(payload)), status


def _waiting_redis(resources: Resources) -> Any:
    """A client of this process for `?wait`'s blocking pop, on its own connections: the API's client
    gives up after `API_REDIS_TIMEOUT_S`, shorter than a wait may last."""
    base = resources.require_redis()
    held = current_app.extensions.get("wait_redis")
    if held is None or held[0] is not base:
        held = (base, waiting_connection(base, MAX_WAIT_MS / 1000 + 1.0))
        current_app.extensions["wait_redis"] = held
    return held[1]


def _wait_for_decision(
    resources: Resources, site: Site, payload: dict[str, Any], timeout_s: float
) -> dict[str, Any]:
    """Blocks once on the comment's own Redis key until a worker announces its decision (or the time is
    up), then reads it from the database once: no polling. Called only after the hand-off to the
    workers succeeded a moment ago; if Redis fails now, it answers at once with what the database has
    (the comment is stored and will be decided, so the caller gets 202 rather than a request held)."""
    try:
        PendingQueue(_waiting_redis(resources)).wait_decided(payload["id"], timeout_s)
    except Exception:
        log.warning("waiting on Redis failed; answering without the decision", exc_info=True)
    with lookup(resources.sessions) as session:
        comment = find_comment(session, site, payload["id"])
        if comment is not None and comment.status != Status.PENDING.value:
            return serialize(comment)
    return payload


def submit(resources: Resources, site: Site, item: CommentIn) -> dict[str, Any]:
    """One comment through the site's budgets into storage and to the workers, as `POST /comments`
    takes it; for other entry points (Coral's moderation phase, `moderation.web.coral`)."""
    _limit(resources, site, [item])
    [(payload, _created)] = _store(resources, site, [item])
    return payload


def wait_in_slot(
    resources: Resources, site: Site, payload: dict[str, Any], timeout_s: float
) -> dict[str, Any]:
    """The comment with its decision if the workers make it within `timeout_s`, else `payload` as it is.
    Waiting holds a server thread: only a few requests at once may, the others are answered at once."""
    if payload["status"] != Status.PENDING.value or timeout_s <= 0 or g.get("handoff_failed"):
        return payload
    limits = _site_limits(resources, site)
    with wait_slots().slot(
        site.id, _whole(limits.wait_concurrent), _whole(limits.wait_concurrent_per_site)
    ) as may_wait:
        return _wait_for_decision(resources, site, payload, timeout_s) if may_wait else payload


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
    _limit(resources, site, items, batch=True)
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
