"""Cross-validation splits that keep related rows together, and leave-one-corpus-out transfer figures.

Shuffled folds over-estimated GermEval 2018 test quality by about 4 points. Two things make the figures
more honest (see docs/models.md):

- Grouped folds. A GermEval 2018/2019 tweet that replies to an account (leading @mention) is grouped
  with the other replies to that account: same thread and topic. GermEval 2019 and GermEval 2021 rows
  are stored in collection order (CV on contiguous blocks scores lower than on shuffled rows), so they
  are grouped in blocks of consecutive rows. Everything else is its own group.
- Transfer figures: each German comment corpus scored by a model trained without it. These track the
  held-out test figures (a new sample, other users, later time) much better than in-corpus CV does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from classifiers.corpora import Example

BLOCK_ROWS = 100
ORDERED_SOURCES = ("germeval2019", "germeval2021")
REPLY_SOURCES = ("germeval2018", "germeval2019")
TRANSFER_SOURCES = ("germeval2018", "germeval2021")
_LEADING_MENTION = re.compile(r"\s*@(\w+)")


def cv_groups(examples: Sequence[Example]) -> list[str]:
    """A group key per example: rows sharing a key always land in the same fold."""
    position: dict[str, int] = {}
    keys = []
    for i, e in enumerate(examples):
        k = position[e.source] = position.get(e.source, -1) + 1
        mention = _LEADING_MENTION.match(e.text) if e.source in REPLY_SOURCES else None
        if e.source in ORDERED_SOURCES:
            keys.append(f"{e.source}:block{k // BLOCK_ROWS}")
        elif mention is not None:
            keys.append(f"{e.source}:@{mention.group(1).casefold()}")
        else:
            keys.append(f"{e.source}:row{i}")
    return keys


def group_folds(
    groups: Sequence[str], y: np.ndarray, folds: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) index pairs with whole groups in random folds.

    Falls back to plain random folds when a training part would lack a class (a head with very few
    positives that share a group).
    """
    rng = np.random.default_rng(seed)
    names, inverse = np.unique(np.asarray(groups), return_inverse=True)
    group_fold = rng.permutation(len(names)) % folds
    fold = group_fold[inverse]
    if any(len(set(y[fold != f])) < 2 for f in range(folds)):
        fold = rng.permutation(len(y)) % folds
    return [(np.flatnonzero(fold != f), np.flatnonzero(fold == f)) for f in range(folds)]


def transfer_splits(sources: Sequence[str]) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(corpus, train, test) for each corpus in `TRANSFER_SOURCES` present in `sources`."""
    src = np.asarray(sources)
    return [
        (name, np.flatnonzero(src != name), np.flatnonzero(src == name))
        for name in TRANSFER_SOURCES
        if (src == name).any()
    ]


GUARD_SET_SIZE = 600


def guard_sets(size: int = GUARD_SET_SIZE, seed: int = 0) -> dict[str, tuple[list[str], np.ndarray]]:
    """Fixed validation sets carved from public training data (never a test split), on which a site
    model's `site_reject` is tracked: a candidate must not lose what the active model knew about
    plainly offensive comments. Each is a stratified sample, the same on every call."""
    from classifiers.corpora import load_germeval2018, load_germeval2021

    out: dict[str, tuple[list[str], np.ndarray]] = {}
    for name, loader in (
        ("germeval2018_offense", load_germeval2018),
        ("germeval2021_toxic", load_germeval2021),
    ):
        examples = [e for e in loader() if "toxicity" in e.labels]
        rng = np.random.default_rng(seed)
        y = np.array([int(e.labels["toxicity"] >= 0.5) for e in examples])
        picked: list[int] = []
        for value in (0, 1):
            members = np.flatnonzero(y == value)
            share = round(size * len(members) / len(y))
            picked.extend(rng.choice(members, size=min(share, len(members)), replace=False).tolist())
        picked.sort()
        out[name] = ([examples[i].text for i in picked], y[picked])
    return out
