"""Platt calibration of a head's decision values, optionally with a text-style term.

Toxicity is calibrated on leave-one-corpus-out decision values (each corpus scored by a model trained
without it), because new comment sections behave like an unseen corpus: the ranking is weaker there than
in-corpus CV suggests, so probabilities must be less extreme. Tweets (GermEval 2018/2019) and reader
comments (GermEval 2021) differ in how sharp the ranking is and in base rate, so the map has a second
slope and intercept for text that looks like a tweet (a handle, a hashtag or GermEval's line-break
marker). Reader comments get the plain map. See docs/models.md for the figures behind this choice.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

# "@USER" is how GermEval 2021 (and many comment exports) anonymise mentions; a real handle marks a tweet.
_TWEET_MARK = re.compile(r"@(?!USER\b)\w|#\w|\|LBR\|")


def tweet_style(texts: Sequence[str]) -> np.ndarray:
    """1.0 for each original text that carries a tweet mark, else 0.0."""
    search = _TWEET_MARK.search
    return np.fromiter((search(t) is not None for t in texts), dtype=np.float64, count=len(texts))


@dataclass(frozen=True)
class Calibration:
    """p = sigmoid(a * x + b + style * (style_a * x + style_b))."""

    a: float
    b: float
    style_a: float = 0.0
    style_b: float = 0.0

    def apply(self, scores: np.ndarray, style: np.ndarray | None = None) -> np.ndarray:
        z = self.a * scores + self.b
        if style is not None:
            z = z + style * (self.style_a * scores + self.style_b)
        return np.asarray(expit(z))


def fit_platt(
    scores: np.ndarray, y: np.ndarray, w: np.ndarray, style: np.ndarray | None = None
) -> Calibration:
    """Weighted Platt scaling; with `style`, the tweet-style rows get their own slope and intercept."""
    features = scores.reshape(-1, 1) if style is None else np.column_stack([scores, style, scores * style])
    model = LogisticRegression(C=1e4)
    model.fit(features, y, sample_weight=w)
    coef = [float(c) for c in model.coef_[0]]
    b = float(model.intercept_[0])
    if style is None:
        return Calibration(coef[0], b)
    return Calibration(coef[0], b, style_a=coef[2], style_b=coef[1])
