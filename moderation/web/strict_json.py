"""Strict JSON for request bodies: only documents every JSON parser reads the same way (I-JSON, RFC 7493).

Python's `json` module accepts things other parsers read differently or cannot store at all: an object
with the same key twice (which value wins?), a lone UTF-16 surrogate such as `"\\ud800"` (not a Unicode
character: it cannot be encoded as UTF-8 and PostgreSQL refuses it), numbers beyond what a double can hold
(`1e999999` becomes infinity, which JSON cannot express) and nesting so deep that encoding the value again
overflows the stack. Each of these is refused with a `StrictJSONError` whose message says what and where.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_DEPTH = 64
# Numbers beyond a signed 64-bit integer's range are no ids, counters or measures a site sends: refuse
# them rather than store what some parsers turn into infinity or silently round.
MAX_INT = 2**63 - 1


class StrictJSONError(ValueError):
    """The body is not a JSON document the service accepts; the message is for the client."""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise StrictJSONError(f"duplicate key {_show(key)} in an object")
        out[key] = value
    return out


def _float(raw: str) -> float:
    value = float(raw)
    if not math.isfinite(value) or abs(value) > MAX_INT:
        shown = raw if len(raw) <= 40 else raw[:40] + "..."
        raise StrictJSONError(f"the number {shown} is out of range (at most 2**63 - 1 in magnitude)")
    return value


def _int(raw: str) -> int:
    value = int(raw)
    if not -MAX_INT <= value <= MAX_INT:
        shown = raw if len(raw) <= 40 else raw[:40] + "..."
        raise StrictJSONError(f"the integer {shown} is out of range (at most 2**63 - 1 in magnitude)")
    return value


def _constant(name: str) -> Any:
    raise StrictJSONError(f"{name} is not valid JSON")


def _show(value: str) -> str:
    """A key or string for an error message: short, and printable even with a lone surrogate in it."""
    shown = value if len(value) <= 40 else value[:40] + "..."
    return json.dumps(shown)


def _check_string(value: str, where: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise StrictJSONError(
            f"{where} contains a lone surrogate (\\u{ord(value[exc.start]):04x}), which is not a character"
        ) from exc


def _check(document: Any) -> None:
    """Walks the parsed document without recursion: depth and strings (keys included)."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            _check_string(value, "a string")
        elif isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise StrictJSONError(f"the document is nested deeper than {MAX_DEPTH} levels")
            if isinstance(value, dict):
                for key, item in value.items():
                    _check_string(key, "an object key")
                    stack.append((item, depth + 1))
            else:
                stack.extend((item, depth + 1) for item in value)


def loads(text: str) -> Any:
    """Parses `text`; raises `StrictJSONError` (a ValueError) for anything but strict JSON."""
    try:
        document = json.loads(
            text,
            object_pairs_hook=_pairs,
            parse_float=_float,
            parse_int=_int,
            parse_constant=_constant,
        )
    except StrictJSONError:
        raise
    except RecursionError as exc:
        raise StrictJSONError(f"the document is nested deeper than {MAX_DEPTH} levels") from exc
    except ValueError as exc:
        # json.JSONDecodeError, and int() refusing a number with thousands of digits.
        raise StrictJSONError(f"the body is not valid JSON: {exc}") from exc
    _check(document)
    return document
