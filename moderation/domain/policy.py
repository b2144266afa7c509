"""Turns scores and a comment's facts into approve / hold / reject, with a reason for each decision.

`decide` is a pure function: no I/O, no clock, no randomness. Every branch that influences the outcome
adds a `Reason`, and the strongest action among them wins (reject > hold > approve).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from moderation.domain import reasons
from moderation.domain.attributes import ATTRIBUTES, BY_NAME
from moderation.domain.enums import Action, Source
from moderation.domain.errors import PolicyError
from moderation.domain.facts import CommentFacts
from moderation.domain.reasons import Reason
from moderation.domain.words import Reading

SUPPORTED_LANGUAGES = ("de", "en", "ru")
# Languages a site may choose to have decided by their scores instead of held as unsupported
# (`SitePolicy.score_languages`): those the `full` profile reads with heads of their own (e5's, see
# `classifiers.stack.E5_LANGUAGES`). Off by default: measured below the bar of the supported ones
# (docs/policy.md, "Ukrainian and Kazakh").
OPTIONAL_LANGUAGES = ("uk", "kk")
# "und": no words to tell the language by (emoji, numbers, a name); scored like any supported language.
UNDETERMINED_LANGUAGE = "und"
_URL = re.compile(r"(?i)\b(?:https?://|www\.)\S+|\b[a-z0-9-]+\.(?:com|de|ru|net|org|info|io|biz|xyz)\b")

Thresholds = Mapping[str, Mapping[str, float | None]]

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
class Verdict:
    action: Action
    source: Source
    reasons: tuple[Reason, ...]

    def reasons_dicts(self) -> list[dict[str, Any]]:
        return [r.to_dict() for r in self.reasons]


@dataclass(frozen=True)
class SitePolicy:
    thresholds: Thresholds = field(default_factory=lambda: DEFAULT_THRESHOLDS)
    banned_words: tuple[str, ...] = ()
    suspect_words: tuple[str, ...] = ()
    hold_links_from_new_authors: bool = True
    # Hold a comment whose text this many other authors posted recently (0: off).
    hold_copies_from_authors: int = 2
    fallback_action: Action = Action.HOLD
    # Of OPTIONAL_LANGUAGES, those this site decides by their scores, where the model read them.
    score_languages: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None) -> SitePolicy:
        """Builds a policy from a site's stored JSON; missing keys keep their defaults."""
        raw = raw or {}
        thresholds = {k: dict(v) for k, v in DEFAULT_THRESHOLDS.items()}
        for name, bands in (raw.get("thresholds") or {}).items():
            attribute = BY_NAME.get(name)
            if attribute is None:
                raise PolicyError(f"unknown attribute in thresholds: {name}")
            merged = thresholds.setdefault(name, {"hold": None, "reject": None})
            for band, value in bands.items():
                if band not in reasons.BANDS:
                    raise PolicyError(f"unknown threshold band {band!r} for {name}")
                if value is not None and not 0.0 <= float(value) <= 1.0:
                    raise PolicyError(f"threshold {name}.{band} must be within [0, 1]")
                if band == "reject" and value is not None and not attribute.can_reject:
                    raise PolicyError(f"{name} can only hold, not reject")
                merged[band] = None if value is None else float(value)
        try:
            fallback = Action(raw.get("fallback_action", Action.HOLD.value))
        except ValueError as exc:
            raise PolicyError(f"unknown fallback action {raw.get('fallback_action')!r}") from exc
        return cls(
            thresholds=thresholds,
            banned_words=tuple(raw.get("banned_words") or ()),
            suspect_words=tuple(raw.get("suspect_words") or ()),
            hold_links_from_new_authors=bool(raw.get("hold_links_from_new_authors", True)),
            hold_copies_from_authors=_count(raw.get("hold_copies_from_authors", 2)),
            fallback_action=fallback,
            score_languages=_languages(raw.get("score_languages")),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "thresholds": {k: dict(v) for k, v in self.thresholds.items()},
            "banned_words": list(self.banned_words),
            "suspect_words": list(self.suspect_words),
            "hold_links_from_new_authors": self.hold_links_from_new_authors,
            "hold_copies_from_authors": self.hold_copies_from_authors,
            "fallback_action": self.fallback_action.value,
            "score_languages": list(self.score_languages),
        }


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PolicyError("hold_copies_from_authors must be a whole number >= 0")
    return value


