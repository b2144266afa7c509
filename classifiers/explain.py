"""Spans: which characters of the original text pushed an attribute up, and by how much.

A linear head's logit is a sum over features of weight x value. Each feature occurrence is credited to
the word it came from (a bigram to both of its words, half each; a feature occurring several times
shares its value equally), so the word contributions add up to the text's logit minus intercept and
non-lexical dense features. Word ranges are in the normalised text and are mapped back to the original.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from classifiers.features import CueAnalysis, token_ngrams
from classifiers.normalize import Normalised

MIN_CONTRIBUTION = 0.35
MAX_SPANS_PER_ATTRIBUTE = 6
_TOKEN = re.compile(r"\w+")
_EMPTY = np.zeros(0, dtype=np.int64)


@dataclass(frozen=True)
class RawSpan:
    start: int
    end: int
    attribute: str
    weight: float


class Explainer:
    """Computes per-word contributions for a fixed set of heads; caches each word's feature indices."""

    def __init__(
        self,
        vocabulary: dict[str, int],
        coef: np.ndarray,
        lexicon_columns: dict[int, frozenset[str]],
    ) -> None:
        self.vocabulary = vocabulary
        self.coef = coef
        self.lexicon_columns = lexicon_columns
        self._features: dict[str, np.ndarray] = {}

    def _token_features(self, token: str) -> np.ndarray:
        found = self._features.get(token)
        if found is None:
            vocab = self.vocabulary
            keys = ("w:" + token, *token_ngrams(token))
            found = np.array([vocab[k] for k in keys if k in vocab], dtype=np.int64)
            if len(self._features) < 500_000:
                self._features[token] = found
        return found

    def contributions(self, norm: Normalised, row: sp.csr_matrix) -> tuple[list[tuple[int, int]], np.ndarray]:
        """Word ranges of the normalised text and their (n_words, n_heads) logit contributions."""
        matches = list(_TOKEN.finditer(norm.text))
        ranges = [m.span() for m in matches]
        tokens = [m.group(0) for m in matches]
        out = np.zeros((len(tokens), self.coef.shape[1]))
        if not tokens:
            return ranges, out
        indices, data = row.indices, row.data
        per_token = [self._token_features(t) for t in tokens]
        owner = np.repeat(np.arange(len(tokens)), [len(f) for f in per_token])
        feats = np.concatenate(per_token) if per_token else _EMPTY
        pairs: list[tuple[int, int]] = []
        for i in range(len(tokens) - 1):
            j = self.vocabulary.get(f"b:{tokens[i]}_{tokens[i + 1]}")
            if j is not None:
                pairs.append((i, j))
        if pairs:
            bigram_feats = np.array([j for _, j in pairs], dtype=np.int64)
            all_feats = np.concatenate([feats, bigram_feats])
        else:
            all_feats = feats
        if len(all_feats):
            unique, inverse, counts = np.unique(all_feats, return_inverse=True, return_counts=True)
            pos = np.searchsorted(indices, unique)
            pos = np.minimum(pos, len(indices) - 1)
            values = np.where(indices[pos] == unique, data[pos], 0.0) / counts
            shares = self.coef[all_feats] * values[inverse][:, None]
            n_single = len(feats)
            np.add.at(out, owner, shares[:n_single])
            for k, (i, _) in enumerate(pairs):
                half = shares[n_single + k] / 2
                out[i] += half
                out[i + 1] += half
        self._add_lexicon(tokens, indices, data, out)
        return ranges, out

    def _add_lexicon(self, tokens: list[str], indices: np.ndarray, data: np.ndarray, out: np.ndarray) -> None:
        for column, lexicon in self.lexicon_columns.items():
            listed = [i for i, t in enumerate(tokens) if t in lexicon]
            if not listed:
                continue
            pos = int(np.searchsorted(indices, column))
            if pos < len(indices) and indices[pos] == column:
                share = self.coef[column] * (data[pos] / len(listed))
                for i in listed:
                    out[i] += share


def model_spans(
    norm: Normalised,
    ranges: list[tuple[int, int]],
    contributions: np.ndarray,
    attributes: list[str],
) -> list[RawSpan]:
    """The strongest positive words per attribute; an empty attribute name skips that head."""
    spans: list[RawSpan] = []
    for h, attribute in enumerate(attributes):
        if not attribute or not len(ranges):
            continue
        column = contributions[:, h]
        chosen = np.flatnonzero(column >= MIN_CONTRIBUTION)
        chosen = chosen[np.argsort(-column[chosen])][:MAX_SPANS_PER_ATTRIBUTE]
        for i in chosen:
            start, end = norm.to_original(*ranges[i])
            spans.append(RawSpan(start, end, attribute, float(column[i])))
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
