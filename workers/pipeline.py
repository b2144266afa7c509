"""Scoring and deciding a batch of pending comments, each decided exactly once."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import redis
from sqlalchemy import select, tuple_, update
from sqlalchemy.orm import Session, sessionmaker

from classifiers.scoring import Scorer, ScoreResult
from moderation.db import transaction
from moderation.models import AuditEvent, Comment, Decision, Scores, Site, Status, utcnow
from moderation.policy import CommentFacts, SitePolicy, Verdict, decide
from workers.coordination import Item, find_copies

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pending:
    id: str
    site_id: int
    author_id: str
    text: str
    policy: SitePolicy


def flat_scores(result: ScoreResult) -> dict[str, float]:
    return {
        "toxicity": result.toxicity,
        "propaganda": result.propaganda,
        "spam": result.spam,
        "insult": result.insult,
        "profanity": result.profanity,
        "threat": result.threat,
        "identity_attack": result.identity_attack,
    }


def _load_pending(session: Session, ids: Sequence[str]) -> tuple[list[Pending], set[tuple[int, str]]]:
    rows = session.execute(
        select(Comment.id, Comment.site_id, Comment.author_id, Comment.text, Comment.created_at, Site.policy)
        .join(Site, Site.id == Comment.site_id)
        .where(Comment.id.in_(ids), Comment.status == Status.PENDING.value)
        .order_by(Comment.created_at, Comment.id)
    ).all()
    policies: dict[int, SitePolicy] = {}
    pending = []
    for row in rows:
        if row.site_id not in policies:
            policies[row.site_id] = SitePolicy.from_dict(row.policy)
        pending.append(Pending(row.id, row.site_id, row.author_id, row.text, policies[row.site_id]))
    authors = {(p.site_id, p.author_id) for p in pending}
    known: set[tuple[int, str]] = set()
    if authors:
        known = {
            (site_id, author_id)
            for site_id, author_id in session.execute(
                select(Comment.site_id, Comment.author_id)
                .where(
                    tuple_(Comment.site_id, Comment.author_id).in_(authors),
                    Comment.status == Status.APPROVED.value,
                )
                .distinct()
            )
        }
    return pending, known


def _score(scorer: Scorer | None, texts: list[str]) -> list[ScoreResult] | None:
    if scorer is None:
        return None
    try:
        return scorer.score(texts)
    except Exception:
        log.exception("scoring a batch of %d comments failed; they get the fallback decision", len(texts))
        return None


def decide_batch(
    sessions: sessionmaker[Session],
    scorer: Scorer | None,
    ids: Sequence[str],
    connection: redis.Redis | None = None,
) -> list[str]:
    """Scores and decides the comments among `ids` that are still pending; returns the ids it decided.

    The transaction first claims the comments that are still pending and undecided, in one conditional
    UPDATE. A comment two workers race for (a re-enqueued id, a reconciler pass) is claimed by one: the
    other's UPDATE waits on the row lock (PostgreSQL) or the write lock (SQLite), then finds it taken and
    writes nothing. So every comment gets exactly one model decision.
    """
    with sessions() as session:
        pending, known_authors = _load_pending(session, ids)
    if not pending:
        return []
    results = _score(scorer, [p.text for p in pending])
    copies = find_copies(connection, [Item(p.id, p.site_id, p.author_id, p.text) for p in pending])
    version = scorer.version if (scorer is not None and results is not None) else None
    now = utcnow()
    with transaction(sessions) as session:
        claimed = set(
            session.scalars(
                update(Comment)
                .where(
                    Comment.id.in_([p.id for p in pending]),
                    Comment.status == Status.PENDING.value,
                    Comment.decided_at.is_(None),
                )
                .values(decided_at=now)
                .returning(Comment.id)
                .execution_options(synchronize_session=False)
            )
        )
        changes: list[dict[str, object]] = []
        rows: list[object] = []
        for index, item in enumerate(pending):
            if item.id not in claimed:
                continue
            result = results[index] if results is not None else None
            facts = CommentFacts(
                text=item.text,
                author_has_history=(item.site_id, item.author_id) in known_authors,
                lang=result.lang if result is not None else None,
                copies=copies[item.id].count if item.id in copies else 0,
                copy_authors=copies[item.id].authors if item.id in copies else 0,
            )
            verdict = decide(flat_scores(result) if result is not None else None, facts, item.policy)
            change: dict[str, object] = {"id": item.id, "status": verdict.action.status.value}
            if result is not None:
                change["lang"] = result.lang
            changes.append(change)
            rows.extend(_rows(item, result, verdict, version, now))
        if changes:
            session.execute(update(Comment), changes)  # one executemany by primary key
            session.add_all(rows)
    return [str(change["id"]) for change in changes]


def _rows(
    item: Pending, result: ScoreResult | None, verdict: Verdict, version: str | None, now: datetime
) -> list[object]:
    """The Scores, Decision and AuditEvent rows that record one model decision."""
    rows: list[object] = []
    if result is not None and version is not None:
        # Stored exactly as the API (and `moderation score`) present them, rounding included.
        shown = result.scores_dict()
        attributes = shown["attributes"]
        rows.append(
            Scores(
                comment_id=item.id,
                model_version=version,
                toxicity=shown["toxicity"],
                propaganda=shown["propaganda"],
                spam=shown["spam"],
                insult=attributes["insult"],
                profanity=attributes["profanity"],
                threat=attributes["threat"],
                identity_attack=attributes["identity_attack"],
                techniques=attributes["techniques"],
                narratives=attributes["narratives"],
                spans=[span.to_dict() for span in result.spans],
                scored_at=now,
            )
        )
    reasons = verdict.reasons_dicts()
    rows.append(
        Decision(
            comment_id=item.id,
            action=verdict.action.value,
            source=verdict.source.value,
            reasons=reasons,
            model_version=version,
            created_at=now,
        )
    )
    rows.append(
        AuditEvent(
            actor=verdict.source.value if version is None else f"{verdict.source.value}:{version}",
            event="comment.decided",
            site_id=item.site_id,
            comment_id=item.id,
            data={"action": verdict.action.value, "source": verdict.source.value, "reasons": reasons},
            created_at=now,
        )
    )
    return rows
