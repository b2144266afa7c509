"""The OpenAPI 3.1 description of the Perspective drop-in (`moderation.web.perspective`), merged into the
service's document by `moderation.web.openapi.document`. Its errors are in Google's shape, not ours."""

from __future__ import annotations

from typing import Any

from moderation.domain import perspective

_GOOGLE_ERROR = {"$ref": "#/components/schemas/GoogleError"}
_PROBABILITY = {"type": "number", "minimum": 0, "maximum": 1}
_SECURITY: list[dict[str, list[str]]] = [{"perspectiveKey": []}, {"perspectiveKeyHeader": []}]
_LANGUAGES = {"type": "array", "items": {"type": "string"}}


def _err(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _GOOGLE_ERROR}}}


def _ok(description: str, schema: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def _json_body(schema: str) -> dict[str, Any]:
    return {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


_ERRORS = {
    "400": _err(
        "`INVALID_ARGUMENT`: the body is not JSON, `comment.text` missing, empty or over 10,000 characters, "
        "type HTML, an attribute or language not supported, a bad `scoreThreshold`; or an unknown API key "
        "(`details[0].reason` `API_KEY_INVALID`, as Google answers)"
    ),
    "403": _err("`PERMISSION_DENIED`: no API key, or the site's publishable key (only the secret key works)"),
    "404": _err("`NOT_FOUND`: no such method"),
    "414": _err("`INVALID_ARGUMENT`: query string over 8 KiB"),
    "429": {
        **_err("`RESOURCE_EXHAUSTED`: the key's Perspective budget of the last 60 seconds is spent"),
        "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}},
    },
    "500": _err("`INTERNAL`: unexpected error"),
    "503": _err(
        "`UNAVAILABLE`: no score within `MODERATION_ANALYZE_TIMEOUT_MS` (a stored comment is decided later), "
        "or the queue or database is unavailable"
    ),
}

_TEXT_ENTRY = {
    "type": "object",
    "properties": {
        "text": {"type": "string", "description": "1 to 10,000 characters"},
        "type": {"type": "string", "enum": ["PLAIN_TEXT", "HTML"], "description": "HTML is refused"},
    },
}

OPENAPI_SCHEMAS: dict[str, Any] = {
    "GoogleError": {
        "type": "object",
        "required": ["error"],
        "description": "Google's error shape, used for every error under `/v1alpha1/`",
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "status"],
                "properties": {
                    "code": {"type": "integer", "description": "the HTTP status"},
                    "message": {"type": "string"},
                    "status": {
                        "type": "string",
                        "enum": [
                            "INVALID_ARGUMENT",
                            "UNAUTHENTICATED",
                            "PERMISSION_DENIED",
                            "NOT_FOUND",
                            "UNIMPLEMENTED",
                            "ABORTED",
                            "RESOURCE_EXHAUSTED",
                            "INTERNAL",
                            "UNAVAILABLE",
                            "DEADLINE_EXCEEDED",
                        ],
                    },
                    "details": {"type": "array", "items": {"type": "object"}},
                },
            }
        },
    },
    "PerspectiveScore": {
        "type": "object",
        "required": ["value", "type"],
        "properties": {"value": _PROBABILITY, "type": {"type": "string", "enum": ["PROBABILITY"]}},
    },
    "PerspectiveAttributeScores": {
        "type": "object",
        "properties": {
            "summaryScore": {"$ref": "#/components/schemas/PerspectiveScore"},
            "spanScores": {
                "type": "array",
                "description": "one per sentence; offsets count code points of `comment.text`",
                "items": {
                    "type": "object",
                    "required": ["begin", "end", "score"],
                    "properties": {
                        "begin": {"type": "integer", "minimum": 0},
                        "end": {"type": "integer", "minimum": 0},
                        "score": {"$ref": "#/components/schemas/PerspectiveScore"},
                    },
                },
            },
        },
    },
    "AnalyzeCommentRequest": {
        "type": "object",
        "required": ["comment", "requestedAttributes"],
        "description": "Perspective's request. `context`, `sessionId` (stored as the author id) and "
        "`communityId` (stored as the article id) are accepted; unknown fields are ignored, as Google does.",
        "properties": {
            "comment": _TEXT_ENTRY,
            "context": {"type": "object"},
            "requestedAttributes": {
                "type": "object",
                "description": "any of " + ", ".join(perspective.SUPPORTED_ATTRIBUTES) + " (SITE_REJECT "
                "only once the site has a site model); SEVERE_TOXICITY is derived from our scores",
                "additionalProperties": {
                    "type": "object",
                    "properties": {
                        "scoreType": {"type": "string", "enum": ["PROBABILITY"]},
                        "scoreThreshold": _PROBABILITY,
                    },
                },
            },
            "languages": {**_LANGUAGES, "description": "de and en are read; others are refused"},
            "spanAnnotations": {"type": "boolean"},
            "doNotStore": {"type": "boolean", "description": "true: nothing is stored (default false)"},
            "dropUnsupportedAttributes": {"type": "boolean"},
            "clientToken": {"type": "string", "maxLength": 200},
            "sessionId": {"type": "string", "maxLength": 200},
            "communityId": {"type": "string", "maxLength": 200},
        },
    },
    "AnalyzeCommentResponse": {
        "type": "object",
        "required": ["attributeScores", "languages", "detectedLanguages"],
        "properties": {
            "attributeScores": {
                "type": "object",
                "additionalProperties": {"$ref": "#/components/schemas/PerspectiveAttributeScores"},
            },
            "languages": _LANGUAGES,
            "detectedLanguages": _LANGUAGES,
            "clientToken": {"type": "string"},
        },
    },
    "SuggestCommentScoreRequest": {
        "type": "object",
        "required": ["comment", "attributeScores"],
        "properties": {
            "comment": _TEXT_ENTRY,
            "context": {"type": "object"},
            "attributeScores": {
                "type": "object",
                "description": "a value of at least 0.5 for any attribute makes the label a rejection",
                "additionalProperties": {
                    "type": "object",
                    "required": ["summaryScore"],
                    "properties": {
                        "summaryScore": {
                            "type": "object",
                            "required": ["value"],
                            "properties": {"value": _PROBABILITY},
                        }
                    },
                },
            },
            "languages": _LANGUAGES,
            "clientToken": {"type": "string", "maxLength": 200},
            "sessionId": {"type": "string", "maxLength": 200},
            "communityId": {"type": "string", "maxLength": 200},
        },
    },
    "SuggestCommentScoreResponse": {
        "type": "object",
        "properties": {"clientToken": {"type": "string"}, "requestedLanguages": _LANGUAGES},
    },
}

