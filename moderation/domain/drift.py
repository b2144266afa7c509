"""Drift: is a site's model drifting away from its moderators? Pure rules over per-day figures.

`moderation/store/drift.py` gathers, per site and day, the model's (and the rules') approve and reject
decisions, how many of them a moderator later reversed, and the mean scores of the comments scored that
day. Here the last `RECENT_DAYS` days are compared with the `WINDOW_DAYS - RECENT_DAYS` days before them:

- the override rate rose by more than `OVERRIDE_RISE` (with at least `MIN_DECISIONS` decisions in each
  window), or
- the mean of a watched score moved (either way) by more than `SCORE_SHIFT` (with at least `MIN_SCORED`
  scored comments in each window).

Warnings are codes and params; the dashboard words them (`moderation/web/dashboard/wording.py`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

WINDOW_DAYS = 28
RECENT_DAYS = 7
OVERRIDE_RISE = 0.05  # 5 percentage points
MIN_DECISIONS = 20  # per window: fewer, and one overridden decision moves the rate by 5 points or more
SCORE_SHIFT = 0.1
MIN_SCORED = 20  # per window
WATCHED_SCORES = ("toxicity", "site_reject")

OVERRIDE_RATE_UP = "override_rate_up"
SCORE_MOVED = "score_moved"


@dataclass(frozen=True)
class DayFigures:
    """One site's (or all sites') figures of one day.

    `decisions`: model and rule decisions that approved or rejected (holds defer to a moderator, so they
    are no decisions here); `overridden`: how many of them a moderator later reversed (the comment's latest
    decision is a moderator's approve or reject with the other action). `scored` and `sums`: per watched
    score, how many comments scored that day have it, and the sum of their scores.
    """

    day: date
    decisions: int = 0
    overridden: int = 0
    scored: Mapping[str, int] = field(default_factory=dict)
    sums: Mapping[str, float] = field(default_factory=dict)

    @property
    def override_rate(self) -> float | None:
        return self.overridden / self.decisions if self.decisions else None

    def mean(self, score: str) -> float | None:
        count = self.scored.get(score, 0)
        return self.sums.get(score, 0.0) / count if count else None

    def __add__(self, other: DayFigures) -> DayFigures:
        return DayFigures(
            self.day,
            self.decisions + other.decisions,
            self.overridden + other.overridden,
            {s: self.scored.get(s, 0) + other.scored.get(s, 0) for s in {*self.scored, *other.scored}},
            {s: self.sums.get(s, 0.0) + other.sums.get(s, 0.0) for s in {*self.sums, *other.sums}},
        )


@dataclass(frozen=True)
class DriftWarning:
    code: str
    params: Mapping[str, Any]


def window_days(today: date) -> list[date]:
    """The `WINDOW_DAYS` days up to and including `today`, oldest first."""
    return [today - timedelta(days=WINDOW_DAYS - 1 - i) for i in range(WINDOW_DAYS)]


def complete(days: Iterable[DayFigures], today: date) -> list[DayFigures]:
    """One entry for every day of the window (days without figures are zero), oldest first; figures of
    the same day are added up (several sites into one series)."""
    by_day = {d: DayFigures(d) for d in window_days(today)}
    for figures in days:
        if figures.day in by_day:
            by_day[figures.day] = by_day[figures.day] + figures
    return list(by_day.values())


def _total(days: Iterable[DayFigures], day: date) -> DayFigures:
    out = DayFigures(day)
    for figures in days:
        out = out + figures
    return out


def warnings(days: Sequence[DayFigures], today: date) -> list[DriftWarning]:
    """The drift warnings of one site: the last `RECENT_DAYS` days (up to `today`) against the days
    before them in the window. None without enough figures in both windows."""
    series = complete(days, today)
    baseline = _total(series[: WINDOW_DAYS - RECENT_DAYS], series[0].day)
    recent = _total(series[WINDOW_DAYS - RECENT_DAYS :], series[-RECENT_DAYS].day)
    found: list[DriftWarning] = []
    if (
        recent.decisions >= MIN_DECISIONS
        and baseline.decisions >= MIN_DECISIONS
        and recent.override_rate is not None
        and baseline.override_rate is not None
        and round(recent.override_rate - baseline.override_rate, 6) > OVERRIDE_RISE
    ):
        found.append(
            DriftWarning(
                OVERRIDE_RATE_UP,
                {
                    "recent_rate": recent.override_rate,
                    "baseline_rate": baseline.override_rate,
                    "recent_decisions": recent.decisions,
                    "baseline_decisions": baseline.decisions,
                    "recent_days": RECENT_DAYS,
                    "baseline_days": WINDOW_DAYS - RECENT_DAYS,
                },
            )
        )
    for score in WATCHED_SCORES:
        now, before = recent.mean(score), baseline.mean(score)
        if (
            now is None
            or before is None
            or recent.scored.get(score, 0) < MIN_SCORED
            or baseline.scored.get(score, 0) < MIN_SCORED
        ):
            continue
        if round(abs(now - before), 6) > SCORE_SHIFT:
            found.append(
                DriftWarning(
                    SCORE_MOVED,
                    {
                        "score": score,
                        "recent_mean": now,
                        "baseline_mean": before,
                        "recent_scored": recent.scored[score],
                        "baseline_scored": baseline.scored[score],
                        "recent_days": RECENT_DAYS,
                        "baseline_days": WINDOW_DAYS - RECENT_DAYS,
                    },
                )
            )
    return found
