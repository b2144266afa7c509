"""The comment text as HTML with the explaining spans marked, built here so every byte is escaped."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from flask import has_request_context
from markupsafe import Markup, escape

from moderation.web.dashboard.numbers import number

_CLASS_SAFE = re.compile(r"[^a-z0-9_-]")
# First strong isolate ... pop directional isolate: `<bdi>` as characters.
_ISOLATE_START = "\u2068"
_ISOLATE_END = "\u2069"


def isolate(value: object) -> str:
    """`value` as text isolated from its surroundings, for a name or word inside a sentence (where no
    `<bdi>` can go): right-to-left text or an override in it stays within it, so the sentence around it
    still reads in order."""
    return f"{_ISOLATE_START}{value}{_ISOLATE_END}"


def _label(attribute: str) -> str:
    """The attribute's name in the interface's language (imported here: the wording module uses this one)."""
    if not has_request_context():
        return attribute
    from moderation.web.dashboard.wording import attribute_label

    return str(attribute_label(attribute))


def _spans(text: str, raw: Iterable[Mapping[str, Any]]) -> list[tuple[int, int, str, float]]:
    """Valid spans only: offsets are Python string indices, clipped to the text; bad entries dropped."""
    out = []
    for span in raw:
        try:
            start, end = int(span["start"]), int(span["end"])
            attribute = str(span.get("attribute") or "")
            weight = float(span.get("weight") or 0.0)
        except (KeyError, TypeError, ValueError):
            continue
        start, end = max(0, start), min(len(text), end)
        if start < end:
            out.append((start, end, attribute, weight))
    return out


def highlight(text: str, raw_spans: Iterable[Mapping[str, Any]] | None) -> Markup:
    """Wraps each stretch of `text` covered by spans in `<mark>`; overlapping spans split into pieces.

    Each piece names the attributes covering it (strongest first) in its class and title, so the reason
    for a hold can be read off the text itself.
    """
    spans = _spans(text, raw_spans or [])
    if not spans:
        return escape(text)
    cuts = sorted({0, len(text), *(s for s, _, _, _ in spans), *(e for _, e, _, _ in spans)})
    parts: list[str] = []
    for left, right in zip(cuts, cuts[1:], strict=False):
        piece = escape(text[left:right])
        covering = sorted(
            (
                (weight, attribute)
                for start, end, attribute, weight in spans
                if start <= left and right <= end
            ),
            reverse=True,
        )
        if not covering:
            parts.append(piece)
            continue
        strongest = _CLASS_SAFE.sub("", covering[0][1].lower()) or "other"
        title = ", ".join(
            f"{_label(attribute)} {number(weight, '+0.00;-0.00')}" for weight, attribute in covering
        )
        parts.append(
            Markup('<mark class="hl hl-{cls}" data-attribute="{attr}" title="{title}">{piece}</mark>').format(
                cls=strongest, attr=covering[0][1], title=title, piece=piece
            )
        )
    return Markup("").join(parts)
