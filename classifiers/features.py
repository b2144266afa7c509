"""Feature extraction: sparse word/char n-grams of the normalised text plus a few dense cue features.

`analyze` is the vectoriser's analyzer; it is module-level so skops can save the vectoriser by reference.
Every feature belongs to one word (bigrams to two), which is how `classifiers.explain` turns linear
weights into spans.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from classifiers.catalogue import Catalogue, CueHit, noisy_or
from classifiers.normalize import URL_TOKEN, Normalised

# Emoji and pictographs (skin tones excluded: normalisation strips them). Each one is a token of its own:
# in GermEval 2018 one tweet in six carries emoji, and they carry tone (laughing at, vomiting, middle finger).
EMOJI = "[\U0001f000-\U0001f3fa\U0001f400-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u2190-\u21ff\u2300-\u23ff]"
# How a model splits a normalised text into tokens; saved with the model ("words" before format 3).
TOKEN_SCHEMES = {
    "words": re.compile(r"\w+"),
    "words+emoji": re.compile(r"\w+|" + EMOJI),
}
TOKENS = "words+emoji"
_TOKEN = TOKEN_SCHEMES[TOKENS]
_REPEAT_RAW = re.compile(r"(.)\1\1+")
_MAYBE_REPEAT_RAW = re.compile(r"(.)\1\1", re.DOTALL)  # same matches exist or not; a faster scan
_UPPER = re.compile(r"[A-ZÄÖÜА-ЯЁ]")
_DIGIT = re.compile(r"\d")
_ASCII_LETTERS = string.ascii_letters.encode()
CHAR_NGRAMS = (3, 4, 5)


@lru_cache(maxsize=262_144)
def token_ngrams(token: str) -> tuple[str, ...]:
    """The char n-grams of one word, padded with spaces (cached: word frequencies are Zipfian)."""
    padded = f" {token} "
    size = len(padded)
    return tuple(padded[i : i + n] for n in CHAR_NGRAMS if n <= size for i in range(size - n + 1))


def analyze(text: str) -> list[str]:
    """Word unigrams ("w:"), word bigrams ("b:") and padded char 3-5-grams of each word (and emoji)."""
    return _features(_TOKEN.findall(text))


def analyze_words(text: str) -> list[str]:
    """`analyze` as models before format 3 saw texts: words only, emoji dropped."""
    return _features(TOKEN_SCHEMES["words"].findall(text))


ANALYZERS = {"words": analyze_words, "words+emoji": analyze}


def _features(tokens: list[str]) -> list[str]:
    feats = ["w:" + t for t in tokens]
    feats.extend(f"b:{a}_{b}" for a, b in zip(tokens, tokens[1:], strict=False))
    for t in tokens:
        feats.extend(token_ngrams(t))
    return feats


DENSE_NAMES = (
    "narrative_max",
    "narrative_asserted",
    "debunk",
    "technique_cue_max",
    "threat_cue",
    "spam_cue",
    "urls",
    "repeats",
    "caps_ratio",
    "digit_ratio",
    "exclamations",
    "insult_words",
    "profanity_words",
    "slur_words",
    "length",
    "question",
)

# Dense features whose value for a part of a text (a sentence, read with `part_cues`) is never above the
# whole text's: counts of cue hits, words, links and marks inside it. Not so the ratios, the length and
# narrative_asserted (a debunk in another sentence lowers only the whole's).
PART_BOUNDED = frozenset(
    {
        "narrative_max",
        "debunk",
        "technique_cue_max",
        "threat_cue",
        "spam_cue",
        "urls",
        "exclamations",
        "insult_words",
        "profanity_words",
        "slur_words",
        "question",
    }
)


def length_feature(original: str) -> float:
    return min(math.log1p(len(original)) / 7.0, 1.0)


@dataclass
class CueAnalysis:
    """Catalogue and lexicon evidence for one text."""

    narrative_hits: list[CueHit]
    narratives: dict[str, float]
    debunk: float
    techniques: dict[str, float]
    technique_hits: list[CueHit]
    threat: float
    threat_hits: list[CueHit]
    dense: np.ndarray
    hits: list[CueHit]  # every cue hit in the normalised text (of all kinds), as the catalogue found them


def analyse_cues(norm: Normalised, catalogue: Catalogue, tokens: list[str] | None = None) -> CueAnalysis:
    """Cue and lexicon evidence; `tokens` are the text's words if the caller has them already."""
    return cue_analysis(norm.text, norm.original, catalogue.cues.hits(norm.text), catalogue, tokens)


