"""Statistics: decisions per day, queue depth, time to decision, override rate, score distributions."""

from __future__ import annotations

import statistics
import time
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from babel.dates import format_skeleton
from flask import Blueprint, current_app, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from moderation.domain import drift as domain_drift
from moderation.domain.drift import DriftWarning
from moderation.domain.enums import Source
from moderation.domain.timestamps import as_utc
from moderation.store import drift as store_drift
from moderation.store.tables import Comment, Decision, Scores, User
from moderation.web.context import get_resources
from moderation.web.dashboard import charts, queries, wording

bp = Blueprint("stats", __name__)

DAYS = 30
BINS = 20
MAX_ROWS = 50_000  # distributions are computed on at most this many recent rows, newest first


def _per_day(db: Session, since: datetime, site: int | None) -> tuple[list[str], dict[str, list[float]]]:
    day = func.date(Decision.created_at)
    query = select(day, Decision.action, Decision.source, func.count()).where(Decision.created_at >= since)
    if site is not None:
        query = query.join(Comment, Comment.id == Decision.comment_id).where(Comment.site_id == site)
    rows: Any = db.execute(query.group_by(day, Decision.action, Decision.source))
    days = [(since.date() + timedelta(days=i)).isoformat() for i in range(DAYS + 1)]
    series: dict[str, list[float]] = defaultdict(lambda: [0.0] * len(days))
    index = {d: i for i, d in enumerate(days)}
    for raw_day, action, source, n in rows:
        key = raw_day.isoformat() if isinstance(raw_day, date) else str(raw_day)
        if key in index:
            series[
                _(
                    "%(action)s (%(source)s)",
                    action=wording.action_label(action),
                    source=wording.source_label(source),
                )
            ][index[key]] += int(n)
    short = [format_skeleton("Md", date.fromisoformat(d), locale=get_locale()) for d in days]
    return short, dict(sorted(series.items()))


def _moderation_figures(db: Session, since: datetime, site: int | None) -> dict[str, Any]:
    """Time from arrival to a moderator decision, and how often moderators reversed the machine."""
    moderated = select(Decision.comment_id).where(
        Decision.source == Source.MODERATOR.value, Decision.created_at >= since
    )
    query = (
        select(Decision, Comment.created_at)
        .join(Comment, Comment.id == Decision.comment_id)
        .where(Decision.comment_id.in_(moderated))
        .order_by(Decision.comment_id, Decision.id)
        .limit(MAX_ROWS)
    )
    if site is not None:
        query = query.where(Comment.site_id == site)
    waits: list[float] = []
    outcomes: Counter[str] = Counter()
    per_moderator: dict[int, Counter[str]] = defaultdict(Counter)
    machine: dict[str, str] = {}
    for decision, created in db.execute(query):
        if decision.source != Source.MODERATOR.value:
            machine[decision.comment_id] = decision.action
            continue
        decided, arrived = as_utc(decision.created_at), as_utc(created)
        if decided and arrived:
            waits.append((decided - arrived).total_seconds() / 3600)
        auto = machine.get(decision.comment_id, "hold")
        kind = "override" if auto != "hold" and auto != decision.action else f"{auto}->{decision.action}"
        outcomes[kind] += 1
        per_moderator[decision.moderator_id or 0]["total"] += 1
        per_moderator[decision.moderator_id or 0]["override"] += kind == "override"
    total = sum(outcomes.values())
    emails = {m.id: m.email for m in db.scalars(select(User).where(User.id.in_(list(per_moderator))))}
    buckets = [0.25, 1, 4, 24, 72]
    counts = [
        sum(1 for w in waits if lo <= w < hi) for lo, hi in zip([0.0, *buckets], [*buckets, 1e9], strict=True)
    ]
    return {
        "decisions": total,
        "override_rate": outcomes["override"] / total if total else None,
        "held_approved": outcomes["hold->approve"],
        "held_rejected": outcomes["hold->reject"],
        "median_hours": statistics.median(waits) if waits else None,
        "p90_hours": statistics.quantiles(waits, n=10)[-1] if len(waits) >= 2 else None,
        "wait_chart": charts.stacked_bars(
            _("Time from arrival to a moderator's decision"),
            ["< 15 min", "15–60 min", "1–4 h", "4–24 h", _("1–3 days"), _("> 3 days")],
            {_("moderator decisions"): counts},
            y_title=_("moderator decisions"),
            x_title=_("time from arrival to the moderator's decision"),
            label_every=1,
        ),
        "moderators": [
            (emails.get(mid, "?"), c["total"], c["override"] / c["total"]) for mid, c in per_moderator.items()
        ],
    }


