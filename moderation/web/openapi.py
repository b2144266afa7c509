"""The OpenAPI 3.1 description of every HTTP endpoint the service answers."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from moderation.domain.attributes import ATTRIBUTES
from moderation.domain.enums import Action, Source, Status

bp = Blueprint("openapi", __name__)

_ERROR = {"$ref": "#/components/schemas/Error"}
_SCORE = {"type": "number", "minimum": 0, "maximum": 1}


def _err(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ERROR}}}


def _comment_ok(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Comment"}}},
    }


_COMMON_ERRORS = {
    "401": _err("missing or unknown API key (`unauthorized`)"),
    "403": _err("publishable key used from an origin the site does not allow (`forbidden`)"),
    "429": _err("the site's per-minute budget is spent (`rate_limited`)"),
    "500": _err("unexpected error (`internal`)"),
}

_WRITE_ERRORS = {
    "400": _err(
        "body is not valid JSON or UTF-8 (`invalid_json`), or `wait` is out of range (`invalid_request`)"
    ),
    "409": _err("`external_id` already names a comment with a different text (`conflict`)"),
    "413": _err("body too large (`payload_too_large`)"),
    "415": _err("body is not `application/json` (`unsupported_media_type`)"),
    "422": _err("the comment is invalid (`invalid_request`); `details` lists each field"),
}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {
                        "type": "string",
                        "enum": [
                            "invalid_json",
                            "invalid_request",
                            "unauthorized",
                            "forbidden",
                            "not_found",
                            "conflict",
                            "payload_too_large",
                            "unsupported_media_type",
                            "rate_limited",
                            "unavailable",
                            "internal",
                        ],
                    },
                    "message": {"type": "string"},
                    "details": {},
                },
            }
        },
    },
    "CommentIn": {
        "type": "object",
        "additionalProperties": False,
        "required": ["text", "article_id", "author"],
        "properties": {
            "text": {
                "type": "string",
                "description": "1 to 10,000 characters after trimming; no control characters",
            },
            "article_id": {"type": "string", "maxLength": 500},
            "author": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id"],
                "properties": {
                    "id": {"type": "string", "maxLength": 200},
                    "name": {"type": "string", "maxLength": 200},
                    "ip": {
                        "type": "string",
                        "description": "never stored as given: only a keyed hash is kept",
                    },
                },
            },
            "external_id": {
                "type": "string",
                "description": "the site's own id; makes the request idempotent",
            },
            "parent_id": {"type": "string"},
            "lang": {"type": "string", "description": "the language the site expects, e.g. `de`"},
            "metadata": {"type": "object"},
        },
    },
    "Span": {
        "type": "object",
        "description": "Offsets count code points of `text` (Python string indices), not UTF-16 units.",
        "properties": {
            "start": {"type": "integer"},
            "end": {"type": "integer"},
            "attribute": {"type": "string"},
            "weight": {"type": "number"},
        },
    },
    "Scores": {
        "type": ["object", "null"],
        "properties": {
            **{a.name: _SCORE for a in ATTRIBUTES if a.summary},
            "attributes": {
                "type": "object",
                "properties": {
                    **{a.name: _SCORE for a in ATTRIBUTES if not a.summary},
                    "techniques": {"type": "object", "additionalProperties": {"type": "number"}},
                    "narratives": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {"id": {"type": "string"}, "score": {"type": "number"}},
                        },
                    },
                },
            },
        },
    },
    "Comment": {
        "type": "object",
        "required": ["id", "status"],
        "properties": {
            "id": {"type": "string"},
            "external_id": {"type": ["string", "null"]},
            "article_id": {"type": "string"},
            "author": {"type": "object"},
            "parent_id": {"type": ["string", "null"]},
            "text": {"type": "string"},
            "status": {"type": "string", "enum": [s.value for s in Status]},
            "lang": {
                "type": ["string", "null"],
                "description": "detected: `de`, `en`, `ru`, `other` (held) or `und` (no words to tell)",
            },
            "created_at": {"type": "string", "format": "date-time"},
            "decision": {
                "type": ["object", "null"],
                "properties": {
                    "action": {"type": "string", "enum": [a.value for a in Action]},
                    "reasons": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["code", "detail"],
                            "properties": {
                                "code": {"type": "string"},
                                "detail": {"type": "string", "description": "the reason in English words"},
                                "params": {
                                    "type": "object",
                                    "description": "the reason's values (e.g. attribute, score, threshold)",
                                },
                            },
                        },
                    },
                    "source": {"type": "string", "enum": [s.value for s in Source]},
                    "model_version": {"type": ["string", "null"]},
                    "site_model_version": {
                        "type": ["string", "null"],
                        "description": "the site's own model that scored `site_reject`; null without one",
                    },
                    "scoring_profile": {
                        "type": ["string", "null"],
                        "enum": ["full", "fast", None],
                        "description": (
                            "how the scores were computed: `full` (n-gram and sentence-encoder heads "
                            "stacked) or `fast` (n-gram heads only); null when no model scored it"
                        ),
                    },
                    "decided_at": {"type": "string", "format": "date-time"},
                },
            },
            "scores": {"$ref": "#/components/schemas/Scores"},
            "spans": {"type": "array", "items": {"$ref": "#/components/schemas/Span"}},
        },
    },
}

_WAIT = {
    "name": "wait",
    "in": "query",
    "required": False,
    "description": "milliseconds (0-5000) to wait for the decision; 200 if it is made in time, else 202",
    "schema": {"type": "integer", "minimum": 0, "maximum": 5000},
}

PATHS: dict[str, Any] = {
    "/api/v1/comments": {
        "post": {
            "summary": "Submit one comment for moderation",
            "security": [{"siteKey": []}],
            "parameters": [_WAIT],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CommentIn"}}},
            },
            "responses": {
                "200": _comment_ok(
                    "decided within `wait`, or an already decided comment with this `external_id`"
                ),
                "202": _comment_ok("stored; status `pending`"),
                **_WRITE_ERRORS,
                **_COMMON_ERRORS,
            },
        }
    },
    "/api/v1/comments:batch": {
        "post": {
            "summary": "Submit 1 to 1000 comments; validated whole, nothing stored if any is invalid",
            "security": [{"siteKey": []}],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["comments"],
                            "properties": {
                                "comments": {
                                    "type": "array",
                                    "minItems": 1,
                                    "maxItems": 1000,
                                    "items": {"$ref": "#/components/schemas/CommentIn"},
                                }
                            },
                        }
                    }
                },
            },
            "responses": {
                "202": {
                    "description": "stored, in request order",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "comments": {
                                        "type": "array",
                                        "items": {"$ref": "#/components/schemas/Comment"},
                                    }
                                },
                            }
                        }
                    },
                },
                **_WRITE_ERRORS,
                **_COMMON_ERRORS,
            },
        }
    },
    "/api/v1/comments/{id}": {
        "get": {
            "summary": "A comment with its status, decision, scores and explaining spans",
            "security": [{"siteKey": []}],
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {
                "200": _comment_ok("the comment"),
                "404": _err("no such comment for this site (`not_found`)"),
                **_COMMON_ERRORS,
            },
        }
    },
    "/healthz": {
        "get": {"summary": "Liveness", "responses": {"200": {"description": "the process answers"}}}
    },
    "/readyz": {
        "get": {
            "summary": "Readiness: database and Redis reachable",
            "responses": {
                "200": {"description": "ready"},
                "503": _err("a dependency is down (`unavailable`)"),
            },
        }
    },
    "/metrics": {
        "get": {
            "summary": "Prometheus metrics",
            "responses": {"200": {"description": "text exposition format"}},
        }
    },
    "/api/openapi.json": {
        "get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1"}}}
    },
}


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Comment moderation API",
            "version": "1",
            "description": "Scores reader comments for toxicity and propaganda, decides what to publish.",
        },
        "servers": [{"url": "/"}],
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "siteKey": {"type": "http", "scheme": "bearer", "description": "the site's secret API key"}
            },
        },
    }


@bp.get("/api/openapi.json")
def openapi_json() -> Response:
    return jsonify(document())
