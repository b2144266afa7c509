"""Scoring and deciding a batch of pending comments, each decided exactly once."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from classifiers.scoring import Scorer, ScoreResult
from classifiers.site import SiteModel
from moderation.domain.attributes import ScoreSet
from moderation.domain.enums import Status
from moderation.domain.policy import SitePolicy, decide
from moderation.domain.timestamps import utcnow
from moderation.store.db import transaction
from moderation.store.decisions import DecisionEvent, ModelDecision, claim_pending, record_model_decisions
from moderation.store.facts import Subject, live_facts
from moderation.store.site_models import record_shadow_scores
from moderation.store.tables import Comment, Site

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedSiteModel:
    """A site's active model as one batch uses it (the batch keeps it even if a newer one is activated)."""

    version: str
    model: SiteModel
    record_id: int = 0  # the `site_models` row (used for shadow scores)


@dataclass(frozen=True)
class Pending:
    subject: Subject
    policy: SitePolicy


def score_set(result: ScoreResult, site_reject: float | None = None) -> ScoreSet:
    """A classifier's result (and the site model's `site_reject`, if any) as the domain keeps it,
    rounded as the API shows it."""
    values = result.values()
    if site_reject is not None:
        values["site_reject"] = site_reject
    return ScoreSet.rounded(
        values, result.techniques, result.narratives, [span.to_dict() for span in result.spans]
    )


def _load_pending(session: Session, ids: Sequence[str]) -> list[Pending]:
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
        subject = Subject(row.id, row.site_id, row.author_id, row.text, row.created_at)
        pending.append(Pending(subject, policies[row.site_id]))
    return pending


def _score(scorer: Scorer | None, texts: list[str]) -> list[ScoreResult] | None:
    if scorer is None:
        return None
    try:
        return scorer.score(texts)
    except Exception:
        log.exception("scoring a batch of %d comments failed; they get the fallback decision", len(texts))
        return None


def _site_scores(
    pending: Sequence[Pending],
    results: list[ScoreResult],
    scorer: Scorer,
    site_models: Mapping[int, LoadedSiteModel],
) -> dict[str, tuple[float, str]]:
    """`site_reject` and the site model version per comment of a site that has a model."""
    out: dict[str, tuple[float, str]] = {}
    by_site: dict[int, list[int]] = {}
    for index, item in enumerate(pending):
        if item.subject.site_id in site_models:
            by_site.setdefault(item.subject.site_id, []).append(index)
    for site_id, indexes in by_site.items():
        loaded = site_models[site_id]
        try:
            values = loaded.model.predict(
                [pending[i].subject.text for i in indexes], [results[i] for i in indexes], scorer
            )
        except Exception:
            log.exception(
                "site model %s of site %d failed; deciding without site_reject", loaded.version, site_id
            )
            continue
        for i, value in zip(indexes, values, strict=True):
            out[pending[i].subject.id] = (float(value), loaded.version)
    return out


def decide_batch(
    sessions: sessionmaker[Session],
    scorer: Scorer | None,
    ids: Sequence[str],
    connection: redis.Redis | None = None,
    site_models: Mapping[int, LoadedSiteModel] | None = None,
    shadows: Mapping[int, LoadedSiteModel] | None = None,
) -> list[DecisionEvent]:
    """Scores and decides the comments among `ids` that are still pending; returns their decision events.

    Scoring runs outside any transaction: the generic model, each site's own model where it has one
    (`site_models`, fixed for the batch) and a site's shadow model, which scores beside it without
    deciding (`shadows`). The transaction then claims the comments still pending (`claim_pending`: a
    comment two workers race for is claimed by one) and writes the decisions.
    """
    with sessions() as session:
        pending = _load_pending(session, ids)
    if not pending:
        return []
    results = _score(scorer, [p.subject.text for p in pending])
    version = scorer.version if (scorer is not None and results is not None) else None
    site_scores = (
        _site_scores(pending, results, scorer, site_models)
        if site_models and scorer is not None and results is not None
        else {}
    )
    shadow_scores = (
        _site_scores(pending, results, scorer, shadows)
        if shadows and scorer is not None and results is not None
        else {}
    )
    shadow_ids = {loaded.version: loaded.record_id for loaded in (shadows or {}).values()}
    langs = {p.subject.id: (results[i].lang if results is not None else None) for i, p in enumerate(pending)}
    # The facts (author history, near-copies in Redis) are gathered before the writing transaction, so
    # its locks (SQLite's one writer) are held for the writes alone. A comment another worker claims
    # meanwhile was only added to the recent-comments index twice, which changes nothing.
    with sessions() as session:
        read = scorer.read_languages if (scorer is not None and results is not None) else ()
        facts = live_facts(session, [p.subject for p in pending], langs, connection, read)
    # Every comment's decision is made before the writing transaction, which then claims the comments
    # and writes the decisions of those it claimed: SQLite's one write lock is held for the writes alone.
    decided = []
    for index, item in enumerate(pending):
        site = site_scores.get(item.subject.id)
        scores = score_set(results[index], site[0] if site else None) if results is not None else None
        verdict = decide(scores.values if scores is not None else None, facts[item.subject.id], item.policy)
        decided.append(
            ModelDecision(
                comment_id=item.subject.id,
                site_id=item.subject.site_id,
                verdict=verdict,
                facts=facts[item.subject.id],
                scores=scores,
                lang=langs[item.subject.id],
                thresholds=item.policy.thresholds,
                site_model_version=site[1] if site else None,
                scoring_profile=results[index].profile if results is not None else None,
            )
        )
    now = utcnow()
    with transaction(sessions) as session:
        claimed = claim_pending(session, [p.subject.id for p in pending], now)
        mine = [d for d in decided if d.comment_id in claimed]
        events = record_model_decisions(session, mine, model_version=version, now=now)
        record_shadow_scores(
            session,
            [(cid, shadow_ids[v], value) for cid, (value, v) in shadow_scores.items() if cid in claimed],
            now,
        )
        return events
