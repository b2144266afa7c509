"""The OpenAPI 3.1 description of every HTTP endpoint the service answers."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from moderation.domain.attributes import ATTRIBUTES
from moderation.domain.enums import Action, Source, Status
from moderation.web import coral, perspective_openapi
from moderation.web.webhooks_openapi import OPENAPI_WEBHOOKS

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


# Request strings refuse control characters: C0 but tab, line feed and carriage return; DEL; C1.
_CONTROL = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_NO_CONTROLS = f"^[^{_CONTROL}]*$"
# `text`: optional white space around characters that start and end with neither white space nor a
# control character, with no control character anywhere. White space is spelled out (Python's, less the
# control characters) so every regex engine reads the pattern alike. The limit of 10,000 characters after
# trimming is in the description only: a bounded repetition that long is too large for some regex engines.
_SPACE = r" \t\n\r\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_EDGE = f"[^{_SPACE}{_CONTROL}]"
_TEXT_PATTERN = f"^[{_SPACE}]*{_EDGE}(?:[^{_CONTROL}]*{_EDGE})?[{_SPACE}]*$"
# Request bodies are strict JSON: numbers (metadata's) beyond this magnitude are refused.
_MAX_NUMBER = 2**63 - 1


def _identifier(max_length: int, *, nullable: bool = False, min_length: int = 1) -> dict[str, Any]:
    return {
        "type": ["string", "null"] if nullable else "string",
        "minLength": min_length,
        "maxLength": max_length,
        "pattern": _NO_CONTROLS,
    }


_COMMON_ERRORS = {
    "401": _err("missing or unknown API key (`unauthorized`)"),
    "403": _err("publishable key used from an origin the site does not allow (`forbidden`)"),
    "429": _err(
        "a budget of the last 60 seconds is spent (`rate_limited`; `details.budget` names it: site, "
        "browser, author or address; `Retry-After` says when to retry)"
    ),
    "414": _err("query string over 8 KiB (`invalid_request`)"),
    "500": _err("unexpected error (`internal`)"),
}

_WRITE_ERRORS = {
    "400": _err(
        "body is not strict JSON in UTF-8: malformed, duplicate keys, lone surrogates, numbers beyond "
        "2**63 - 1 in magnitude, nesting deeper than 64 (`invalid_json`); `wait` out of range or a NUL in "
        "the URL (`invalid_request`)"
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
                "pattern": _TEXT_PATTERN,
                "description": "1 to 10,000 characters after trimming white space; no control characters "
                "but tab, line feed and carriage return",
            },
            "article_id": _identifier(500),
            "author": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id"],
                "properties": {
                    "id": _identifier(200),
                    "name": _identifier(200, nullable=True, min_length=0),
                    "ip": {
                        **_identifier(100, nullable=True, min_length=0),
                        "description": "never stored as given: only a keyed hash is kept",
                    },
                },
            },
            "external_id": {
                **_identifier(200, nullable=True),
                "description": "the site's own id; makes the request idempotent",
            },
            "parent_id": _identifier(200, nullable=True),
            "lang": {
                "type": ["string", "null"],
                "pattern": r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?$",
                "description": "the language the site expects, e.g. `de` or `de-AT`",
            },
            "metadata": {
                "type": ["object", "null"],
                "propertyNames": {"pattern": _NO_CONTROLS},
                "additionalProperties": {"$ref": "#/components/schemas/MetadataValue"},
                "description": "the site's own data, stored and returned as sent: at most 16 levels deep "
                "and about 10,000 characters; keys without control characters, strings without NUL",
            },
        },
    },
    "MetadataValue": {
        "anyOf": [
            {"type": "string", "pattern": r"^[^\x00]*$"},
            {"type": "number", "minimum": -_MAX_NUMBER, "maximum": _MAX_NUMBER},
            {"type": "boolean"},
            {"type": "null"},
            {"type": "array", "items": {"$ref": "#/components/schemas/MetadataValue"}},
            {
                "type": "object",
                "propertyNames": {"pattern": _NO_CONTROLS},
                "additionalProperties": {"$ref": "#/components/schemas/MetadataValue"},
            },
        ]
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
                    "reader_reason": {"$ref": "#/components/schemas/ReaderReason"},
                    "decided_at": {"type": "string", "format": "date-time"},
                },
            },
            "reader_reason": {
                "$ref": "#/components/schemas/ReaderReason",
                "description": "only in answers to a publishable key (a browser), which see `id`, "
                "`external_id`, `status` and this: the decision's `reader_reason`, null while pending",
            },
            "scores": {"$ref": "#/components/schemas/Scores"},
            "spans": {"type": "array", "items": {"$ref": "#/components/schemas/Span"}},
        },
    },
    "ReaderReason": {
        "type": ["object", "null"],
        "required": ["de", "en"],
        "properties": {"de": {"type": "string"}, "en": {"type": "string"}},
        "description": "what the comment's author is told, in German and English (EU DSA Art. 17): "
        "the decision and its grounds in plain words (no scores, no matched words) and how to object; "
        "a moderator's own wording when they gave one; null for approved and pending comments",
    },
    "AuthorExport": {
        "type": "object",
        "required": ["site", "author_id", "exported_at", "comments", "labels"],
        "properties": {
            "site": {"type": "string"},
            "author_id": {"type": "string"},
            "exported_at": {"type": "string", "format": "date-time"},
            "comments": {
                "type": "array",
                "items": {
                    "allOf": [
                        {"$ref": "#/components/schemas/Comment"},
                        {
                            "type": "object",
                            "properties": {
                                "metadata": {"type": "object"},
                                "ip_hash": {"type": ["string", "null"]},
                                "decisions": {"type": "array", "items": {"type": "object"}},
                            },
                        },
                    ]
                },
            },
            "labels": {"type": "array", "items": {"type": "object"}},
        },
    },
    "Erasure": {
        "type": "object",
        "required": ["erased", "comments_anonymised", "comments_deleted", "labels_deleted"],
        "properties": {
            "erased": {"type": "boolean"},
            "comments_anonymised": {"type": "integer", "minimum": 0},
            "comments_deleted": {"type": "integer", "minimum": 0},
            "labels_deleted": {"type": "integer", "minimum": 0},
            "already_erased_at": {"type": "string", "format": "date-time"},
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
                "400": _err("a NUL in the URL (`invalid_request`)"),
                "404": _err("no such comment for this site (`not_found`)"),
                **_COMMON_ERRORS,
            },
        }
    },
    "/api/v1/authors/{author_id}": {
        "parameters": [
            {
                "name": "author_id",
                "in": "path",
                "required": True,
                "description": "`author.id` as the site sent it with the author's comments",
                "schema": {"type": "string", "minLength": 1, "maxLength": 200},
            }
        ],
        "get": {
            "summary": "Export: everything stored about one author of the site (secret key only)",
            "description": "The author's comments as `GET /api/v1/comments/{id}` returns them, plus their "
            "metadata, IP hash and every decision, and the site's training labels from this author.",
            "security": [{"siteKey": []}],
            "responses": {
                "200": {
                    "description": "the author's data",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/AuthorExport"}}
                    },
                },
                "404": _err("nothing is stored about this author for this site (`not_found`)"),
                **_COMMON_ERRORS,
                "403": _err("a publishable key cannot export authors (`forbidden`)"),
            },
        },
        "delete": {
            "summary": "Erasure: remove the author's texts and identity (secret key only)",
            "description": "Decided comments are anonymised (text, author, IP hash, metadata and notes "
            "removed; status, decisions and scores kept for statistics); pending and held comments are "
            "deleted; the author's training labels are deleted. Repeating the request answers 200 "
            "with zero counts and `already_erased_at`.",
            "security": [{"siteKey": []}],
            "responses": {
                "200": {
                    "description": "what was removed",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Erasure"}}},
                },
                "404": _err("nothing is stored about this author and no erasure is on record (`not_found`)"),
                **_COMMON_ERRORS,
                "403": _err("a publishable key cannot erase authors (`forbidden`)"),
            },
        },
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
    "/api/docs": {
        "get": {
            "summary": "This document as a readable reference page",
            "responses": {
                "200": {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}
            },
        }
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
        "paths": {**PATHS, **coral.OPENAPI_PATHS, **perspective_openapi.OPENAPI_PATHS},
        "webhooks": OPENAPI_WEBHOOKS,
        "components": {
            "schemas": {**SCHEMAS, **perspective_openapi.OPENAPI_SCHEMAS},
            "securitySchemes": {
                **perspective_openapi.OPENAPI_SECURITY_SCHEMES,
                "siteKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "the site's secret API key; or, from one of the site's allowed origins "
                    "(CORS), its publishable key (`mk_pub_...`), for single comments and their status only",
                },
            },
        },
    }


@bp.get("/api/openapi.json")
def openapi_json() -> Response:
    return jsonify(document())
