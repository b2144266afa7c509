"""Validation of request bodies. Unknown fields are refused everywhere."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError, field_validator

MAX_TEXT_CHARS = 10_000
MAX_BATCH_ITEMS = 1000
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
        value = _no_controls(value.strip(), "text")
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
        if value is not None and not _LANG.match(value):
            raise ValueError("lang must be a language tag such as 'de' or 'de-AT'")
        return value

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and len(str(value)) > 10_000:
            raise ValueError("metadata is too large (at most about 10,000 characters)")
        return value


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
