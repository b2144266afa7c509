"""What-if preview: re-decide a site's recent comments with proposed settings, on their stored scores and
the facts their decisions were made on (`moderation.store.facts.replayed_facts`), through the same
`decide` the workers use. With the settings unchanged, it gives the workers' actions."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from moderation.domain.attributes import NAMES
from moderation.domain.enums import Source, Status
from moderation.domain.policy import SitePolicy, Verdict, decide
from moderation.domain.timestamps import utcnow
from moderation.store.facts import Subject, replayed_facts
from moderation.store.tables import Comment, Decision, Scores

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


@dataclass(frozen=True)
class Replayed:
    comment_id: str
    verdict: Verdict


def _contradicts(policy_action: str, moderator_action: str) -> bool:
    """A hold defers to the moderator, so only an automatic approve/reject can contradict one."""
    return policy_action != "hold" and policy_action != moderator_action


def replay(
    session: Session, site_id: int, policy: SitePolicy, days: int = DAYS
) -> tuple[list[Replayed], bool]:
    """Each decided comment of the last `days` (oldest first) re-decided under `policy`, and whether the
    newest `MAX_COMMENTS` were all that was used."""
    since = utcnow() - timedelta(days=days)
    rows: list[Any] = session.execute(  # type: ignore[assignment]
        select(
            Comment.id,
            Comment.site_id,
            Comment.author_id,
            Comment.text,
            Comment.created_at,
            Comment.lang,
            Scores.comment_id,
            *Scores.columns(),
        )
        .outerjoin(Scores, Scores.comment_id == Comment.id)
        .where(
            Comment.site_id == site_id, Comment.created_at >= since, Comment.status != Status.PENDING.value
        )
        .order_by(Comment.created_at.desc())
        .limit(MAX_COMMENTS + 1)
    ).all()
    truncated = len(rows) > MAX_COMMENTS
    rows = list(reversed(rows[:MAX_COMMENTS]))
    subjects = [Subject(row[0], row[1], row[2], row[3], row[4]) for row in rows]
    facts = replayed_facts(session, subjects, {row[0]: row[5] for row in rows})
    out = []
    for row in rows:
        scored, values = row[6], row[7:]
        scores = dict(zip(NAMES, values, strict=True)) if scored is not None else None
        out.append(Replayed(row[0], decide(scores, facts[row[0]], policy)))
    return out, truncated


def preview(session: Session, site_id: int, policy: SitePolicy, days: int = DAYS) -> Preview:
    replayed, truncated = replay(session, site_id, policy, days)
    moderator_actions: dict[str, str] = {}
    ids = [item.comment_id for item in replayed]
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        for comment_id, action in session.execute(
            select(Decision.comment_id, Decision.action)
            .where(Decision.comment_id.in_(chunk), Decision.source == Source.MODERATOR.value)
            .order_by(Decision.id)
        ):
            moderator_actions[comment_id] = action  # the latest one wins
    actions: Counter[str] = Counter()
    contradicted = 0
    for item in replayed:
        actions[item.verdict.action.value] += 1
        moderator = moderator_actions.get(item.comment_id)
        if moderator is not None and _contradicts(item.verdict.action.value, moderator):
            contradicted += 1
    return Preview(
        days=days,
        total=len(replayed),
        actions={a: actions.get(a, 0) for a in ("approve", "hold", "reject")},
        moderated=len(moderator_actions),
        contradicted=contradicted,
        truncated=truncated,
    )
