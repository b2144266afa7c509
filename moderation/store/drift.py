"""Per-site, per-day figures for drift warnings (`moderation.domain.drift`), from decisions and scores.

Days are UTC dates. A model or rule decision counts on the day it was made; it is overridden when the
comment's latest decision is a moderator's approve or reject with the other action (a moderator's hold
defers, it does not reverse).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session, aliased

from moderation.domain import drift
from moderation.domain.drift import DayFigures, DriftWarning
from moderation.domain.enums import Action, Source
from moderation.domain.timestamps import utcnow
from moderation.store.tables import Comment, Decision, Scores, Site

_DECISIONS = (Action.APPROVE.value, Action.REJECT.value)
_AUTOMATIC = (Source.MODEL.value, Source.RULE.value)


@dataclass(frozen=True)
class SiteDrift:
    site_id: int
    site_name: str
    days: list[DayFigures]  # every day of the window, oldest first
    warnings: list[DriftWarning]


def _day(value: Any) -> date:
    """`date()` answers a date on PostgreSQL and an ISO string on SQLite."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def daily_figures(
    session: Session, today: date | None = None, site_id: int | None = None
) -> dict[int, list[DayFigures]]:
    """Per site (with any figures in the window), its figures per day with figures, oldest first."""
    today = today or utcnow().date()
    first = drift.window_days(today)[0]
    since = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
    automatic, latest = aliased(Decision), aliased(Decision)
    newest_id = (
        select(func.max(Decision.id)).where(Decision.comment_id == automatic.comment_id).scalar_subquery()
    )
    overridden = and_(
        latest.source == Source.MODERATOR.value,
        latest.action.in_(_DECISIONS),
        latest.action != automatic.action,
    )
    decided_day = func.date(automatic.created_at)
    decisions = (
        select(
            Comment.site_id,
            decided_day,
            func.count(),
            func.sum(case((overridden, 1), else_=0)),
        )
        .select_from(automatic)
        .join(Comment, Comment.id == automatic.comment_id)
        .join(latest, latest.id == newest_id)
        .where(
            automatic.source.in_(_AUTOMATIC),
            automatic.action.in_(_DECISIONS),
            automatic.created_at >= since,
        )
        .group_by(Comment.site_id, decided_day)
    )
    scored_day = func.date(Scores.scored_at)
    score_columns = [Scores.column(name) for name in drift.WATCHED_SCORES]
    scores = (
        select(
            Comment.site_id,
            scored_day,
            *(func.count(column) for column in score_columns),
            *(func.sum(column) for column in score_columns),
        )
        .join(Comment, Comment.id == Scores.comment_id)
        .where(Scores.scored_at >= since)
        .group_by(Comment.site_id, scored_day)
    )
    if site_id is not None:
        decisions = decisions.where(Comment.site_id == site_id)
        scores = scores.where(Comment.site_id == site_id)
    found: dict[int, dict[date, DayFigures]] = defaultdict(dict)

    def add(site: int, day: date, figures: DayFigures) -> None:
        if day < first or day > today:
            return
        before = found[site].get(day)
        found[site][day] = figures if before is None else before + figures

    rows: Any = session.execute(decisions)
    for site, raw_day, count, reversed_ in rows:
        day = _day(raw_day)
        add(int(site), day, DayFigures(day, decisions=int(count), overridden=int(reversed_ or 0)))
    width = len(drift.WATCHED_SCORES)
    for row in session.execute(scores):
        day = _day(row[1])
        counts, sums = row[2 : 2 + width], row[2 + width :]
        add(
            int(row[0]),
            day,
            DayFigures(
                day,
                scored={n: int(c or 0) for n, c in zip(drift.WATCHED_SCORES, counts, strict=True)},
                sums={n: float(s or 0.0) for n, s in zip(drift.WATCHED_SCORES, sums, strict=True)},
            ),
        )
    return {site: [days[d] for d in sorted(days)] for site, days in found.items()}


def site_drift(session: Session, today: date | None = None, site_id: int | None = None) -> list[SiteDrift]:
    """Every site (or the one asked for) with its complete window of figures and its warnings, by name."""
    today = today or utcnow().date()
    figures = daily_figures(session, today, site_id)
    query = select(Site.id, Site.name).order_by(Site.name)
    if site_id is not None:
        query = query.where(Site.id == site_id)
    return [
        SiteDrift(
            int(sid),
            str(name),
            drift.complete(figures.get(sid, ()), today),
            drift.warnings(figures.get(sid, ()), today),
        )
        for sid, name in session.execute(query)
    ]


def warning_sites(drifts: Sequence[SiteDrift]) -> list[SiteDrift]:
    return [d for d in drifts if d.warnings]
