"""Language identification for de/en/ru/other/und by script, stopwords and trigrams: fast, for routing.

- Cyrillic script decides Russian; letters only Kazakh has make it Kazakh ("kk"), letters only Ukrainian
  has Ukrainian ("uk"; Belarusian, rare here, shares them). Other non-Latin
  scripts (Arabic, Greek, Hebrew, CJK, ...) are "other".
- Latin-script texts: German and English are told apart by stopword counts (most comments).
- A Latin text with no stopword (short comments: "Spinner", "Schwachsinn. Punkt.") is "other" if it has
  letters that German and English do not use (Turkish, Polish, Czech, Romance diacritics), else German
  or English by the summed log-odds of its character trigrams (`catalogue/langid_trigrams.json`, counted
  on the training corpora), and "und" (undetermined) when that evidence is too weak.
- A text without letters (emoji, punctuation, numbers) is "und". "und" is not an unsupported language:
  the policy holds only "other".
"""

from __future__ import annotations

import json
import re
from functools import cache
from itertools import islice
from pathlib import Path
from typing import Any

_WORD = re.compile(r"[^\W\d_]+")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
# Cyrillic letters Russian does not use: Kazakh's own (checked first: Kazakh shares "і" with Ukrainian),
# then Ukrainian's.
_KAZAKH_ONLY = re.compile(r"[әғқңөұүһ]")
_UKRAINIAN_ONLY = re.compile(r"[іїєґ]")
# Scripts none of our models read: Greek, Armenian, Hebrew, Arabic, Indic, Thai, Georgian, CJK, Hangul.
_OTHER_SCRIPT = re.compile(
    r"[\u0370-\u03ff\u0530-\u08ff\u0900-\u0dff\u0e00-\u0eff\u10a0-\u10ff\u3040-\u9fff\uac00-\ud7af]"
)
# Latin letters that German and English do not use: Turkish, Polish, Czech, Hungarian, Romance, Nordic.
_FOREIGN_LATIN = re.compile(r"[ıİşğłąęśżźćńčřžšěůőűãõñçàèìòùâêîôûëïÿœæøåğ]")
UNDETERMINED = "und"
_NOISE = re.compile(r"[@#]\w+|https?://\S+|www\.\S+|&#?\w+;|\|LBR\|")
# Trigram evidence per text (sum of log-odds) below this is too weak to call German or English.
MIN_TRIGRAM_EVIDENCE = 2.0
_TRIGRAMS = Path(__file__).resolve().parent / "catalogue" / "langid_trigrams.json"
_GERMAN_CHARS = re.compile(r"[äöü]")

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


@cache
def _trigram_log_odds() -> dict[str, float]:
    data = json.loads(_TRIGRAMS.read_text(encoding="utf-8"))
    return {str(k): float(v) for k, v in data["log_odds"].items()}


def _by_trigrams(words: list[str]) -> str:
    table = _trigram_log_odds()
    evidence = 0.0
    for word in words:
        padded = f" {word} "
        evidence += sum(table.get(padded[i : i + 3], 0.0) for i in range(len(padded) - 2))
    if abs(evidence) < MIN_TRIGRAM_EVIDENCE:
        return UNDETERMINED
    return "de" if evidence > 0 else "en"


# Languages a comment on a German site is likely in besides ours; the detector only vetoes de/en.
_LINGUA_OTHERS = (
    "TURKISH",
    "POLISH",
    "FRENCH",
    "ITALIAN",
    "SPANISH",
    "DUTCH",
    "CROATIAN",
    "ROMANIAN",
    "CZECH",
    "PORTUGUESE",
    "HUNGARIAN",
    "SWEDISH",
)
# A text this long with this little stopword evidence is checked against those languages.
VETO_MIN_WORDS = 4
VETO_MAX_STOPWORDS = 2
VETO_CONFIDENCE = 0.9


@cache
def _other_language_detector() -> Any:
    """lingua's detector over German, English and the likely other languages (low-accuracy mode: about
    40 MB and 25 us a text; reliable from about four words on, which is when it is asked)."""
    from lingua import Language, LanguageDetectorBuilder

    languages = [Language.GERMAN, Language.ENGLISH, *(getattr(Language, name) for name in _LINGUA_OTHERS)]
    return LanguageDetectorBuilder.from_languages(*languages).with_low_accuracy_mode().build()


def _is_other_language(text: str) -> bool:
    best = _other_language_detector().compute_language_confidence_values(text)[0]
    return best.language.name in _LINGUA_OTHERS and best.value >= VETO_CONFIDENCE