OPENAPI_SECURITY_SCHEMES: dict[str, Any] = {
    "perspectiveKey": {
        "type": "apiKey",
        "in": "query",
        "name": "key",
        "description": "the site's secret API key, as Perspective takes it (`?key=`)",
    },
    "perspectiveKeyHeader": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Goog-Api-Key",
        "description": "the site's secret API key as a header",
    },
}

OPENAPI_PATHS: dict[str, Any] = {
    "/v1alpha1/comments:analyze": {
        "post": {
            "summary": "Perspective API's comments:analyze (drop-in)",
            "description": "Scores a comment as Perspective's `comments:analyze` does. Unless `doNotStore` "
            "is true the comment is also stored and decided like any comment of the site.",
            "security": _SECURITY,
            "requestBody": _json_body("AnalyzeCommentRequest"),
            "responses": {"200": _ok("the scores", "AnalyzeCommentResponse"), **_ERRORS},
        }
    },
    "/v1alpha1/comments:suggestscore": {
        "post": {
            "summary": "Perspective API's comments:suggestscore: a training label for the site's model",
            "security": _SECURITY,
            "requestBody": _json_body("SuggestCommentScoreRequest"),
            "responses": {"200": _ok("the label is stored", "SuggestCommentScoreResponse"), **_ERRORS},
        }
    },
    "/$discovery/rest": {
        "get": {
            "summary": "The discovery document of the `commentanalyzer` API, for Google's client libraries",
            "parameters": [
                {
                    "name": "version",
                    "in": "query",
                    "required": True,
                    "schema": {"type": "string", "enum": ["v1alpha1"]},
                }
            ],
            "responses": {
                "200": {
                    "description": "Google's REST description format (`discovery#restDescription`)",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["name", "version", "rootUrl", "resources"],
                            }
                        }
                    },
                },
                "400": _err("`INVALID_ARGUMENT`: no `version`"),
                "404": _err("`NOT_FOUND`: another version"),
                "414": _err("`INVALID_ARGUMENT`: query string over 8 KiB"),
            },
        }
    },
}
