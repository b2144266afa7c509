"""`/api/docs`: the API reference as a readable page, rendered on the server from the OpenAPI document.

No script and nothing from a CDN: the page is built from `moderation.web.openapi.document()`, the same
document `/api/openapi.json` serves, so the two cannot drift apart. Schemas are shown as nested field
lists; a `$ref` links to the schema's own section instead of being repeated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, render_template
from markupsafe import Markup, escape

from moderation.web import openapi

bp = Blueprint("api_docs", __name__)

METHODS = ("get", "post", "put", "patch", "delete")
REF_PREFIX = "#/components/schemas/"


@dataclass(frozen=True)
class Field:
    """One property of a schema as the page shows it: name, type, constraints, description, children."""

    name: str
    type: str
    required: bool
    notes: list[str]
    description: str
    ref: str | None = None
    children: list[Field] = field(default_factory=list)


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    anchor: str
    summary: str
    description: str
    security: list[str]
    parameters: list[dict[str, Any]]
    body: list[Field]
    body_ref: str | None
    responses: list[tuple[str, str, str | None, list[Field]]]


def _type_of(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].removeprefix(REF_PREFIX)
    if "const" in schema:
        return f"constant {schema['const']!r}"
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = " or ".join(str(k) for k in kind)
    if kind == "array" or (isinstance(kind, str) and "array" in kind):
        items = schema.get("items") or {}
        return f"{kind} of {_type_of(items)}" if items else str(kind)
    for combinator in ("oneOf", "anyOf"):
        if combinator in schema:
            return " or ".join(_type_of(option) for option in schema[combinator])
    if "allOf" in schema:
        return " and ".join(_type_of(option) for option in schema["allOf"])
    return str(kind or "any")


def _notes(schema: dict[str, Any]) -> list[str]:
    notes = []
    if "enum" in schema:
        notes.append("one of " + ", ".join(repr(v) for v in schema["enum"]))
    for key, label in (
        ("minLength", "at least {} characters"),
        ("maxLength", "at most {} characters"),
        ("minimum", "≥ {}"),
        ("maximum", "≤ {}"),
        ("minItems", "at least {} items"),
        ("maxItems", "at most {} items"),
        ("format", "format {}"),
        ("default", "default {}"),
    ):
        if key in schema:
            notes.append(label.format(schema[key]))
    return notes


def _fields(schema: dict[str, Any], depth: int = 0) -> list[Field]:
    """The properties of an object schema (items of an array of objects), nested up to a few levels."""
    if depth > 4 or not isinstance(schema, dict) or "$ref" in schema:
        return []
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        return _fields(schema["items"], depth)
    if "additionalProperties" in schema and isinstance(schema["additionalProperties"], dict):
        inner = schema["additionalProperties"]
        if not schema.get("properties"):
            return [
                Field(
                    "(any name)",
                    _type_of(inner),
                    False,
                    _notes(inner),
                    inner.get("description", ""),
                    inner.get("$ref", "").removeprefix(REF_PREFIX) or None,
                    _fields(inner, depth + 1),
                )
            ]
    required = set(schema.get("required") or [])
    out = []
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict):
            continue
        out.append(
            Field(
                name=name,
                type=_type_of(prop),
                required=name in required,
                notes=_notes(prop),
                description=prop.get("description", ""),
                ref=prop["$ref"].removeprefix(REF_PREFIX) if "$ref" in prop else None,
                children=_fields(prop, depth + 1),
            )
        )
    return out


def _json_schema(content: dict[str, Any] | None) -> dict[str, Any] | None:
    if not content:
        return None
    for media in ("application/json", *content):
        if media in content:
            schema = content[media].get("schema")
            return schema if isinstance(schema, dict) else None
    return None


def _ref(schema: dict[str, Any] | None) -> str | None:
    if schema and "$ref" in schema:
        return str(schema["$ref"]).removeprefix(REF_PREFIX)
    return None


def operations(document: dict[str, Any]) -> list[Operation]:
    out = []
    for path, item in document.get("paths", {}).items():
        shared_parameters = item.get("parameters", [])
        for method in METHODS:
            op = item.get(method)
            if not op:
                continue
            body_schema = _json_schema((op.get("requestBody") or {}).get("content"))
            responses = []
            for status, response in op.get("responses", {}).items():
                schema = _json_schema(response.get("content"))
                responses.append(
                    (status, response.get("description", ""), _ref(schema), _fields(schema or {}))
                )
            anchor = f"{method}-{path}".replace("/", "-").replace("{", "").replace("}", "").replace(":", "-")
            out.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    anchor=anchor.replace("$", "").strip("-"),
                    summary=op.get("summary", ""),
                    description=op.get("description", ""),
                    security=[name for requirement in op.get("security", []) for name in requirement],
                    parameters=[*shared_parameters, *op.get("parameters", [])],
                    body=_fields(body_schema or {}),
                    body_ref=_ref(body_schema),
                    responses=responses,
                )
            )
    return out


def _groups(ops: list[Operation]) -> list[tuple[str, list[Operation]]]:
    """Operations grouped by what they are for, in the order a site integrating us reads them."""
    order = [
        ("Comments", lambda p: p.startswith("/api/v1/comments")),
        ("Perspective compatibility", lambda p: p.startswith("/v1alpha1") or p.startswith("/$discovery")),
        ("Coral Talk", lambda p: p.startswith("/api/v1/coral")),
        ("Authors (privacy)", lambda p: p.startswith("/api/v1/authors")),
    ]
    groups: dict[str, list[Operation]] = {name: [] for name, _ in order}
    groups["Operations"] = []
    for op in ops:
        name = next((n for n, test in order if test(op.path)), "Operations")
        groups[name].append(op)
    return [(name, items) for name, items in groups.items() if items]


def ticks(text: str | None) -> Markup:
    """A description with Markdown's `code` spans shown as code; everything else escaped."""
    parts = str(escape(text or "")).split("`")
    return Markup("".join(f"<code>{part}</code>" if index % 2 else part for index, part in enumerate(parts)))


@bp.app_template_filter("ticks")
def _ticks_filter(text: str | None) -> Markup:
    return ticks(text)


@bp.get("/api/docs")
def reference() -> Any:
    document = openapi.document()
    schemas = document.get("components", {}).get("schemas", {})
    webhooks = []
    for name, item in (document.get("webhooks") or {}).items():
        for method in METHODS:
            if method in item:
                schema = _json_schema((item[method].get("requestBody") or {}).get("content"))
                webhooks.append((name, item[method], _ref(schema), _fields(schema or {})))
    return render_template(
        "api_docs.html",
        info=document.get("info", {}),
        groups=_groups(operations(document)),
        webhooks=webhooks,
        schemas=[(name, schema, _fields(schema)) for name, schema in schemas.items()],
        security=document.get("components", {}).get("securitySchemes", {}),
    )