def _languages(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PolicyError("score_languages must be a list of language codes")
    unknown = [v for v in value if v not in OPTIONAL_LANGUAGES]
    if unknown:
        raise PolicyError(
            f"score_languages: {unknown[0]!r} is not a language a site can choose; "
            f"choose among {', '.join(OPTIONAL_LANGUAGES)}"
        )
    return tuple(lang for lang in OPTIONAL_LANGUAGES if lang in value)


def _score_reasons(scores: Mapping[str, float | None], policy: SitePolicy) -> list[Reason]:
    found = []
    for attribute, bands in policy.thresholds.items():
        value = scores.get(attribute)
        if value is None:
            continue
        reject, hold = bands.get("reject"), bands.get("hold")
        if reject is not None and value >= reject:
            found.append(reasons.score_band(attribute, "reject", value, reject, Action.REJECT))
        elif hold is not None and value >= hold:
            found.append(reasons.score_band(attribute, "hold", value, hold, Action.HOLD))
    return found


def _below_thresholds(scores: Mapping[str, float | None], policy: SitePolicy) -> Reason:
    compared = []
    for attribute in ATTRIBUTES:
        if not attribute.summary:
            continue
        hold = policy.thresholds.get(attribute.name, {}).get("hold")
        value = scores.get(attribute.name)
        if value is not None and hold is not None:
            compared.append((attribute.name, value, hold))
    return reasons.below_thresholds(compared)


def _rule_reasons(facts: CommentFacts, policy: SitePolicy) -> list[Reason]:
    found: list[Reason] = []
    reading = Reading(facts.text, facts.read)
    banned = reading.find(policy.banned_words)
    if banned is not None:
        found.append(reasons.banned_word(banned.word, banned.start, banned.end))
    suspect = reading.find(policy.suspect_words)
    if suspect is not None:
        found.append(reasons.suspect_word(suspect.word, suspect.start, suspect.end))
    # An unknown history (None) is not a new author: the rule only holds what it knows to be new.
    if policy.hold_links_from_new_authors and facts.author_has_history is False:
        link = _URL.search(facts.text)
        if link is not None:
            found.append(reasons.link_from_new_author(link.group(0)))
    if (
        policy.hold_copies_from_authors
        and facts.copy_authors is not None
        and facts.copy_authors >= policy.hold_copies_from_authors
    ):
        found.append(reasons.coordinated_posting(facts.copies or 0, facts.copy_authors))
    # A comment in several languages ("de+kk") is held when any of them is one the models cannot read,
    # or one the site chose to decide (`score_languages`) that the model did not read this time (the
    # `fast` profile has no heads of its own for them).
    for lang in (facts.lang or "").split("+"):
        if lang in ("", UNDETERMINED_LANGUAGE, *SUPPORTED_LANGUAGES):
            continue
        if lang in policy.score_languages and lang in facts.read_languages:
            continue
        found.append(reasons.unsupported_language(lang))
        break
    return found


def decide(scores: Mapping[str, float | None] | None, facts: CommentFacts, policy: SitePolicy) -> Verdict:
    """Decides a comment. `scores` is None when scoring failed; then the fallback applies."""
    rule_reasons = _rule_reasons(facts, policy)
    if scores is None:
        rule_reasons.append(reasons.scoring_failed(policy.fallback_action))
        model_reasons: list[Reason] = []
    else:
        model_reasons = _score_reasons(scores, policy)

    strongest = max((r.action for r in rule_reasons + model_reasons), key=_rank, default=Action.APPROVE)
    if strongest is Action.APPROVE and scores is None:
        return Verdict(Action.APPROVE, Source.RULE, tuple(rule_reasons))
    if strongest is Action.APPROVE:
        approve = [_below_thresholds(scores or {}, policy)]
        return Verdict(Action.APPROVE, Source.MODEL, tuple(approve + rule_reasons))
    deciding_rule = any(r.action is strongest for r in rule_reasons)
    deciding_model = any(r.action is strongest for r in model_reasons)
    source = Source.MODEL if deciding_model and not deciding_rule else Source.RULE
    ordered = sorted(rule_reasons + model_reasons, key=lambda r: -r.action.rank)
    return Verdict(strongest, source, tuple(ordered))


def _rank(action: Action) -> int:
    return action.rank
