"""Turns scores and a comment's text into approve / hold / reject, with a reason for each decision.

`decide` is a pure function: no I/O, no clock, no randomness. Every branch that influences the outcome
adds a `Reason`, and the strongest action among them wins (reject > hold > approve).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from moderation.models import Action, Source

SUPPORTED_LANGUAGES = ("de", "en", "ru")
# "und": no words to tell the language by (emoji, numbers, a name); scored like any supported language.
UNDETERMINED_LANGUAGE = "und"
SCORED_ATTRIBUTES = ("toxicity", "propaganda", "spam", "insult", "profanity", "threat", "identity_attack")
_ACTION_RANK = {Action.APPROVE: 0, Action.HOLD: 1, Action.REJECT: 2}
_URL = re.compile(r"(?i)\b(?:https?://|www\.)\S+|\b[a-z0-9-]+\.(?:com|de|ru|net|org|info|io|biz|xyz)\b")

# Defaults, chosen on the out-of-fold threshold tables of the default model's card (comment-domain
# training rows, never test data); the figures and the reasoning are in docs/policy.md. `None` switches
# a band off: nothing is rejected automatically unless validation precision there is about 0.9 or more.
DEFAULT_THRESHOLDS: dict[str, dict[str, float | None]] = {
    "toxicity": {"hold": 0.4, "reject": 0.9},
    "propaganda": {"hold": 0.4, "reject": None},
    "spam": {"hold": 0.5, "reject": None},
    "threat": {"hold": 0.5, "reject": None},
    "identity_attack": {"hold": 0.5, "reject": None},
}


@dataclass(frozen=True)
class Reason:
    code: str
    detail: str
    action: Action

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "detail": self.detail}


@dataclass(frozen=True)
class Verdict:
    action: Action
    source: Source
    reasons: tuple[Reason, ...]

    def reasons_dicts(self) -> list[dict[str, str]]:
        return [r.to_dict() for r in self.reasons]


@dataclass(frozen=True)
class SitePolicy:
    thresholds: Mapping[str, Mapping[str, float | None]] = field(default_factory=lambda: DEFAULT_THRESHOLDS)
    banned_words: tuple[str, ...] = ()
    suspect_words: tuple[str, ...] = ()
    hold_links_from_new_authors: bool = True
    # Hold a comment whose text this many other authors posted recently (0: off).
    hold_copies_from_authors: int = 2
    fallback_action: Action = Action.HOLD

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None) -> SitePolicy:
        """Builds a policy from a site's stored JSON; missing keys keep their defaults."""
        raw = raw or {}
        thresholds = {k: dict(v) for k, v in DEFAULT_THRESHOLDS.items()}
        for attribute, bands in (raw.get("thresholds") or {}).items():
            if attribute not in SCORED_ATTRIBUTES:
                raise ValueError(f"unknown attribute in thresholds: {attribute}")
            merged = thresholds.setdefault(attribute, {"hold": None, "reject": None})
            for band, value in bands.items():
                if band not in ("hold", "reject"):
                    raise ValueError(f"unknown threshold band {band!r} for {attribute}")
                if value is not None and not 0.0 <= float(value) <= 1.0:
                    raise ValueError(f"threshold {attribute}.{band} must be within [0, 1]")
                merged[band] = None if value is None else float(value)
        return cls(
            thresholds=thresholds,
            banned_words=tuple(raw.get("banned_words") or ()),
            suspect_words=tuple(raw.get("suspect_words") or ()),
            hold_links_from_new_authors=bool(raw.get("hold_links_from_new_authors", True)),
            hold_copies_from_authors=_count(raw.get("hold_copies_from_authors", 2)),
            fallback_action=Action(raw.get("fallback_action", Action.HOLD.value)),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "thresholds": {k: dict(v) for k, v in self.thresholds.items()},
            "banned_words": list(self.banned_words),
            "suspect_words": list(self.suspect_words),
            "hold_links_from_new_authors": self.hold_links_from_new_authors,
            "hold_copies_from_authors": self.hold_copies_from_authors,
            "fallback_action": self.fallback_action.value,
        }


