"""What-if preview: re-run `policy.decide` with proposed settings over a site's stored scores."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from moderation.models import Comment, Decision, Scores, Source, utcnow
from moderation.policy import SCORED_ATTRIBUTES, CommentFacts, SitePolicy, decide

DAYS = 30
MAX_COMMENTS = 50_000  # a preview must answer within a page load; beyond this the newest are used


@dataclass(frozen=True)
class Preview:
    days: int
    total: int
    actions: dict[str, int]
    moderated: int
    contradicted: int
    truncated: bool


def _contradicts(policy_action: str, moderator_action: str) -> bool:
    """A hold defers to the moderator, so only an automatic approve/reject can contradict one."""
    return policy_action != "hold" and policy_action != moderator_action


def preview(session: Session, site_id: int, policy: SitePolicy, days: int = DAYS) -> Preview:
    since = utcnow() - timedelta(days=days)
    score_columns = [getattr(Scores, name) for name in SCORED_ATTRIBUTES]
    rows: list[Any] = session.execute(  # type: ignore[assignment]
        select(Comment.id, Comment.author_id, Comment.text, Comment.lang, Scores.comment_id, *score_columns)
        .outerjoin(Scores, Scores.comment_id == Comment.id)
        .where(Comment.site_id == site_id, Comment.created_at >= since, Comment.status != "pending")
        .order_by(Comment.created_at.desc())
        .limit(MAX_COMMENTS + 1)
    ).all()
    truncated = len(rows) > MAX_COMMENTS
    rows = list(reversed(rows[:MAX_COMMENTS]))  # oldest first, so "author has history" builds up in order
    moderator_actions: dict[str, str] = {}
    ids = [row[0] for row in rows]
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        for comment_id, action in session.execute(
            select(Decision.comment_id, Decision.action)
            .where(Decision.comment_id.in_(chunk), Decision.source == Source.MODERATOR.value)
            .order_by(Decision.id)
        ):
            moderator_actions[comment_id] = action  # the latest one wins
    actions: Counter[str] = Counter()
    seen_authors: set[str] = set()
    contradicted = 0
    for comment_id, author_id, text, lang, scored, *values in rows:
        scores = dict(zip(SCORED_ATTRIBUTES, values, strict=True)) if scored is not None else None
        facts = CommentFacts(text=text, author_has_history=author_id in seen_authors, lang=lang)
        verdict = decide(scores, facts, policy)
        seen_authors.add(author_id)
        actions[verdict.action.value] += 1
        moderator = moderator_actions.get(comment_id)
        if moderator is not None and _contradicts(verdict.action.value, moderator):
            contradicted += 1
    return Preview(
        days=days,
        total=len(rows),
        actions={a: actions.get(a, 0) for a in ("approve", "hold", "reject")},
        moderated=len(moderator_actions),
        contradicted=contradicted,
        truncated=truncated,
    )
