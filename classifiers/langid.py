"""Language identification for de/en/ru/other by script and stopwords: fast and good enough for routing.

Cyrillic script decides Russian (Ukrainian-only letters make it "other"); among Latin-script texts,
German and English are told apart by stopword counts. Texts with no evidence are "other".
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[^\W\d_]+")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_UKRAINIAN_ONLY = re.compile(r"[іїєґ]")
_GERMAN_CHARS = re.compile(r"[äöüß]")

_DE = frozenset(
    [
        "der",
        "die",
        "das",
        "und",
        "ist",
        "nicht",
        "ein",
        "eine",
        "einen",
        "dem",
        "den",
        "des",
        "ich",
        "du",
        "sie",
        "wir",
        "ihr",
        "es",
        "auf",
        "mit",
        "zu",
        "von",
        "für",
        "sich",
        "auch",
        "noch",
        "nur",
        "wie",
        "aber",
        "oder",
        "wenn",
        "dass",
        "daß",
        "doch",
        "schon",
        "mal",
        "so",
        "hat",
        "haben",
        "sind",
        "war",
        "wird",
        "werden",
        "kein",
        "keine",
        "im",
        "am",
        "aus",
        "bei",
        "nach",
        "über",
        "vor",
        "wer",
        "was",
        "warum",
        "weil",
        "man",
        "mehr",
        "sehr",
        "hier",
        "jetzt",
        "diese",
        "dieser",
        "dieses",
        "immer",
        "uns",
        "euch",
        "mich",
        "dich",
        "mir",
        "dir",
        "ja",
        "nein",
        "gibt",
        "kann",
        "muss",
        "soll",
    ]
)
_EN = frozenset(
    [
        "the",
        "and",
        "is",
        "are",
        "not",
        "a",
        "an",
        "of",
        "to",
        "in",
        "that",
        "this",
        "it",
        "for",
        "on",
        "with",
        "as",
        "was",
        "were",
        "be",
        "been",
        "have",
        "has",
        "had",
        "you",
        "they",
        "we",
        "he",
        "she",
        "his",
        "her",
        "their",
        "our",
        "what",
        "why",
        "who",
        "how",
        "but",
        "or",
        "if",
        "so",
        "just",
        "all",
        "can",
        "will",
        "would",
        "should",
        "do",
        "does",
        "there",
        "here",
        "from",
        "by",
        "at",
        "about",
        "no",
        "yes",
    ]
)


def detect_language(text: str) -> str:
    """Return "de", "en", "ru" or "other" for one (original or normalised) text."""
    folded = text.casefold()
    words = _WORD.findall(folded)
    if not words:
        return "other"
    # Cheap test first: most comments have no Cyrillic letter at all.
    if _CYRILLIC.search(text):
        cyrillic = len(_CYRILLIC.findall(text))
        if cyrillic > 0.4 * sum(map(len, words)):
            return "other" if _UKRAINIAN_ONLY.search(folded) else "ru"
    de = sum(map(_DE.__contains__, words)) + 2 * len(_GERMAN_CHARS.findall(folded))
    en = sum(map(_EN.__contains__, words))
    if de == 0 and en == 0:
        return "other"
    return "de" if de >= en else "en"
