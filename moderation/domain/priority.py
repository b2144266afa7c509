"""How urgently a held comment needs a moderator: the held queue's sort key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from moderation.domain.attributes import NAMES
from moderation.domain.policy import SitePolicy, Thresholds

UNSCORED_PRIORITY = 1.0


def risk(scores: Mapping[str, float | None]) -> float:
    """The highest harm score of a comment (kept as a column so the queue can sort by it)."""
    return max((float(scores.get(name) or 0.0) for name in NAMES), default=0.0)


def review_priority(scores: Mapping[str, float | None], thresholds: Thresholds) -> float:
    """How urgently a held comment needs a moderator, in [0, 1]; the held queue shows the highest first.

    Per attribute the score counts as it is, except above the site's reject threshold, where it is mirrored
    (`2 * reject - score`): there the policy is already sure, so the further past the threshold, the less a
    human adds. The maximum over attributes wins, so the peak sits at the hold/reject boundary, where the
    model is least sure and a wrong call does the most harm. Attributes without a reject threshold count as
    scored: the policy can never reject them, so a high score always needs a human.
    A comment without scores keeps `UNSCORED_PRIORITY` (nothing has looked at it yet).
    """
    need = 0.0
    for attribute in NAMES:
        value = float(scores.get(attribute) or 0.0)
        reject = (thresholds.get(attribute) or {}).get("reject")
        if reject is not None and value > reject:
            value = max(0.0, 2 * reject - value)
        need = max(need, value)
    return round(need, 4)


def thresholds_of(raw_policy: Mapping[str, Any] | None) -> Thresholds:
    """A site's thresholds from its stored policy; a policy that no longer parses falls back to defaults."""
    try:
        return SitePolicy.from_dict(raw_policy).thresholds
    except ValueError:
        return SitePolicy().thresholds
