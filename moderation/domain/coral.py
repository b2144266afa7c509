"""Coral Talk's external moderation phase: its signed request, and our decision in the answer it expects.

Coral POSTs every new or edited comment to the phase's URL, signed with `X-Coral-Signature:
sha256=<hex HMAC-SHA256 of the raw body>` (during a rotation of Coral's secret one such value per live
secret, comma-separated), and waits up to the phase's timeout for `204` ("no opinion") or `200` with
`{"actions": [{"actionType": "FLAG", "reason": ...}], "tags": [...], "status": ...}`. Coral checks the
answer against its own enums and drops a whole answer with one unknown value, so only reasons that every
Coral 5+ knows are used here.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from moderation.domain import reasons
from moderation.domain.enums import Status
from moderation.domain.submissions import CommentIn

# The answer's time budget: a site's own (`sites.coral_budget_ms`) or MODERATION_CORAL_BUDGET_MS.
DEFAULT_BUDGET_MS = 1500
MAX_BUDGET_MS = 5000
# Kept back from the budget for sending the answer, so it reaches Coral inside the phase's timeout.
SEND_MARGIN_MS = 50

SIGNATURE_PREFIX = "sha256="
# More than Coral ever sends (one per live secret); a header beyond these is not read further.
MAX_SIGNATURES = 10
MAX_SIGNATURE_HEADER = 2000

TOXIC = "COMMENT_DETECTED_TOXIC"
SPAM = "COMMENT_DETECTED_SPAM"
BANNED_WORD = "COMMENT_DETECTED_BANNED_WORD"
SUSPECT_WORD = "COMMENT_DETECTED_SUSPECT_WORD"
LINKS = "COMMENT_DETECTED_LINKS"

# Our score attributes and moderator reason codes -> Coral's FLAG reason. Coral has no "other" reason:
# whatever is neither toxic nor spam (propaganda, the site's own standard, an unsupported language, a
# scoring failure) is flagged as a suspect word, Coral's reason for "a moderator should look at this".
_BY_ATTRIBUTE = {
    "toxicity": TOXIC,
    "insult": TOXIC,
    "profanity": TOXIC,
    "threat": TOXIC,
    "identity_attack": TOXIC,
    "spam": SPAM,
}
_BY_CODE = {
    reasons.BANNED_WORD: BANNED_WORD,
    reasons.SUSPECT_WORD: SUSPECT_WORD,
    reasons.LINK_FROM_NEW_AUTHOR: LINKS,
    # Many authors posting the same text is a campaign; Coral's REPEAT_POST means one author repeating.
    reasons.COORDINATED_POSTING: SPAM,
    # A moderator's reason codes (`ReasonCode`), for a comment a moderator decided already.
    "insult": TOXIC,
    "threat": TOXIC,
    "identity_attack": TOXIC,
    "spam": SPAM,
}

# Our decided statuses -> Coral's. An approval is left at Coral's NONE (published, still open to Coral's
# moderators and readers' reports) as Coral's own toxicity phase does: a model's approval is no
# moderator's. A held comment is withheld for Coral's moderators, as Coral does with toxic comments.
CORAL_STATUS = {
    Status.APPROVED.value: "NONE",
    Status.HELD.value: "SYSTEM_WITHHELD",
    Status.REJECTED.value: "REJECTED",
}


def signature_matches(secret: str, body: bytes, header: str | None) -> bool:
    """Whether any `sha256=<hex>` value of the header is the HMAC-SHA256 of the raw body with `secret`.

    Each value is compared in constant time; several values (Coral's key rotation) pass if one matches.
    """
    if not secret or not header or len(header) > MAX_SIGNATURE_HEADER:
        return False
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest().encode("ascii")
    matched = False
    for value in header.split(",")[:MAX_SIGNATURES]:
        value = value.strip()
        if not value.startswith(SIGNATURE_PREFIX) or not value.isascii():
            continue
        given = value[len(SIGNATURE_PREFIX) :].lower().encode("ascii")
        matched |= hmac.compare_digest(given, expected)
    return matched


def sign(secret: str, body: bytes) -> str:
    """The header value Coral sends for `body` (used by tests and the docs' examples)."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class _Comment(BaseModel):
    model_config = ConfigDict(extra="ignore")

    # Coral's documented request has no comment id; a sender that adds one makes retries idempotent.
    id: StrictStr | None = Field(default=None, min_length=1, max_length=150)
    body: StrictStr
    parentID: StrictStr | None = Field(default=None, min_length=1, max_length=150)


class _Author(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: StrictStr = Field(min_length=1, max_length=200)
    role: StrictStr | None = Field(default=None, max_length=50)


class _Story(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: StrictStr | None = Field(default=None, min_length=1, max_length=500)
    url: StrictStr | None = Field(default=None, max_length=2000)


class _Ref(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: StrictStr | None = Field(default=None, max_length=200)
    domain: StrictStr | None = Field(default=None, max_length=500)


class CoralRequest(BaseModel):
    """Coral's request. Fields Coral may add later are ignored (Coral sends what its version has);
    `tenant: {id, domain}` is how some Coral versions send `tenantID`/`tenantDomain`."""

    model_config = ConfigDict(extra="ignore")

    action: Literal["NEW", "EDIT"]
    comment: _Comment
    author: _Author
    story: _Story
    site: _Ref | None = None
    tenantID: StrictStr | None = Field(default=None, max_length=200)
    tenantDomain: StrictStr | None = Field(default=None, max_length=500)
    tenant: _Ref | None = None


def external_id(request: CoralRequest) -> str | None:
    """`coral:<id>` for a new comment. An edit is a new revision, stored as a comment of its own under
    `coral:<id>@<hash of the new body>`: the same edit sent twice is one comment, a different body is
    another, and neither is refused as a conflict with the original."""
    comment_id = request.comment.id
    if comment_id is None:
        return None
    if request.action == "NEW":
        return f"coral:{comment_id}"
    digest = hashlib.sha256(request.comment.body.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"coral:{comment_id}@{digest}"


def to_comment(request: CoralRequest) -> CommentIn:
    """Our comment for Coral's request (raises `ValidationError`/`ValueError` like `parse_comment`)."""
    story = request.story
    article_id = story.id or story.url
    if not article_id:
        raise ValueError("story must have an id or a url")
    tenant = request.tenant or _Ref()
    coral = {
        "action": request.action,
        "comment_id": request.comment.id,
        "parent_id": request.comment.parentID,
        "author_role": request.author.role,
        "story_id": story.id,
        "story_url": story.url,
        "site_id": request.site.id if request.site else None,
        "tenant_id": request.tenantID or tenant.id,
        "tenant_domain": request.tenantDomain or tenant.domain,
    }
    parent = request.comment.parentID
    return CommentIn.model_validate(
        {
            "text": request.comment.body,
            "article_id": article_id,
            "author": {"id": request.author.id},
            "external_id": external_id(request),
            "parent_id": f"coral:{parent}" if parent else None,
            "metadata": {"coral": {k: v for k, v in coral.items() if v is not None}},
        }
    )


def coral_reason(code: str) -> str:
    """Coral's FLAG reason for one of our reason codes."""
    band = reasons.score_band_of(code)
    if band is not None:
        return _BY_ATTRIBUTE.get(band[0], SUSPECT_WORD)
    return _BY_CODE.get(code, SUSPECT_WORD)


def answer(status: str, reason_codes: Sequence[str]) -> dict[str, Any] | None:
    """Coral's answer for a comment in `status` decided for `reason_codes`; None (204, no opinion) while
    it is pending. A held or rejected comment is flagged once per distinct Coral reason."""
    coral_status = CORAL_STATUS.get(status)
    if coral_status is None:
        return None
    flags: list[str] = []
    if status != Status.APPROVED.value:
        flags = list(dict.fromkeys(coral_reason(code) for code in reason_codes)) or [SUSPECT_WORD]
    return {
        "status": coral_status,
        "actions": [{"actionType": "FLAG", "reason": reason} for reason in flags],
        "tags": [],
    }


def answer_for(comment: Mapping[str, Any]) -> dict[str, Any] | None:
    """`answer` for a comment as `GET /api/v1/comments/<id>` shows it."""
    decision = comment.get("decision") or {}
    codes = [str(r.get("code", "")) for r in decision.get("reasons") or []]
    return answer(str(comment.get("status")), codes)


def budget_ms(site_budget_ms: int | None, default_ms: int) -> int:
    """The site's own budget if it has one, else the service's."""
    return default_ms if site_budget_ms is None else site_budget_ms


def valid_budget(value: int) -> bool:
    return 0 <= value <= MAX_BUDGET_MS
