"""Folding long comment texts on the dense queue without hiding why a comment was held.

A folded card shows the opening of the text; when the first explaining span lies beyond it, an excerpt
around that span follows, so the highlighted words stay in view while the rest waits behind
"show more".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from moderation.web.dashboard.highlight import highlight

FOLD_AT = 280  # characters; longer texts (or more than MAX_LINES lines) are folded on the queue
MAX_LINES = 4
CONTEXT = 70  # characters of context each side of the first span in the excerpt
_SPACE = re.compile(r"\s+")
ELLIPSIS = Markup(' <span class="gap" aria-hidden="true">…</span> ')


@dataclass(frozen=True)
class Folded:
    """The folded text as HTML, or None when the text is short enough to show whole."""

    html: Markup | None
    hidden_chars: int


def _word_start(text: str, index: int) -> int:
    """`index` moved forward to the start of a word (never past the next 20 characters)."""
    if index <= 0:
        return 0
    if text[index - 1].isspace():
        return index
    match = _SPACE.search(text, index, index + 20)
    return match.end() if match else index


def _word_end(text: str, index: int) -> int:
    """`index` moved back to the end of a word (never more than 20 characters)."""
    if index >= len(text):
        return len(text)
    if text[index].isspace() or text[index - 1].isspace():
        return index
    spaces = list(_SPACE.finditer(text, max(0, index - 20), index))
    return spaces[-1].start() if spaces and spaces[-1].start() > 0 else index


def _shifted(spans: Iterable[Mapping[str, Any]], offset: int) -> list[dict[str, Any]]:
    out = []
    for span in spans:
        try:
            out.append({**span, "start": int(span["start"]) - offset, "end": int(span["end"]) - offset})
        except (KeyError, TypeError, ValueError):
            continue
    return out


def _first_start(spans: Iterable[Mapping[str, Any]]) -> int | None:
    starts = []
    for span in spans:
        try:
            starts.append(int(span["start"]))
        except (KeyError, TypeError, ValueError):
            continue
    return min(starts, default=None)


def needs_folding(text: str) -> bool:
    return len(text) > FOLD_AT or text.count("\n") >= MAX_LINES


def fold(text: str, spans: Iterable[Mapping[str, Any]] | None) -> Folded:
    """The opening of `text` (cut at a word, at most `FOLD_AT` characters and `MAX_LINES` lines), and,
    when the first span starts after it, an excerpt around that span; both with spans highlighted."""
    if not needs_folding(text):
        return Folded(None, 0)
    spans = list(spans or [])
    cut = FOLD_AT // 2 if _first_start(spans) is not None else FOLD_AT
    lines = text.split("\n")
    if len(lines) > MAX_LINES - 1:
        cut = min(cut, len("\n".join(lines[: MAX_LINES - 1])))
    cut = _word_end(text, cut)
    pieces = [(0, cut)]
    first = _first_start(spans)
    if first is not None and first >= cut:
        span_end = max((int(s["end"]) for s in _shifted(spans, 0) if int(s["start"]) == first), default=first)
        start = max(cut, _word_start(text, first - CONTEXT))
        end = _word_end(text, min(len(text), max(span_end, first) + CONTEXT))
        if end <= span_end:
            end = min(len(text), span_end)
        pieces.append((start, end))
    parts: list[Markup] = []
    shown = 0
    for index, (start, end) in enumerate(pieces):
        if index:
            parts.append(ELLIPSIS)
        fragment = text[start:end].replace("\n", " ")
        parts.append(highlight(fragment, _shifted(spans, start)))
        shown += end - start
    if pieces[-1][1] < len(text):
        parts.append(ELLIPSIS)
    return Folded(Markup("").join(parts), len(text) - shown)
