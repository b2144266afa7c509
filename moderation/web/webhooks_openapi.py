"""The `webhooks` object of the OpenAPI document: what a site's endpoint receives (Standard Webhooks)."""

from __future__ import annotations

from typing import Any

_HEADERS = [
    {
        "name": "webhook-id",
        "in": "header",
        "required": True,
        "description": "the message id (`msg_...`): the same on every retry of one event, so receivers "
        "can drop a repeat",
        "schema": {"type": "string"},
    },
    {
        "name": "webhook-timestamp",
        "in": "header",
        "required": True,
        "description": "unix seconds of this attempt; receivers refuse one far from their clock (replays)",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
    {
        "name": "webhook-signature",
        "in": "header",
        "required": True,
        "description": "space-separated `v1,<base64 HMAC-SHA256>` of "
        "`<webhook-id>.<webhook-timestamp>.<body>`, keyed with the bytes of the site's `whsec_` secret "
        "(base64 after the prefix); two while a rotated "
        "secret still counts. Any Standard Webhooks library verifies it.",
        "schema": {"type": "string"},
    },
]

_RESPONSES = {
    "2XX": {"description": "received: the delivery is done"},
    "410": {"description": "gone: the endpoint is switched off until an admin switches it on again"},
    "default": {
        "description": "any other answer, a redirect, or none within 10 s: retried after 5 s, 5 min, "
        "30 min, 2 h, 5 h, 10 h and 10 h, then given up"
    },
}


def _event(event_type: str, data: dict[str, Any], summary: str) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "parameters": _HEADERS,
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["type", "timestamp", "data"],
                            "properties": {
                                "type": {"const": event_type},
                                "timestamp": {"type": "string", "format": "date-time"},
                                "data": data,
                            },
                        }
                    }
                },
            },
            "responses": _RESPONSES,
        }
    }


OPENAPI_WEBHOOKS: dict[str, Any] = {
    "comment.decided": _event(
        "comment.decided",
        {"$ref": "#/components/schemas/Comment"},
        "A decision on a comment (model, rule, moderator or an undo), with the comment as "
        "`GET /api/v1/comments/{id}` returns it after the decision",
    ),
    "webhook.test": _event(
        "webhook.test",
        {
            "type": "object",
            "required": ["test", "site"],
            "properties": {
                "test": {"const": True},
                "site": {"type": "string"},
                "message": {"type": "string"},
            },
        },
        "A test event an admin sent from the site's settings (or `moderation sites webhook NAME --test`)",
    ),
}
