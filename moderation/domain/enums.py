"""The fixed vocabularies: comment statuses, decision actions and sources, account roles, reason codes."""

from __future__ import annotations

import enum


class Status(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    HELD = "held"
    REJECTED = "rejected"


class Action(enum.StrEnum):
    APPROVE = "approve"
    HOLD = "hold"
    REJECT = "reject"

    @property
    def status(self) -> Status:
        return _STATUS_OF[self]

    @property
    def rank(self) -> int:
        """Strength when reasons disagree: reject > hold > approve."""
        return _RANK[self]


_STATUS_OF = {Action.APPROVE: Status.APPROVED, Action.HOLD: Status.HELD, Action.REJECT: Status.REJECTED}
_RANK = {Action.APPROVE: 0, Action.HOLD: 1, Action.REJECT: 2}


class Source(enum.StrEnum):
    """Who decided: the model's scores, a rule of the site's policy, or a moderator."""

    MODEL = "model"
    RULE = "rule"
    MODERATOR = "moderator"


class Role(enum.StrEnum):
    ADMIN = "admin"
    MODERATOR = "moderator"


class ReasonCode(enum.StrEnum):
    """Why a moderator decided as they did (required for a rejection); part of the training label."""

    INSULT = "insult"
    THREAT = "threat"
    IDENTITY_ATTACK = "identity_attack"
    PROPAGANDA = "propaganda"
    SPAM = "spam"
    OFF_TOPIC = "off_topic"
    OTHER = "other"


class LabelSource(enum.StrEnum):
    """Where a site's training label comes from."""

    MODERATOR = "moderator"
    IMPORTED = "imported"
    # A score a site suggested through Perspective's `comments:suggestscore` (`moderation.web.perspective`).
    SUGGESTED = "suggested"


class SiteModelState(enum.StrEnum):
    CANDIDATE = "candidate"
    ACTIVE = "active"
    SHADOW = "shadow"
    RETIRED = "retired"
    REFUSED = "refused"


class Outcome(enum.StrEnum):
    """What the promotion guard decided about a site's candidate model."""

    PROMOTED = "promoted"
    KEPT = "kept"
    REFUSED = "refused"
