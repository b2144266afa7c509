"""Coral Talk's external moderation phase: `POST /api/v1/coral/<site name>`.

The URL an admin enters in Coral (Configure > Moderation > Moderation phases) together with the phase's
signing secret, stored as the site's `coral_secret`. Each comment Coral sends is stored like one sent to
`POST /api/v1/comments` (it shows up in the dashboard and gets its decision from the workers), and Coral
gets our decision if the workers make it within the site's time budget, else "no opinion": Coral skips a
phase that answers after its timeout, so a late decision would be lost anyway.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from pydantic import ValidationError

from moderation.domain import coral
from moderation.domain.submissions import describe_errors
from moderation.store.coral import find_site
from moderation.store.tables import Site
from moderation.web import api, strict_json
from moderation.web.context import get_resources
from moderation.web.errors import ApiError

bp = Blueprint("coral_api", __name__, url_prefix="/api/v1/coral")

SIGNATURE_HEADER = "X-Coral-Signature"


@bp.after_request
def retry_after(response: Response) -> Response:
    if response.status_code == 429 and g.get("retry_after"):
        response.headers["Retry-After"] = str(g.retry_after)
    return response


def _site(name: str) -> Site:
    with get_resources().sessions() as session:
        site = find_site(session, name)
    if site is None:
        raise ApiError(404, "not_found", f"no site named {name!r}")
    if not site.coral_secret:
        raise ApiError(
            403,
            "forbidden",
            "Coral moderation is not set up for this site: set its Coral signing secret first "
            "(site settings, or `moderation sites coral NAME`)",
        )
    return site


def _signed_body(site: Site, limit: int) -> bytes:
    """The raw body, read only up to `limit` and checked against Coral's signature before any parsing."""
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, "payload_too_large", f"the body may be at most {limit} bytes")
    request.max_content_length = limit
    raw = request.get_data(cache=False)
    header = request.headers.get(SIGNATURE_HEADER)
    if not coral.signature_matches(site.coral_secret or "", raw, header):
        what = "is missing" if not header else "does not match this site's Coral signing secret"
        raise ApiError(401, "unauthorized", f"the {SIGNATURE_HEADER} header {what}")
    mimetype = request.mimetype or ""
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise ApiError(415, "unsupported_media_type", "Coral sends its request as 'application/json'")
    return raw


def _parse(raw: bytes) -> coral.CoralRequest:
    try:
        body = strict_json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ApiError(400, "invalid_json", f"the body is not valid UTF-8 (byte {exc.start})") from exc
    except strict_json.StrictJSONError as exc:
        raise ApiError(400, "invalid_json", str(exc)) from exc
    if not isinstance(body, dict):
        raise ApiError(422, "invalid_request", "the body must be a JSON object")
    try:
        return coral.CoralRequest.model_validate(body)
    except ValidationError as exc:
        raise ApiError(
            422, "invalid_request", "this is not Coral's moderation request", describe_errors(exc)
        ) from exc


@bp.post("/<path:site_name>")
def moderate(site_name: str) -> Any:
    started = time.monotonic()
    resources = get_resources()
    site = _site(site_name)
    parsed = _parse(_signed_body(site, resources.config.max_body_bytes))
    try:
        item = coral.to_comment(parsed)
    except ValidationError as exc:
        raise ApiError(422, "invalid_request", "the comment is invalid", describe_errors(exc)) from exc
    except ValueError as exc:
        raise ApiError(422, "invalid_request", str(exc)) from exc
    budget_ms = coral.budget_ms(site.coral_budget_ms, resources.config.coral_budget_ms)
    deadline = started + (budget_ms - coral.SEND_MARGIN_MS) / 1000.0
    payload = api.submit(resources, site, item)
    payload = api.wait_in_slot(resources, site, payload, deadline - time.monotonic())
    answer = coral.answer_for(payload)
    if answer is None:
        return Response(status=204)
    return jsonify(answer)


_FLAG_REASONS = [coral.TOXIC, coral.SPAM, coral.BANNED_WORD, coral.SUSPECT_WORD, coral.LINKS]


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


_REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["action", "comment", "author", "story"],
    "description": "Coral's external moderation request. Fields Coral adds in later versions are "
    "ignored; `tenant: {id, domain}` is accepted in place of `tenantID`/`tenantDomain`.",
    "properties": {
        "action": {"type": "string", "enum": ["NEW", "EDIT"]},
        "comment": {
            "type": "object",
            "required": ["body"],
            "properties": {
                "id": {
                    "type": ["string", "null"],
                    "minLength": 1,
                    "maxLength": 150,
                    "description": "not sent by Coral itself; when present the comment is stored as "
                    "`coral:<id>` (an EDIT as `coral:<id>@<hash of the body>`)",
                },
                "body": {
                    "type": "string",
                    "description": "the comment (choose the plain-text format in Coral); 1 to 10,000 "
                    "characters after trimming, no control characters but tab and line breaks",
                },
                "parentID": {"type": ["string", "null"], "minLength": 1, "maxLength": 150},
            },
        },
        "author": {
            "type": "object",
            "required": ["id"],
            "properties": {
                "id": {"type": "string", "minLength": 1, "maxLength": 200},
                "role": {"type": ["string", "null"], "maxLength": 50},
            },
        },
        "story": {
            "type": "object",
            "description": "`id` (or, without one, `url`) is stored as the comment's `article_id`",
            "properties": {
                "id": {"type": ["string", "null"], "minLength": 1, "maxLength": 500},
                "url": {"type": ["string", "null"], "maxLength": 2000},
            },
        },
        "site": {"type": ["object", "null"], "properties": {"id": {"type": ["string", "null"]}}},
        "tenantID": {"type": ["string", "null"], "maxLength": 200},
        "tenantDomain": {"type": ["string", "null"], "maxLength": 500},
    },
}

_ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["status", "actions", "tags"],
    "properties": {
        "status": {
            "type": "string",
            "enum": sorted(set(coral.CORAL_STATUS.values())),
            "description": "approved: `NONE` (published, left to Coral's moderators as Coral's own "
            "toxicity phase does); held: `SYSTEM_WITHHELD`; rejected: `REJECTED`",
        },
        "actions": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["actionType", "reason"],
                "properties": {
                    "actionType": {"type": "string", "enum": ["FLAG"]},
                    "reason": {"type": "string", "enum": _FLAG_REASONS},
                },
            },
        },
        "tags": {"type": "array", "items": {"type": "string"}},
    },
}

OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1/coral/{site_name}": {
        "post": {
            "summary": "Coral Talk's external moderation phase",
            "description": "Enter this URL and the site's Coral signing secret in Coral's external "
            "moderation phase. The comment is stored and decided like one sent to `POST "
            "/api/v1/comments`; the answer carries the decision if it is made within the site's time "
            "budget (`coral_budget_ms`, else `MODERATION_CORAL_BUDGET_MS`, default 1500 ms), else 204.",
            "parameters": [
                {
                    "name": "site_name",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
                },
                {
                    "name": SIGNATURE_HEADER,
                    "in": "header",
                    "required": True,
                    "description": "`sha256=<hex HMAC-SHA256 of the raw body with the secret>`; "
                    "several comma-separated values while Coral rotates its secret (one must match)",
                    "schema": {
                        "type": "string",
                        "pattern": "^sha256=[0-9a-fA-F]{64}(,\\s*sha256=[0-9a-fA-F]{64})*$",
                    },
                },
            ],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _REQUEST_SCHEMA}},
            },
            "responses": {
                "200": {
                    "description": "decided in time: Coral's status and a FLAG per reason",
                    "content": {"application/json": {"schema": _ANSWER_SCHEMA}},
                },
                "204": {"description": "no opinion: not decided within the budget (stored, decided later)"},
                "400": _error("body is not strict JSON in UTF-8 (`invalid_json`)"),
                "401": _error("signature missing or not made with the site's secret (`unauthorized`)"),
                "403": _error("the site has no Coral signing secret (`forbidden`)"),
                "404": _error("no site of this name (`not_found`)"),
                "409": _error("the comment id was sent before with a different body (`conflict`)"),
                "413": _error("body too large (`payload_too_large`)"),
                "415": _error("body is not `application/json` (`unsupported_media_type`)"),
                "422": _error("not Coral's request, or the comment is invalid (`invalid_request`)"),
                "429": _error("the site's or the author's budget of the last 60 seconds is spent"),
                "500": _error("unexpected error (`internal`)"),
            },
        }
    }
}
