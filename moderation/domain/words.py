"""Banned and suspect words: found in a comment as its readers see it, whatever the disguise.

A word is looked up twice, and the first listed word found either way counts:

- in the text as the models read it (`CommentFacts.read`, i.e. `classifiers.normalize.normalise`):
  hidden characters dropped, right-to-left overrides read as displayed, decorating marks removed,
  leet digits, spaced letters, masks and look-alike letters undone. "Hur3ns0hn", "H u r e n s o h n",
  the word with soft hyphens or zero-width spaces inside, and "nhosneruH" in a right-to-left override
  (shown as "Hurensohn") are all "Hurensohn". The listed word is read the
  same way, so both sides agree. Only words and phrases of letters, digits, spaces, hyphens and
  apostrophes are read so: a listed link, address or "@name" would read as a placeholder that stands
  for every link or mention;
- in the text as written, NFKC-folded and casefolded, which also finds a word inside a quoted comment,
  a link or a mention (the models read those as placeholders).

The match's range is in the original text, covering the disguised spelling, so a moderator sees what
the author wrote.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from moderation.domain.facts import Reader, ReadText

# Listed words read through the reader: letters, digits, marks, spaces, hyphens, apostrophes.
_WORDLIKE = re.compile(r"[\w\s'’\-\u0300-\u036f]+")


@dataclass(frozen=True)
class WordMatch:
    word: str  # as listed
    start: int  # the range in the original text
    end: int


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


@dataclass(frozen=True)
class _Written:
    """The text as written, NFKC-folded and casefolded, mapped back character cluster by cluster."""

    original: str

    @property
    def text(self) -> str:
        return _fold(self.original)

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        return _written_range(self.original, start, end)


def _written_range(original: str, start: int, end: int) -> tuple[int, int]:
    if original.isascii():
        return start, end
    # Folding a letter with its combining marks gives one or more characters; each maps to all of them.
    starts: list[int] = []
    ends: list[int] = []
    i = 0
    while i < len(original):
        j = i + 1
        while j < len(original) and unicodedata.combining(original[j]):
            j += 1
        width = len(_fold(original[i:j]))
        starts.extend([i] * width)
        ends.extend([j] * width)
        i = j
    if end > len(starts) or end <= start:  # folding the whole text differed from folding its parts
        return 0, len(original)
    return starts[start], ends[end - 1]


@lru_cache(maxsize=8192)
def _read_needle(read: Reader, word: str) -> str:
    if not _WORDLIKE.fullmatch(_fold(word)):
        return ""
    return read(word).text.strip()


@lru_cache(maxsize=8192)
def _pattern(needle: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w){re.escape(needle)}(?!\w)")


class Reading:
    """One comment's text, read both ways once, to look up any number of word lists in."""

    def __init__(self, text: str, read: Reader | None = None) -> None:
        self._read = read
        self._text = text
        self._views: list[tuple[ReadText, str]] | None = None

    def _both(self) -> list[tuple[ReadText, str]]:
        if self._views is None:
            written = _Written(self._text)
            views: list[tuple[ReadText, str]] = [(written, written.text)]
            if self._read is not None:
                read = self._read(self._text)
                views.insert(0, (read, read.text))
            self._views = views
        return self._views

    def find(self, words: Sequence[str]) -> WordMatch | None:
        """The first listed word or phrase that occurs as a whole word, with its range in the text."""
        if not words:
            return None
        views = self._both()
        for word in words:
            for view, text in views:
                if isinstance(view, _Written):
                    needle = _fold(word).strip()
                else:
                    assert self._read is not None
                    needle = _read_needle(self._read, word)
                if not needle:
                    continue
                found = _pattern(needle).search(text)
                if found is not None:
                    start, end = view.to_original(*found.span())
                    return WordMatch(word, start, end)
        return None


def find_word(words: Sequence[str], text: str, read: Reader | None = None) -> WordMatch | None:
    """The first listed word or phrase in `text` (see the module docstring), or None."""
    return Reading(text, read).find(words)
