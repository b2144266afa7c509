"""Validation of request bodies. Unknown fields are refused everywhere."""

from __future__ import annotations

import math
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError, field_validator

MAX_TEXT_CHARS = 10_000
MAX_BATCH_ITEMS = 1000
MAX_METADATA_DEPTH = 16
# C0 controls other than tab, line feed and carriage return, DEL, and C1 controls: never part of a comment.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LANG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


def _no_controls(value: str, name: str) -> str:
    if _CONTROL.search(value):
        raise ValueError(f"{name} contains control characters")
    return value


class Author(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: StrictStr = Field(min_length=1, max_length=200)
    name: StrictStr | None = Field(default=None, max_length=200)
    ip: StrictStr | None = Field(default=None, max_length=100)

    @field_validator("id", "name", "ip")
    @classmethod
    def _clean(cls, value: str | None) -> str | None:
        return None if value is None else _no_controls(value, "value")


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: StrictStr
    article_id: StrictStr = Field(min_length=1, max_length=500)
    author: Author
    external_id: StrictStr | None = Field(default=None, min_length=1, max_length=200)
    parent_id: StrictStr | None = Field(default=None, min_length=1, max_length=200)
    lang: StrictStr | None = None
    metadata: dict[str, Any] | None = None

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        value = _no_controls(value, "text").strip()
        if not value:
            raise ValueError("text must not be empty")
        if len(value) > MAX_TEXT_CHARS:
            raise ValueError(f"text has {len(value)} characters; at most {MAX_TEXT_CHARS} are allowed")
        return value

    @field_validator("article_id", "external_id", "parent_id")
    @classmethod
    def _ids(cls, value: str | None) -> str | None:
        return None if value is None else _no_controls(value, "identifier")

    @field_validator("lang")
    @classmethod
    def _lang(cls, value: str | None) -> str | None:
        if value is not None and not _LANG.fullmatch(value):
            raise ValueError("lang must be a language tag such as 'de' or 'de-AT'")
        return value

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            _check_metadata(value)
            if len(str(value)) > 10_000:
                raise ValueError("metadata is too large (at most about 10,000 characters)")
        return value


def _check_metadata(metadata: dict[str, Any]) -> None:
    """Metadata is stored as JSON on SQLite and PostgreSQL alike: no NUL (PostgreSQL cannot store it), no
    control characters in keys, no non-finite numbers, and a bounded depth."""
    stack: list[tuple[Any, int]] = [(metadata, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list) and depth > MAX_METADATA_DEPTH:
            raise ValueError(f"metadata is nested deeper than {MAX_METADATA_DEPTH} levels")
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str) or _CONTROL.search(key):
                    raise ValueError("metadata keys must not contain control characters")
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, str) and "\x00" in value:
            raise ValueError("metadata values must not contain NUL characters")
        elif isinstance(value, float) and not math.isfinite(value):
            raise ValueError("metadata numbers must be finite")


def describe_errors(exc: ValidationError) -> list[dict[str, str]]:
    """Flattens pydantic's errors into `{"field", "message"}` items with dotted paths."""
    out = []
    for error in exc.errors(include_url=False):
        path = ".".join(str(part) for part in error["loc"]) or "(body)"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field"
        out.append({"field": path, "message": message})
    return out


def parse_comment(raw: Any) -> CommentIn:
    """Validates one comment; raises `ValidationError`."""
    if not isinstance(raw, dict):
        raise ValueError("each comment must be a JSON object")
    return CommentIn.model_validate(raw)