def cue_analysis(
    text: str, original: str, hits: list[CueHit], catalogue: Catalogue, tokens: list[str] | None = None
) -> CueAnalysis:
    """`analyse_cues` from the catalogue's `hits` in the normalised `text` of `original`: a part of a
    comment is read from the hits found in the whole comment that fall inside it (`part_cues`)."""
    if hits:
        by_kind: dict[str, list[CueHit]] = {
            "narrative": [],
            "technique": [],
            "debunk": [],
            "threat": [],
            "spam": [],
        }
        for hit in hits:
            kind, _, label = hit.label.partition(":")
            by_kind[kind].append(CueHit(label, hit.start, hit.end, hit.weight))
        narrative_hits = by_kind["narrative"]
        narratives = noisy_or(narrative_hits)
        debunk = noisy_or(by_kind["debunk"]).get("debunk", 0.0)
        technique_hits = by_kind["technique"]
        techniques = noisy_or(technique_hits)
        threat_hits = by_kind["threat"]
        threat = noisy_or(threat_hits).get("threat", 0.0)
        spam = noisy_or(by_kind["spam"]).get("spam", 0.0)
    else:  # most comments match no cue at all
        narrative_hits, technique_hits, threat_hits = [], [], []
        narratives, techniques = {}, {}
        debunk = threat = spam = 0.0
    if tokens is None:
        tokens = _TOKEN.findall(text)
    words = catalogue.lexicon_words
    lexical = list(filter(catalogue.any_lexicon_word.__contains__, tokens))
    if original.isascii():  # bytes.translate deletes the ASCII letters in C: same count, 10x faster
        raw = original.encode()
        n_letters = len(raw) - len(raw.translate(None, _ASCII_LETTERS))
    else:
        n_letters = sum(map(str.isalpha, original))
    n_upper = len(_UPPER.findall(original))
    narrative_max = max(narratives.values(), default=0.0)
    dense = np.array(
        [
            narrative_max,
            narrative_max * (1.0 - debunk),
            debunk,
            max(techniques.values(), default=0.0),
            threat,
            spam,
            min(text.count(URL_TOKEN) / 2.0, 1.0),
            min(len(_REPEAT_RAW.findall(original)) / 2.0, 1.0) if _MAYBE_REPEAT_RAW.search(original) else 0.0,
            n_upper / n_letters if n_letters >= 8 else 0.0,
            min(len(_DIGIT.findall(original)) / max(len(original), 1) * 5.0, 1.0),
            min(original.count("!") / 3.0, 1.0),
            min(sum(map(words["insult"].__contains__, lexical)) / 2.0, 1.0),
            min(sum(map(words["profanity"].__contains__, lexical)) / 2.0, 1.0),
            min(float(sum(map(words["slur"].__contains__, lexical))), 1.0),
            length_feature(original),
            float("?" in original),
        ],
        dtype=np.float32,
    )
    return CueAnalysis(
        narrative_hits, narratives, debunk, techniques, technique_hits, threat, threat_hits, dense, hits
    )


def part_cues(
    whole: CueAnalysis,
    text: str,
    original: str,
    start: int,
    catalogue: Catalogue,
    tokens: list[str],
) -> CueAnalysis:
    """The cue analysis of a part of a comment: `text` is the part of the whole's normalised text that
    starts at `start`, `original` the part of the original text it comes from, `tokens` its words. The
    whole's hits inside the part are used (moved to the part's offsets), so the catalogue is not run again."""
    end = start + len(text)
    hits = [
        CueHit(h.label, h.start - start, h.end - start, h.weight)
        for h in whole.hits
        if start <= h.start and h.end <= end
    ]
    return cue_analysis(text, original, hits, catalogue, tokens)


def dense_matrix(analyses: Sequence[CueAnalysis]) -> np.ndarray:
    if not analyses:
        return np.zeros((0, len(DENSE_NAMES)), dtype=np.float32)
    return np.vstack([a.dense for a in analyses])
