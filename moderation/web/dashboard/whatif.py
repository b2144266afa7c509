"""What-if preview: re-decide a site's recent comments with proposed settings, on their stored scores and
the facts their decisions were made on (`moderation.store.facts.replayed_facts`), through the same
`decide` the workers use. With the settings unchanged, it gives the workers' actions.

The preview replays each comment under the saved settings and under the proposed ones, so an editor
sees the counts per action before and after, and examples of comments whose action would change."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from moderation.domain.attributes import NAMES
from moderation.domain.enums import Source, Status
from moderation.domain.policy import SitePolicy, Verdict, decide
from moderation.domain.timestamps import utcnow
from moderation.store.facts import Subject, replayed_facts
from moderation.store.tables import Comment, Decision, Scores, Site

DAYS = 30
MAX_COMMENTS = 50_000  # a preview must answer within a page load; beyond this the newest are used
MAX_EXAMPLES = 8
ACTIONS = ("approve", "hold", "reject")


@dataclass(frozen=True)
class Change:
    """A comment whose action the proposed settings would change."""

    comment_id: str
    author: str
    text: str
    before: str
    after: str
    moderator: str | None  # what a moderator decided on it, if anyone did


@dataclass(frozen=True)
class Preview:
    days: int
    total: int
    actions: dict[str, int]  # under the proposed settings
    moderated: int
    contradicted: int
    truncated: bool
    before: dict[str, int] = field(default_factory=dict)  # under the saved settings
    changed: int = 0
    transitions: dict[tuple[str, str], int] = field(default_factory=dict)  # (before, after) -> comments
    examples: tuple[Change, ...] = ()  # the newest changed comments, at most MAX_EXAMPLES


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
    replayed, truncated = replay_under(session, site_id, (policy,), days)
    return [Replayed(comment_id, verdicts[0]) for comment_id, verdicts in replayed], truncated


def replay_under(
    session: Session, site_id: int, policies: tuple[SitePolicy, ...], days: int = DAYS
) -> tuple[list[tuple[str, tuple[Verdict, ...]]], bool]:
    """Like `replay`, with each comment decided under every one of `policies` (read from the database
    once)."""
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
        out.append((row[0], tuple(decide(scores, facts[row[0]], policy) for policy in policies)))
    return out, truncated


def preview(
    session: Session,
    site_id: int,
    policy: SitePolicy,
    days: int = DAYS,
    current: SitePolicy | None = None,
) -> Preview:
    """`policy` against `current` (by default the site's saved settings) on the last `days`."""
    if current is None:
        site = session.get(Site, site_id)
        current = SitePolicy.from_dict(site.policy if site is not None else None)
    replayed, truncated = replay_under(session, site_id, (current, policy), days)
    moderator_actions: dict[str, str] = {}
    ids = [comment_id for comment_id, _ in replayed]
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        for comment_id, action in session.execute(
            select(Decision.comment_id, Decision.action)
            .where(Decision.comment_id.in_(chunk), Decision.source == Source.MODERATOR.value)
            .order_by(Decision.id)
        ):
            moderator_actions[comment_id] = action  # the latest one wins
    actions: Counter[str] = Counter()
    before: Counter[str] = Counter()
    transitions: Counter[tuple[str, str]] = Counter()
    changed_ids: list[str] = []
    contradicted = 0
    for comment_id, (old, new) in replayed:
        actions[new.action.value] += 1
        before[old.action.value] += 1
        if old.action != new.action:
            transitions[(old.action.value, new.action.value)] += 1
            changed_ids.append(comment_id)
        moderator = moderator_actions.get(comment_id)
        if moderator is not None and _contradicts(new.action.value, moderator):
            contradicted += 1
    verdicts = dict(replayed)
    newest = list(reversed(changed_ids))[:MAX_EXAMPLES]
    rows = {
        row.id: row
        for row in session.execute(
            select(Comment.id, Comment.author_id, Comment.author_name, Comment.text).where(
                Comment.id.in_(newest)
            )
        )
    }
    examples = tuple(
        Change(
            comment_id=comment_id,
            author=rows[comment_id].author_name or rows[comment_id].author_id,
            text=rows[comment_id].text or "",
            before=verdicts[comment_id][0].action.value,
            after=verdicts[comment_id][1].action.value,
            moderator=moderator_actions.get(comment_id),
        )
        for comment_id in newest
        if comment_id in rows
    )
    return Preview(
        days=days,
        total=len(replayed),
        actions={a: actions.get(a, 0) for a in ACTIONS},
        moderated=len(moderator_actions),
        contradicted=contradicted,
        truncated=truncated,
        before={a: before.get(a, 0) for a in ACTIONS},
        changed=len(changed_ids),
        transitions=dict(sorted(transitions.items(), key=lambda item: -item[1])),
        examples=examples,
    )