@dataclass(frozen=True)
class CommentFacts:
    """What the policy may know about a comment besides its scores."""

    text: str
    author_has_history: bool = False
    lang: str | None = None
    # Recent comments with (nearly) the same text by other authors, and how many authors wrote them.
    copies: int = 0
    copy_authors: int = 0


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("hold_copies_from_authors must be a whole number >= 0")
    return value


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def find_word(words: tuple[str, ...], text: str) -> str | None:
    """Returns the first listed word or phrase that occurs in `text` as a whole word, ignoring case."""
    folded = _fold(text)
    for word in words:
        needle = _fold(word).strip()
        if needle and re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", folded):
            return word
    return None


def _score_reasons(scores: Mapping[str, float], policy: SitePolicy) -> list[Reason]:
    reasons = []
    for attribute, bands in policy.thresholds.items():
        value = scores.get(attribute)
        if value is None:
            continue
        reject, hold = bands.get("reject"), bands.get("hold")
        if reject is not None and value >= reject:
            reasons.append(
                Reason(
                    f"{attribute}_reject",
                    f"{attribute} {value:.2f} >= reject threshold {reject:.2f}",
                    Action.REJECT,
                )
            )
        elif hold is not None and value >= hold:
            reasons.append(
                Reason(
                    f"{attribute}_hold", f"{attribute} {value:.2f} >= hold threshold {hold:.2f}", Action.HOLD
                )
            )
    return reasons


def _below_thresholds(scores: Mapping[str, float], policy: SitePolicy) -> Reason:
    parts = []
    for attribute in ("toxicity", "propaganda", "spam"):
        hold = policy.thresholds.get(attribute, {}).get("hold")
        if attribute in scores and hold is not None:
            parts.append(f"{attribute} {scores[attribute]:.2f} < {hold:.2f}")
    return Reason("below_thresholds", "all scores below hold thresholds: " + ", ".join(parts), Action.APPROVE)


def decide(scores: Mapping[str, float] | None, facts: CommentFacts, policy: SitePolicy) -> Verdict:
    """Decides a comment. `scores` is None when scoring failed; then the fallback applies."""
    rule_reasons: list[Reason] = []
    banned = find_word(policy.banned_words, facts.text)
    if banned is not None:
        rule_reasons.append(Reason("banned_word", f"matched banned word '{banned}'", Action.REJECT))
    suspect = find_word(policy.suspect_words, facts.text)
    if suspect is not None:
        rule_reasons.append(Reason("suspect_word", f"matched suspect word '{suspect}'", Action.HOLD))
    if policy.hold_links_from_new_authors and not facts.author_has_history:
        link = _URL.search(facts.text)
        if link is not None:
            rule_reasons.append(
                Reason(
                    "link_from_new_author",
                    f"first comment of this author contains a link: {link.group(0)}",
                    Action.HOLD,
                )
            )
    if policy.hold_copies_from_authors and facts.copy_authors >= policy.hold_copies_from_authors:
        rule_reasons.append(
            Reason(
                "coordinated_posting",
                f"nearly the same text as at least {facts.copies} recent comments "
                f"by {facts.copy_authors} other authors",
                Action.HOLD,
            )
        )
    if facts.lang not in (None, UNDETERMINED_LANGUAGE, *SUPPORTED_LANGUAGES):
        rule_reasons.append(
            Reason(
                "unsupported_language", f"language '{facts.lang}' is not one our models cover", Action.HOLD
            )
        )
    if scores is None:
        rule_reasons.append(
            Reason(
                "scoring_failed",
                f"the model could not score this comment; fallback is {policy.fallback_action.value}",
                policy.fallback_action,
            )
        )
        model_reasons: list[Reason] = []
    else:
        model_reasons = _score_reasons(scores, policy)

    strongest = max(
        (r.action for r in rule_reasons + model_reasons), key=_ACTION_RANK.__getitem__, default=Action.APPROVE
    )
    if strongest is Action.APPROVE and scores is None:
        return Verdict(Action.APPROVE, Source.RULE, tuple(rule_reasons))
    if strongest is Action.APPROVE:
        approve = [_below_thresholds(scores or {}, policy)]
        return Verdict(Action.APPROVE, Source.MODEL, tuple(approve + rule_reasons))
    deciding_rule = any(r.action is strongest for r in rule_reasons)
    deciding_model = any(r.action is strongest for r in model_reasons)
    source = Source.MODEL if deciding_model and not deciding_rule else Source.RULE
    ordered = sorted(rule_reasons + model_reasons, key=lambda r: -_ACTION_RANK[r.action])
    return Verdict(strongest, source, tuple(ordered))
