"""Fast TF-IDF encoding for scoring: the fitted vocabulary looked up word by word, not n-gram by n-gram.

Produces the same matrix as the fitted `TfidfVectorizer(analyzer=features.analyze, norm="l2")`, but
caches each word's feature indices (word frequencies are Zipfian, so almost every word of a comment was
seen before) and counts with numpy over the whole batch. It also keeps every feature occurrence with
the word it came from, which is what the span explanation needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import cast

import numpy as np
import scipy.sparse as sp

from classifiers.features import TOKEN_SCHEMES, TOKENS, token_ngrams

_CACHE_LIMIT = 500_000
_EMPTY = np.zeros(0, dtype=np.int64)


@dataclass(frozen=True)
class Encoded:
    """A batch's TF-IDF matrix plus its feature occurrences.

    Occurrence k is feature `occ_feature[k]` credited to word `occ_word[k]` (a global word index; word
    `w` belongs to document `word_doc[w]`) with share `occ_share[k]`: 1 for a word's own features, 1/2 to
    each word of a bigram. `occ_value[k]` is the feature's TF-IDF value divided by how often it occurs in
    that document, so the word contributions of a linear head add up to the head's lexical logit.
    """

    matrix: sp.csr_matrix
    tokens: list[list[str]]
    word_doc: np.ndarray
    word_start: np.ndarray  # first global word index of each document
    occ_feature: np.ndarray
    occ_word: np.ndarray
    occ_share: np.ndarray
    occ_value: np.ndarray
    n_own: int  # the first n_own occurrences are words' own features, then each bigram twice (both halves)


class Vectorizer:
    """Encodes normalised texts with a fitted vocabulary and idf (see module docstring)."""

    def __init__(
        self, vocabulary: dict[str, int], idf: np.ndarray, sublinear_tf: bool, tokens: str = TOKENS
    ) -> None:
        self.vocabulary = vocabulary
        self.token_pattern = TOKEN_SCHEMES[tokens]
        self.idf = np.asarray(idf, dtype=np.float64)
        self.sublinear_tf = sublinear_tf
        self._words: dict[str, np.ndarray] = {}

    @property
    def n_features(self) -> int:
        return len(self.idf)

    def word_features(self, word: str) -> np.ndarray:
        found = self._words.get(word)
        if found is None:
            vocab = self.vocabulary
            keys = ("w:" + word, *token_ngrams(word))
            found = np.array([vocab[k] for k in keys if k in vocab], dtype=np.int64)
            # A bounded cache: a flood of random strings must not grow a worker's memory without limit.
            if len(self._words) < _CACHE_LIMIT:
                self._words[word] = found
        return found

    def encode(self, texts: Sequence[str]) -> Encoded:
        vocab = self.vocabulary
        findall = self.token_pattern.findall
        tokens = [findall(text) for text in texts]
        counts = np.array([len(t) for t in tokens], dtype=np.int64)
        word_start = np.concatenate([[0], np.cumsum(counts)[:-1]]) if len(counts) else _EMPTY
        cache = self._words
        # All words of the batch in one flat list: one pass of dict lookups, misses filled in after.
        flat = [w for words in tokens for w in words]
        n_words = len(flat)
        found = list(map(cache.get, flat))
        for k, f in enumerate(found):
            if f is None:
                found[k] = self.word_features(flat[k])
        per_word = cast(list[np.ndarray], found)  # every miss is filled in now
        # Bigrams: word k with word k + 1, except across documents (the last word of each has none).
        keys = [f"b:{a}_{b}" for a, b in zip(flat, flat[1:], strict=False)]
        ids = np.fromiter(map(vocab.get, keys, repeat(-1)), dtype=np.int64, count=len(keys))
        if len(ids):
            ids[(word_start + counts - 1)[counts > 0][:-1]] = -1
        has_bigram = ids >= 0
        bigrams = ids[has_bigram]
        first = np.flatnonzero(has_bigram)
        word_doc = np.repeat(np.arange(len(texts)), counts)
        lengths = np.array(list(map(len, per_word)), dtype=np.int64)
        own_feature = np.concatenate(per_word) if per_word else _EMPTY
        own_word = np.repeat(np.arange(n_words), lengths)
        # Each feature occurrence counts once for the matrix; a bigram's two halves only for spans.
        feature = np.concatenate([own_feature, bigrams])
        doc = word_doc[np.concatenate([own_word, first])] if n_words else _EMPTY
        matrix, value = self._tfidf(doc, feature, len(texts))
        half = value[len(own_feature) :]
        return Encoded(
            matrix=matrix,
            tokens=tokens,
            word_doc=word_doc,
            word_start=word_start,
            occ_feature=np.concatenate([own_feature, bigrams, bigrams]),
            occ_word=np.concatenate([own_word, first, first + 1]),
            occ_share=np.concatenate([np.ones(len(own_feature)), np.full(2 * len(bigrams), 0.5)]),
            occ_value=np.concatenate([value[: len(own_feature)], half, half]),
            n_own=len(own_feature),
        )

    def regroup(self, encoded: Encoded, group: np.ndarray, n_groups: int) -> sp.csr_matrix:
        """The TF-IDF matrix of groups of an encoding's words (word w, a global word index, belongs to
        group `group[w]`, or to none if -1), as encoding each group's words as one text gives it: a bigram
        counts only inside a group. Reads a comment's sentences from the comment's own encoding."""
        n_own = encoded.n_own
        n_bigrams = (len(encoded.occ_feature) - n_own) // 2
        first = encoded.occ_word[n_own : n_own + n_bigrams]
        first_group = group[first]
        bigram_group = np.where(first_group == group[first + 1], first_group, -1)
        doc = np.concatenate([group[encoded.occ_word[:n_own]], bigram_group])
        feature = encoded.occ_feature[: n_own + n_bigrams]
        kept = doc >= 0
        # No per-occurrence values are needed here, so scipy sums the counts (sorting each row's few
        # entries, not the whole batch's keys as `_tfidf` does).
        matrix = sp.csr_matrix(
            (np.ones(int(kept.sum())), (doc[kept], feature[kept])), shape=(n_groups, self.n_features)
        )
        matrix.sum_duplicates()
        if self.sublinear_tf:
            np.log(matrix.data, out=matrix.data)
            matrix.data += 1.0
        matrix.data *= self.idf[matrix.indices]
        rows = np.repeat(np.arange(n_groups), np.diff(matrix.indptr))
        norms = np.sqrt(np.bincount(rows, weights=matrix.data * matrix.data, minlength=n_groups))
        matrix.data /= np.where(norms > 0, norms, 1.0)[rows]
        return matrix.astype(np.float32)

    def _tfidf(self, doc: np.ndarray, feature: np.ndarray, n_docs: int) -> tuple[sp.csr_matrix, np.ndarray]:
        """The l2-normalised TF-IDF matrix and, per occurrence, its entry divided by its count."""
        n_features = self.n_features
        key = doc * n_features + feature
        unique, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
        rows = unique // n_features
        cols = unique % n_features
        tf = counts.astype(np.float64)
        if self.sublinear_tf:
            tf = np.log(tf) + 1.0
        data = tf * self.idf[cols]
        norms = np.sqrt(np.bincount(rows, weights=data * data, minlength=n_docs))
        data /= np.where(norms > 0, norms, 1.0)[rows]
        indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n_docs))])
        matrix = sp.csr_matrix(
            (data.astype(np.float32), cols.astype(np.int32), indptr), shape=(n_docs, n_features)
        )
        return matrix, data[inverse] / counts[inverse]
