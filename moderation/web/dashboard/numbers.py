"""Numbers as the dashboard shows them: in the interface language's format ("0,71" in German, "0.71" in
English). Machine-readable values (data-* attributes, form values, JSON) are not formatted."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from babel import numbers
from flask import has_request_context
from flask_babel import format_decimal, get_locale


def number(value: Any, pattern: str = "0.00") -> str:
    """`value` with the Babel `pattern` in the interface's locale ("–" for none); outside a request (a
    unit test, a script) in English."""
    if value is None:
        return "–"
    if not has_request_context():
        return str(numbers.format_decimal(float(value), pattern, locale="en"))
    return str(format_decimal(float(value), pattern))


def percent(value: Any) -> str:
    """A share (0..1) as whole percent: "71 %"."""
    return "–" if value is None else f"{number(float(value) * 100, '0')} %"


def hours(value: Any) -> str:
    """A duration in hours with one decimal: "0,1 h"."""
    return "–" if value is None else f"{number(value, '#,##0.0')} h"


_GERMAN_DAY = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")


def parse_day(raw: str | None) -> date | None:
    """A date filter as typed: "2026-12-06" or "6.12.2026" (either interface language); None if empty or
    not a date."""
    text = (raw or "").strip()
    if not text:
        return None
    try:
        german = _GERMAN_DAY.fullmatch(text)
        if german:
            return date(int(german[3]), int(german[2]), int(german[1]))
        return date.fromisoformat(text)
    except ValueError:
        return None


def day_input(value: date | str | None) -> str:
    """A date filter's value in the interface's format ("06.12.2026" in German, "2026-12-06" in English)."""
    day = value if isinstance(value, date) else parse_day(value)
    if day is None:
        return ""
    german = has_request_context() and str(get_locale() or "").startswith("de")
    return f"{day.day:02d}.{day.month:02d}.{day.year:04d}" if german else day.isoformat()