def detect_language(text: str) -> str:
    """Return "de", "en", "ru", "uk", "kk", "other" or "und" for one (original or normalised) text."""
    folded = text.casefold()
    return _detect(text, folded, _WORD.findall(folded))


def _detect(text: str, folded: str, words: list[str]) -> str:
    """`detect_language` with the text's casefolded form and its words (`_WORD` in it) at hand."""
    if not words:
        return UNDETERMINED
    # Cheap tests first: most comments are in Latin script only.
    if not folded.isascii():
        letters = sum(map(len, words))
        if _CYRILLIC.search(text):
            cyrillic = len(_CYRILLIC.findall(text))
            if cyrillic > 0.4 * letters:
                if _KAZAKH_ONLY.search(folded):
                    return "kk"
                return "uk" if _UKRAINIAN_ONLY.search(folded) else "ru"
        if _OTHER_SCRIPT.search(folded) and len(_OTHER_SCRIPT.findall(folded)) > 0.4 * letters:
            return "other"
    # (casefold turns "ß" into "ss", so it is counted in the original text)
    de = sum(map(_DE.__contains__, words)) + 2 * (len(_GERMAN_CHARS.findall(folded)) + text.count("ß"))
    en = sum(map(_EN.__contains__, words))
    if de + en <= VETO_MAX_STOPWORDS:
        # Weak evidence: look at the words alone (mentions, hashtags, links and entities say nothing).
        plain = _NOISE.sub(" ", folded)
        words = _WORD.findall(plain)
        if len(words) >= VETO_MIN_WORDS and _is_other_language(plain):
            return "other"
    if de or en:
        return "de" if de >= en else "en"
    if _FOREIGN_LATIN.search(folded):
        return "other"
    return _by_trigrams(words)


# A comment is read part by part when its sentences are in different languages (a German sentence with
# a Kazakh one after it): each part must be long enough to tell its language.
_SENTENCE_BREAK = re.compile(r"(?<=[.!?…])\s+|\s*\|LBR\|\s*|\n+")
MIN_PART_LETTERS = 12
MIN_PART_WORDS = 2


def sentence_spans(text: str, min_words: int = 1) -> list[tuple[int, int]]:
    """(start, end) of the text's sentences (split after . ! ? …, at line breaks and at |LBR|) that have
    at least `min_words` words, in order."""
    spans = []
    start = 0
    for match in [*_SENTENCE_BREAK.finditer(text), None]:
        end = match.start() if match is not None else len(text)
        # Only whether it has `min_words` words matters: stop counting there.
        if sum(1 for _ in islice(_WORD.finditer(text, start, end), min_words)) >= min_words:
            spans.append((start, end))
        if match is not None:
            start = match.end()
    return spans


def language_parts(text: str, sentences: list[tuple[int, int]] | None = None) -> list[tuple[int, int, str]]:
    """(start, end, language) of the text's sentences whose language can be told, in order; `sentences`
    are the text's `sentence_spans(text, MIN_PART_WORDS)` if the caller has them already."""
    parts = []
    for start, end in sentence_spans(text, MIN_PART_WORDS) if sentences is None else sentences:
        piece = text[start:end]
        folded = piece.casefold()
        words = _WORD.findall(folded)
        if sum(map(len, words)) >= MIN_PART_LETTERS:
            lang = _detect(piece, folded, words)
            if lang != UNDETERMINED:
                parts.append((start, end, lang))
    return parts


def mixed_parts(
    text: str, whole: str, sentences: list[tuple[int, int]] | None = None
) -> list[tuple[int, int, str]]:
    """The parts of a comment written in another language than `whole` (the comment's language), or []
    when it is written in one language. Runs of sentences in one language are joined. `sentences` as for
    `language_parts`; a text of one sentence is in one language."""
    if sentences is not None and len(sentences) < 2:
        return []
    parts = language_parts(text, sentences)
    if len({lang for _, _, lang in parts}) < 2:
        return []
    joined: list[tuple[int, int, str]] = []
    for start, end, lang in parts:
        if joined and joined[-1][2] == lang:
            joined[-1] = (joined[-1][0], end, lang)
        else:
            joined.append((start, end, lang))
    return joined


def combined_language(whole: str, parts: list[tuple[int, int, str]]) -> str:
    """The comment's language, with the others its parts are written in: "de+kk" (at most three)."""
    languages = [whole] if whole != UNDETERMINED else []
    for _, _, lang in parts:
        if lang not in languages:
            languages.append(lang)
    return "+".join(languages[:3]) or UNDETERMINED
