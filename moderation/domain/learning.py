"""Learning a site's own standard: retraining settings, the held-back slice and the promotion guard.

Pure rules; `workers/retrain.py` gathers the figures and applies them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from moderation.domain.enums import Outcome
from moderation.domain.errors import PolicyError

HELD_BACK_SHARE = 0.2  # the most recent fifth of a site's labels: standards drift, so test on the newest
MIN_LABELS = 50  # fewer and neither a model nor its evaluation on the slice means anything
MIN_PER_CLASS = 10
MIN_SLICE_AUC = 0.6  # a model no better than this on the site's newest decisions is not worth running
TOLERANCE = 0.01  # "holds": the site's slice may drop by at most this (ROC AUC)
# The public validation sets measure `site_reject` against what the public corpora call offensive. A site
# model leans less on that as its own labels grow (GerMS-AT as a site: 0.806 with 800 labels, 0.721 with
# 5,827, while its own held-back slice improved), so a strict "no drop" rule there would refuse every
# healthy retrain. They guard against the harm they can see: a model that no longer tells offensive from
# civil at all, or turns it round (corrupted or inverted labels), is refused at or below chance. (A floor
# of 0.55 refused a healthy small site on GermEval 2021 with the small test model: 0.543.)
PUBLIC_FLOOR = 0.5


@dataclass(frozen=True)
class LearningSettings:
    """When a site's model is retrained: every `every_hours` (0: never on a timer) and once
    `after_labels` new labels have come in since the last training (0: never on a count)."""

    every_hours: int = 24
    after_labels: int = 500
    shadow: bool = False  # run a refused or kept candidate in shadow instead of discarding it

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None) -> LearningSettings:
        raw = raw or {}
        values = {}
        for name in ("every_hours", "after_labels"):
            value = raw.get(name, getattr(cls, name))
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise PolicyError(f"{name} must be a whole number >= 0")
            values[name] = value
        return cls(
            every_hours=values["every_hours"],
            after_labels=values["after_labels"],
            shadow=bool(raw.get("shadow", False)),
        )

    def to_dict(self) -> dict[str, Any]:
        return {"every_hours": self.every_hours, "after_labels": self.after_labels, "shadow": self.shadow}


def split_point(count: int) -> int:
    """How many of `count` time-ordered labels train the candidate; the rest is the held-back slice."""
    return count - max(1, round(count * HELD_BACK_SHARE))


@dataclass(frozen=True)
class Figures:
    """ROC AUC figures of one model: on the site's held-back slice (with the lower end of its one-sided
    95 % confidence interval, `slice_low`), and on fixed public validation sets."""

    slice_auc: float | None
    public: Mapping[str, float] = field(default_factory=dict)
    slice_low: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "slice_auc": _round(self.slice_auc),
            "slice_low": _round(self.slice_low),
            "public": {k: _round(v) for k, v in self.public.items()},
        }


def auc_lower_bound(auc: float, positives: int, negatives: int) -> float:
    """The lower end of a one-sided 95 % interval for a ROC AUC (Hanley & McNeil's standard error): a
    small held-back slice measures noisily, and a model must be better than chance beyond that noise."""
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    variance = (
        auc * (1 - auc) + (positives - 1) * (q1 - auc * auc) + (negatives - 1) * (q2 - auc * auc)
    ) / max(1, positives * negatives)
    return auc - 1.645 * math.sqrt(max(variance, 0.0))


@dataclass(frozen=True)
class GuardReason:
    """Why the guard decided as it did: a code and its figures (the dashboard words them in German or
    English); `detail` is the English sentence for the CLI and logs."""

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def detail(self) -> str:
        p = self.params
        sentences = {
            "slice_one_kind": lambda: "the held-back slice has only one kind of decision",
            "below_floor": lambda: f"slice AUC {p['auc']:.3f} is below the floor of {p['floor']:.2f}",
            "not_above_chance": lambda: (
                f"slice AUC {p['auc']:.3f} is not above chance on {p['slice']} held-back labels "
                f"(95 % lower bound {p['low']:.3f})"
            ),
            "first_beats_generic": lambda: (
                f"first site model: slice AUC {p['auc']:.3f} beats generic toxicity {p['generic']:.3f}"
            ),
            "not_beats_generic": lambda: (
                f"slice AUC {p['auc']:.3f} does not beat generic toxicity {p['generic']:.3f}"
            ),
            "slice_holds": lambda: f"slice AUC {p['auc']:.3f} vs active {p['active']:.3f}",
            "public_below_floor": lambda: (
                f"{p['name']} AUC {p['auc']:.3f} is below the floor of {p['floor']:.2f}: the model no "
                "longer tells what the public corpora call offensive from civil"
            ),
            "public_drifted": lambda: (
                f"note: {p['name']} AUC {p['auc']:.3f} < active {p['active']:.3f} (above the floor "
                f"of {p['floor']:.2f}; the site's own standard weighs more)"
            ),
            "auc_dropped": lambda: (
                f"{p['name']} AUC {p['auc']:.3f} < active {p['active']:.3f} - {p['tolerance']}"
            ),
            "too_few_labels": lambda: (
                f"{p['labels']} labels ({p['rejected']} rejected): at least {p['min_labels']}, "
                f"with {p['per_class']} of each kind, are needed"
            ),
        }
        return sentences[self.code]() if self.code in sentences else self.code

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "params": dict(self.params), "detail": self.detail}


def too_few_labels(labels: int, rejected: int) -> GuardReason:
    return GuardReason(
        "too_few_labels",
        {"labels": labels, "rejected": rejected, "min_labels": MIN_LABELS, "per_class": MIN_PER_CLASS},
    )


def enough_labels(labels: int, rejected: int) -> bool:
    return labels >= MIN_LABELS and min(rejected, labels - rejected) >= MIN_PER_CLASS


@dataclass(frozen=True)
class GuardVerdict:
    outcome: Outcome
    reasons: tuple[GuardReason, ...]


def judge(
    candidate: Figures, active: Figures | None, generic_slice_auc: float | None, slice_size: int = 0
) -> GuardVerdict:
    """The promotion guard.

    - The candidate must be worth running at all: slice AUC at least `MIN_SLICE_AUC`, better than
      chance beyond the slice's noise (the lower end of its 95 % interval above 0.5), and on every public
      validation set above `PUBLIC_FLOOR` (chance); else refused.
    - A site's first candidate is promoted when it beats the generic toxicity score on the slice.
    - Later candidates are promoted when the slice AUC improves or holds (drops by at most `TOLERANCE`);
      a drop on the slice keeps the active model. A public figure that fell by more than `TOLERANCE` but
      stays above the floor is recorded beside the verdict (`public_drifted`), not held against it.
    """
    if candidate.slice_auc is None:
        return GuardVerdict(Outcome.REFUSED, (GuardReason("slice_one_kind"),))
    auc = round(candidate.slice_auc, 4)
    if candidate.slice_auc < MIN_SLICE_AUC:
        return GuardVerdict(
            Outcome.REFUSED, (GuardReason("below_floor", {"auc": auc, "floor": MIN_SLICE_AUC}),)
        )
    if candidate.slice_low is not None and candidate.slice_low <= 0.5:
        low = round(candidate.slice_low, 4)
        return GuardVerdict(
            Outcome.REFUSED,
            (GuardReason("not_above_chance", {"auc": auc, "slice": slice_size, "low": low}),),
        )
    blind = tuple(
        GuardReason("public_below_floor", {"name": name, "auc": round(value, 4), "floor": PUBLIC_FLOOR})
        for name, value in sorted(candidate.public.items())
        if value <= PUBLIC_FLOOR
    )
    if blind:
        return GuardVerdict(Outcome.REFUSED, blind)
    if active is None or active.slice_auc is None:
        baseline = round(generic_slice_auc if generic_slice_auc is not None else 0.5, 4)
        if candidate.slice_auc > baseline:
            return GuardVerdict(
                Outcome.PROMOTED, (GuardReason("first_beats_generic", {"auc": auc, "generic": baseline}),)
            )
        return GuardVerdict(
            Outcome.REFUSED, (GuardReason("not_beats_generic", {"auc": auc, "generic": baseline}),)
        )
    drifted = tuple(
        GuardReason(
            "public_drifted",
            {
                "name": name,
                "auc": round(candidate.public[name], 4),
                "active": round(value, 4),
                "floor": PUBLIC_FLOOR,
            },
        )
        for name, value in sorted(active.public.items())
        if name in candidate.public and candidate.public[name] < value - TOLERANCE
    )
    was = round(active.slice_auc, 4)
    if candidate.slice_auc < active.slice_auc - TOLERANCE:
        return GuardVerdict(
            Outcome.KEPT,
            (
                GuardReason(
                    "auc_dropped", {"name": "slice", "auc": auc, "active": was, "tolerance": TOLERANCE}
                ),
                *drifted,
            ),
        )
    return GuardVerdict(Outcome.PROMOTED, (GuardReason("slice_holds", {"auc": auc, "active": was}), *drifted))


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
