"""The discovery document of our Perspective drop-in: `GET /$discovery/rest?version=v1alpha1`.

Google's API client libraries build their `commentanalyzer` client from it, as Perspective's own samples
do (`discovery.build("commentanalyzer", "v1alpha1", developerKey=KEY, discoveryServiceUrl=...,
static_discovery=False)`): pointed at this server, they call us unchanged. `rootUrl` is this server as
the request reached it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from moderation.domain import perspective
from moderation.web.perspective import GoogleError, google_error

bp = Blueprint("perspective_discovery", __name__)

NAME = "commentanalyzer"
VERSION = "v1alpha1"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": name}


def _string(description: str) -> dict[str, Any]:
    return {"type": "string", "description": description}


_LANGUAGES = {"type": "array", "items": {"type": "string"}}
_SCHEMAS: dict[str, Any] = {
    "TextEntry": {
        "id": "TextEntry",
        "type": "object",
        "properties": {
            "text": _string("The comment, at most 10,000 characters."),
            "type": {
                "type": "string",
                "enum": ["TEXT_TYPE_UNSPECIFIED", "PLAIN_TEXT", "HTML"],
                "description": "PLAIN_TEXT only; HTML is refused.",
            },
        },
    },
    "ArticleAndParentComment": {
        "id": "ArticleAndParentComment",
        "type": "object",
        "properties": {"article": _ref("TextEntry"), "parentComment": _ref("TextEntry")},
    },
    "Context": {
        "id": "Context",
        "type": "object",
        "description": "Accepted and not used.",
        "properties": {
            "entries": {"type": "array", "items": _ref("TextEntry")},
            "articleAndParentComment": _ref("ArticleAndParentComment"),
        },
    },
    "AttributeParameters": {
        "id": "AttributeParameters",
        "type": "object",
        "properties": {
            "scoreType": {"type": "string", "enum": ["SCORE_TYPE_UNSPECIFIED", "PROBABILITY"]},
            "scoreThreshold": {"type": "number", "format": "float"},
        },
    },
    "Score": {
        "id": "Score",
        "type": "object",
        "properties": {"value": {"type": "number", "format": "float"}, "type": {"type": "string"}},
    },
    "SpanScore": {
        "id": "SpanScore",
        "type": "object",
        "properties": {
            "begin": {"type": "integer", "format": "int32"},
            "end": {"type": "integer", "format": "int32"},
            "score": _ref("Score"),
        },
    },
    "AttributeScores": {
        "id": "AttributeScores",
        "type": "object",
        "properties": {
            "summaryScore": _ref("Score"),
            "spanScores": {"type": "array", "items": _ref("SpanScore")},
        },
    },
    "AnalyzeCommentRequest": {
        "id": "AnalyzeCommentRequest",
        "type": "object",
        "properties": {
            "comment": _ref("TextEntry"),
            "context": _ref("Context"),
            "requestedAttributes": {
                "type": "object",
                "additionalProperties": _ref("AttributeParameters"),
                "description": "Any of " + ", ".join(perspective.SUPPORTED_ATTRIBUTES) + ".",
            },
            "spanAnnotations": {"type": "boolean"},
            "languages": _LANGUAGES,
            "doNotStore": {"type": "boolean"},
            "dropUnsupportedAttributes": {"type": "boolean"},
            "clientToken": {"type": "string"},
            "sessionId": {"type": "string"},
            "communityId": {"type": "string"},
        },
    },
    "AnalyzeCommentResponse": {
        "id": "AnalyzeCommentResponse",
        "type": "object",
        "properties": {
            "attributeScores": {"type": "object", "additionalProperties": _ref("AttributeScores")},
            "languages": _LANGUAGES,
            "detectedLanguages": _LANGUAGES,
            "clientToken": {"type": "string"},
        },
    },
    "SuggestCommentScoreRequest": {
        "id": "SuggestCommentScoreRequest",
        "type": "object",
        "properties": {
            "comment": _ref("TextEntry"),
            "context": _ref("Context"),
            "attributeScores": {"type": "object", "additionalProperties": _ref("AttributeScores")},
            "languages": _LANGUAGES,
            "clientToken": {"type": "string"},
            "sessionId": {"type": "string"},
            "communityId": {"type": "string"},
        },
    },
    "SuggestCommentScoreResponse": {
        "id": "SuggestCommentScoreResponse",
        "type": "object",
        "properties": {
            "detectedLanguages": _LANGUAGES,
            "requestedLanguages": _LANGUAGES,
            "clientToken": {"type": "string"},
        },
    },
}
_PARAMETERS = {
    "key": {
        "type": "string",
        "location": "query",
        "description": "The site's secret API key (or send it as the X-Goog-Api-Key header).",
    },
    "alt": {"type": "string", "location": "query", "enum": ["json"], "default": "json"},
    "fields": {"type": "string", "location": "query", "description": "Accepted and ignored."},
    "prettyPrint": {"type": "boolean", "location": "query", "default": "true"},
    "quotaUser": {"type": "string", "location": "query", "description": "Accepted and ignored."},
}


def _method(name: str, request_schema: str, response_schema: str, description: str) -> dict[str, Any]:
    path = f"{VERSION}/comments:{name}"
    return {
        "id": f"{NAME}.comments.{name}",
        "path": path,
        "flatPath": path,
        "httpMethod": "POST",
        "parameters": {},
        "parameterOrder": [],
        "request": _ref(request_schema),
        "response": _ref(response_schema),
        "description": description,
    }


def document(root_url: str) -> dict[str, Any]:
    """The REST description Google's client libraries read, with `root_url` (ending in /) as the server."""
    return {
        "kind": "discovery#restDescription",
        "discoveryVersion": "v1",
        "id": f"{NAME}:{VERSION}",
        "name": NAME,
        "version": VERSION,
        "title": "Perspective Comment Analyzer API (comment moderation service)",
        "description": "Perspective's comments:analyze and comments:suggestscore, answered by this "
        "comment moderation service's models.",
        "protocol": "rest",
        "rootUrl": root_url,
        "servicePath": "",
        "baseUrl": root_url,
        "batchPath": "batch",
        "parameters": _PARAMETERS,
        "schemas": _SCHEMAS,
        "resources": {
            "comments": {
                "methods": {
                    "analyze": _method(
                        "analyze",
                        "AnalyzeCommentRequest",
                        "AnalyzeCommentResponse",
                        "Analyzes the provided text and returns attribute scores.",
                    ),
                    "suggestscore": _method(
                        "suggestscore",
                        "SuggestCommentScoreRequest",
                        "SuggestCommentScoreResponse",
                        "Suggest score feedback for a comment: kept as a training label of the site.",
                    ),
                }
            }
        },
    }


@bp.get("/$discovery/rest")
def discovery() -> Response:
    version = request.args.get("version")
    if version is None:
        raise GoogleError(400, "INVALID_ARGUMENT", "Give the API version: ?version=v1alpha1.")
    if version != VERSION:
        raise GoogleError(
            404, "NOT_FOUND", f"Unknown API version {version[:40]!r}; this server has v1alpha1."
        )
    return jsonify(document(request.host_url))


@bp.errorhandler(GoogleError)
def _google_error(exc: GoogleError) -> Response:
    return google_error(exc.code, exc.status, exc.message, exc.details)
