"""Spans: which characters of the original text pushed an attribute up, and by how much.

A linear head's logit is a sum over features of weight x value. Each feature occurrence is credited to
the word it came from (a bigram to both of its words, half each; a feature occurring several times
shares its value equally), so the word contributions add up to the text's logit minus intercept and
non-lexical dense features. Word ranges are in the normalised text and are mapped back to the original.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from classifiers.features import CueAnalysis
from classifiers.normalize import Normalised
from classifiers.vectorize import Encoded

MIN_CONTRIBUTION = 0.35
MAX_SPANS_PER_ATTRIBUTE = 6


@dataclass(frozen=True)
class RawSpan:
    start: int
    end: int
    attribute: str
    weight: float


class Explainer:
    """Per-word contributions of a fixed set of heads, for a batch encoded by `vectorize.Vectorizer`."""

    def __init__(self, coef: np.ndarray, lexicon_columns: dict[int, tuple[int, frozenset[str]]]) -> None:
        self.coef = coef
        # Column of a dense lexicon feature ("insult_words", ...) -> (its index among the dense features,
        # the lexicon); the feature's value is shared by the words of the text that are in the lexicon.
        self.lexicon_columns = lexicon_columns

    def contributions(
        self, encoded: Encoded, dense: np.ndarray, docs: Sequence[int]
    ) -> dict[int, np.ndarray]:
        """For each document in `docs`, its (n_words, n_heads) logit contributions."""
        if not len(docs):
            return {}
        flagged = np.zeros(len(encoded.tokens), dtype=bool)
        flagged[list(docs)] = True
        n_words = len(encoded.word_doc)
        mask = flagged[encoded.word_doc[encoded.occ_word]] if n_words else np.zeros(0, bool)
        words = encoded.occ_word[mask]
        weights = encoded.occ_value[mask] * encoded.occ_share[mask]
        shares = self.coef[encoded.occ_feature[mask]] * weights[:, None]
        out = np.zeros((n_words, self.coef.shape[1]))
        for h in range(self.coef.shape[1]):
            out[:, h] = np.bincount(words, weights=shares[:, h], minlength=n_words)
        result = {}
        for d in docs:
            start = int(encoded.word_start[d])
            tokens = encoded.tokens[d]
            block = out[start : start + len(tokens)]
            self._add_lexicon(tokens, dense[d], block)
            result[d] = block
        return result

    def _add_lexicon(self, tokens: list[str], dense_row: np.ndarray, out: np.ndarray) -> None:
        for column, (dense_index, lexicon) in self.lexicon_columns.items():
            value = dense_row[dense_index]
            if not value:  # most texts use no lexicon word at all
                continue
            listed = [i for i, t in enumerate(tokens) if t in lexicon]
            if listed:
                share = self.coef[column] * (value / len(listed))
                for i in listed:
                    out[i] += share


def word_ranges(norm: Normalised, pattern: re.Pattern[str]) -> list[tuple[int, int]]:
    """The ranges of the normalised text's tokens, in the order the vectoriser saw them."""
    return [m.span() for m in pattern.finditer(norm.text)]


def model_spans(
    norm: Normalised, contributions: np.ndarray, attributes: list[str], pattern: re.Pattern[str]
) -> list[RawSpan]:
    """The strongest positive words per attribute; an empty attribute name skips that head."""
    words, heads = np.nonzero(contributions >= MIN_CONTRIBUTION)
    by_head: dict[int, list[tuple[float, int]]] = {}
    for w, h in zip(words.tolist(), heads.tolist(), strict=True):
        if attributes[h]:
            by_head.setdefault(h, []).append((float(contributions[w, h]), w))
    if not by_head:
        return []
    # Word ranges only when some word qualifies: most texts have no span-worthy word.
    ranges = word_ranges(norm, pattern)
    spans: list[RawSpan] = []
    for h, candidates in by_head.items():
        candidates.sort(reverse=True)
        for value, w in candidates[:MAX_SPANS_PER_ATTRIBUTE]:
            start, end = norm.to_original(*ranges[w])
            spans.append(RawSpan(start, end, attributes[h], value))
    return spans


def cue_spans(norm: Normalised, cues: CueAnalysis, narrative_floor: float) -> list[RawSpan]:
    """Spans for catalogue narrative cues (damped when the text debunks) and threat cues."""
    spans: list[RawSpan] = []
    damp = 1.0 - cues.debunk
    for hit in cues.narrative_hits:
        weight = hit.weight * damp
        if weight >= narrative_floor:
            start, end = norm.to_original(hit.start, hit.end)
            spans.append(RawSpan(start, end, f"narrative:{hit.label}", weight))
    for hit in cues.threat_hits:
        start, end = norm.to_original(hit.start, hit.end)
        spans.append(RawSpan(start, end, "threat", hit.weight))
    return spans