def _distributions(db: Session, since: datetime, site: int | None) -> dict[str, Any]:
    query = select(Scores.column("toxicity"), Scores.column("propaganda")).where(Scores.scored_at >= since)
    if site is not None:
        query = query.join(Comment, Comment.id == Scores.comment_id).where(Comment.site_id == site)
    toxicity, propaganda = [0] * BINS, [0] * BINS
    for tox, prop in db.execute(query.order_by(Scores.scored_at.desc()).limit(MAX_ROWS)):
        if tox is not None:
            toxicity[min(BINS - 1, int(tox * BINS))] += 1
        if prop is not None:
            propaganda[min(BINS - 1, int(prop * BINS))] += 1
    return {
        "toxicity_chart": charts.histogram(
            _("Toxicity score of comments scored in the last %(days)d days", days=DAYS),
            toxicity,
            y_title=_("comments"),
            x_title=_("toxicity score (0 = harmless, 1 = certainly toxic)"),
        ),
        "propaganda_chart": charts.histogram(
            _("Propaganda score of comments scored in the last %(days)d days", days=DAYS),
            propaganda,
            y_title=_("comments"),
            x_title=_("propaganda score (0 = none, 1 = certainly propaganda)"),
        ),
    }


DRIFT_CACHE_SECONDS = 300.0


def site_drifts() -> list[store_drift.SiteDrift]:
    """Every site's drift figures and warnings, computed at most every `DRIFT_CACHE_SECONDS` per process:
    the figures move by the day, the queue (which shows admins the warnings) loads often, and the
    queries read four weeks of decisions and scores."""
    cache: dict[str, Any] = current_app.extensions.setdefault("drift_figures", {})
    now, today = time.monotonic(), datetime.now(UTC).date()
    if cache.get("until", 0.0) < now or cache.get("today") != today:
        with get_resources().sessions() as db:
            cache["drifts"] = store_drift.site_drift(db, today)
        cache["until"], cache["today"] = now + DRIFT_CACHE_SECONDS, today
    return list(cache["drifts"])


def banner_warnings() -> list[tuple[str, DriftWarning]]:
    """The drift warnings of every site, for the queue's banner."""
    return [(d.site_name, w) for d in site_drifts() for w in d.warnings]


def _drift(site: int | None) -> dict[str, Any]:
    """Drift warnings of every site (or the chosen one), and their per-day figures added up."""
    drifts = [d for d in site_drifts() if site is None or d.site_id == site]
    today = datetime.now(UTC).date()
    series = domain_drift.complete([day for d in drifts for day in d.days], today)
    labels = [format_skeleton("Md", d.day, locale=get_locale()) for d in series]
    bars = {
        _("upheld"): [float(d.decisions - d.overridden) for d in series],
        _("reversed by a moderator"): [float(d.overridden) for d in series],
    }
    return {
        "drift_warnings": [(d.site_name, w) for d in drifts for w in d.warnings],
        "drift_days": list(reversed(series)),
        "drift_charts": [
            charts.stacked_bars(
                _("Model and rule decisions (approve or reject) per day, and how many a moderator reversed"),
                labels,
                bars,
                y_title=_("decisions"),
                x_title=_("day the model decided (UTC)"),
                width=width,
                css_class=css_class,
            )
            for width, css_class in ((charts.WIDE, "chart-wide"), (charts.NARROW, "chart-narrow"))
        ],
        "drift_cache_minutes": round(DRIFT_CACHE_SECONDS / 60),
        "drift_window": (domain_drift.RECENT_DAYS, domain_drift.WINDOW_DAYS - domain_drift.RECENT_DAYS),
        "drift_limits": {
            "override": domain_drift.OVERRIDE_RISE,
            "decisions": domain_drift.MIN_DECISIONS,
            "shift": domain_drift.SCORE_SHIFT,
            "scored": domain_drift.MIN_SCORED,
        },
    }


@bp.get("/stats")
def index() -> Any:
    filters = queries.Filters.from_args("all", request.args)
    since = datetime.combine(datetime.now(UTC).date() - timedelta(days=DAYS), datetime.min.time(), tzinfo=UTC)
    with get_resources().sessions() as db:
        labels, series = _per_day(db, since, filters.site)
        depth = queries.counts(db, filters)
        figures = _moderation_figures(db, since, filters.site)
        distributions = _distributions(db, since, filters.site)
        sites = queries.sites(db)
    drift = _drift(filters.site)
    return render_template(
        "stats.html",
        filters=filters,
        sites=sites,
        days=DAYS,
        per_day_charts=[
            charts.stacked_bars(
                _("Decisions per day by action and source"),
                labels,
                series,
                y_title=_("decisions"),
                x_title=_("day (local date)"),
                width=width,
                css_class=css_class,
            )
            for width, css_class in ((charts.WIDE, "chart-wide"), (charts.NARROW, "chart-narrow"))
        ],
        depth=depth,
        figures=figures,
        **distributions,
        **drift,
    )
