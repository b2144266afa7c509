"""Retraining a site's own model from its labels, behind the promotion guard.

The newest fifth of the site's labels is held back; a candidate fitted on the rest is compared with the
site's active model (or, for a first model, with the generic toxicity score) on that slice and on fixed
public validation sets (`moderation.domain.learning.judge`). A promoted candidate is refit on all of
the site's labels and becomes active; workers follow within seconds. Every verdict is recorded.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from classifiers.scoring import Scorer, ScoreResult
from classifiers.site import SiteModel, fit_site_model, load_site_model, save_site_model
from classifiers.validation import guard_sets
from moderation.domain.enums import Outcome, SiteModelState
from moderation.domain.learning import (
    MIN_LABELS,
    Figures,
    GuardReason,
    LearningSettings,
    auc_lower_bound,
    enough_labels,
    judge,
    split_point,
    too_few_labels,
)
from moderation.domain.policy import SitePolicy
from moderation.domain.timestamps import utcnow
from moderation.resources import Resources
from moderation.store import model_versions, site_models
from moderation.store.db import transaction
from moderation.store.labels import count_labels, training_labels
from moderation.store.tables import AuditEvent, Site, SiteLabel

log = logging.getLogger(__name__)

ProgressFn = Callable[[str], None]
# Defaults for a site's first model, chosen on the held-back slice: hold from the calibrated 0.5; reject
# automatically only where at least 90 % of the slice's comments were rejected by the moderators.
HOLD_THRESHOLD = 0.5
REJECT_PRECISION = 0.9
MIN_REJECT_SUPPORT = 10


@dataclass
class RetrainResult:
    site: str
    candidate: str | None
    active: str | None
    verdict: Outcome
    reasons: list[GuardReason]
    metrics: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        details = "; ".join(reason.detail for reason in self.reasons)
        return f"verdict: {self.verdict.value} {self.candidate or '-'} {details}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "candidate": self.candidate,
            "active": self.active,
            "verdict": self.verdict.value,
            "reasons": [reason.to_dict() for reason in self.reasons],
            "metrics": self.metrics,
        }


def auc(y: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> float | None:
    """ROC AUC, or None when the labels are all of one kind."""
    y = np.asarray(y)
    if len(set(y.tolist())) < 2:
        return None
    return float(roc_auc_score(y, np.asarray(scores, dtype=float)))


def generic_scorer(resources: Resources) -> Scorer:
    with resources.sessions() as session:
        version = model_versions.active_version(session) or resources.registry.latest()
    if version is None:
        raise LookupError("no generic model yet: run `moderation train` first")
    return resources.registry.load(version)


def _new_version(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y.%m.%d-%H%M%S")


class _Public:
    """The public guard sets with the generic scores of their texts, computed once per retrain run."""

    def __init__(self, scorer: Scorer) -> None:
        self.scorer = scorer
        self._sets: dict[str, tuple[list[str], np.ndarray, list[ScoreResult]]] | None = None

    def figures(self, model: SiteModel) -> dict[str, float]:
        if self._sets is None:
            self._sets = {
                name: (texts, y, self.scorer.score(texts)) for name, (texts, y) in guard_sets().items()
            }
        out = {}
        for name, (texts, y, generic) in self._sets.items():
            value = auc(y, model.predict(texts, generic, self.scorer))
            if value is not None:
                out[name] = value
        return out


def _thresholds(y: np.ndarray, p: np.ndarray) -> dict[str, float | None]:
    reject = None
    for t in np.arange(HOLD_THRESHOLD, 1.0, 0.05):
        above = p >= t
        if above.sum() >= MIN_REJECT_SUPPORT and y[above].mean() >= REJECT_PRECISION:
            reject = round(float(t), 2)
            break
    return {"hold": HOLD_THRESHOLD, "reject": reject}


def retrain_site(
    resources: Resources,
    site_name: str,
    *,
    actor: str = "retrain",
    scorer: Scorer | None = None,
    public: _Public | None = None,
    progress: ProgressFn | None = None,
) -> RetrainResult:
    """Trains a candidate for the site, judges it and records the verdict; see the module docstring."""
    say = progress or (lambda _message: None)
    with resources.sessions() as session:
        site = session.scalars(select(Site).where(Site.name == site_name)).first()
        if site is None:
            raise LookupError(f"no site named {site_name!r}")
        site_id, policy_raw = site.id, dict(site.policy or {})
        try:
            settings = LearningSettings.from_dict(site.learning)
        except ValueError:
            settings = LearningSettings()
        labels = training_labels(session, site_id)
        active = site_models.active_version(session, site_id)
    rejected = sum(label.rejected for label in labels)
    if not enough_labels(len(labels), rejected):
        reason = too_few_labels(len(labels), rejected)
        result = RetrainResult(site_name, None, active, Outcome.REFUSED, [reason], {"labels": len(labels)})
        _record_verdict(resources, site_id, result, actor)
        return result
    scorer = scorer or generic_scorer(resources)
    public = public or _Public(scorer)
    started = time.perf_counter()
    texts = [label.text for label in labels]
    y = np.array([label.rejected for label in labels])
    say(f"{site_name}: scoring {len(texts)} labelled texts with the generic model {scorer.version}")
    generic = scorer.score(texts)
    cut = split_point(len(labels))
    say(
        f"{site_name}: fitting a candidate on the older {cut} labels, "
        f"holding back the newest {len(labels) - cut}"
    )
    candidate = fit_site_model(texts[:cut], y[:cut].tolist(), scorer, generic=generic[:cut])
    held_texts, held_y, held_generic = texts[cut:], y[cut:], generic[cut:]
    candidate_p = candidate.predict(held_texts, held_generic, scorer)
    slice_auc = auc(held_y, candidate_p)
    positives = int(held_y.sum())
    low = None if slice_auc is None else auc_lower_bound(slice_auc, positives, len(held_y) - positives)
    figures = Figures(slice_auc, public.figures(candidate), low)
    generic_slice = auc(held_y, [r.toxicity for r in held_generic])
    active_figures = None
    if active is not None:
        active_model = load_site_model(resources.registry.site(site_id).path(active))
        active_figures = Figures(
            auc(held_y, active_model.predict(held_texts, held_generic, scorer)), public.figures(active_model)
        )
    verdict = judge(figures, active_figures, generic_slice, len(held_y))
    metrics: dict[str, Any] = {
        "labels": len(labels),
        "rejected": rejected,
        "held_back": len(labels) - cut,
        "candidate": figures.to_dict(),
        "active": active_figures.to_dict() if active_figures is not None else None,
        "generic_toxicity_slice_auc": None if generic_slice is None else round(generic_slice, 4),
        "generic_version": scorer.version,
    }
    now = utcnow()
    version = _new_version(now)
    if verdict.outcome is Outcome.PROMOTED:
        say(f"{site_name}: promoted; refitting on all {len(labels)} labels")
        final = fit_site_model(texts, y.tolist(), scorer, generic=generic)
        state = SiteModelState.ACTIVE
        thresholds = _thresholds(held_y, candidate_p)
    else:
        final, state, thresholds = candidate, SiteModelState.CANDIDATE, None
        if verdict.outcome is Outcome.REFUSED:
            state = SiteModelState.REFUSED
    metrics["seconds"] = round(time.perf_counter() - started, 1)
    final.card.update(
        {
            "site": site_name,
            "generic_version": scorer.version,
            "guard": {
                "verdict": verdict.outcome.value,
                "reasons": [reason.to_dict() for reason in verdict.reasons],
                "metrics": metrics,
            },
            "trained_on": "all labels" if state is SiteModelState.ACTIVE else f"the older {cut} labels",
        }
    )
    version = resources.registry.site(site_id).save_with(version, lambda d: save_site_model(final, d))
    result = RetrainResult(site_name, version, active, verdict.outcome, list(verdict.reasons), metrics)
    with transaction(resources.sessions) as session:
        site_models.record(
            session, site_id, version, final.card, state=SiteModelState.CANDIDATE, verdict=result.to_dict()
        )
        if state is SiteModelState.ACTIVE:
            site_models.activate(session, site_id, version, actor=actor)
            _default_thresholds(session, site_id, policy_raw, thresholds)
        elif state is SiteModelState.REFUSED:
            site_models.record(session, site_id, version, final.card, state=state)
        elif settings.shadow:
            # Kept: the active model stays; the candidate scores beside it, for an admin to judge.
            site_models.set_shadow(session, site_id, version, actor=actor)
        session.add(
            AuditEvent(actor=actor, event="site_model.verdict", site_id=site_id, data=result.to_dict())
        )
    log.info("site %s: %s", site_name, result.line())
    return result


def _default_thresholds(
    session: Session, site_id: int, policy_raw: dict[str, Any], thresholds: dict[str, float | None] | None
) -> None:
    """A site's first model brings thresholds chosen on the held-back slice; ones an admin set stay."""
    if thresholds is None or "site_reject" in (policy_raw.get("thresholds") or {}):
        return
    site = session.get(Site, site_id)
    if site is None:
        return
    raw = dict(site.policy or {})
    raw["thresholds"] = {**(raw.get("thresholds") or {}), "site_reject": thresholds}
    site.policy = SitePolicy.from_dict(raw).to_dict()


def _record_verdict(resources: Resources, site_id: int, result: RetrainResult, actor: str) -> None:
    with transaction(resources.sessions) as session:
        session.add(
            AuditEvent(actor=actor, event="site_model.verdict", site_id=site_id, data=result.to_dict())
        )


def sites_with_new_labels(resources: Resources) -> list[str]:
    """Sites whose labels changed since their last retrain verdict (or that never had one)."""
    with resources.sessions() as session:
        last_label = dict(
            session.execute(
                select(SiteLabel.site_id, func.max(SiteLabel.created_at)).group_by(SiteLabel.site_id)
            ).all()
        )
        last_verdict = dict(
            session.execute(
                select(AuditEvent.site_id, func.max(AuditEvent.created_at))
                .where(AuditEvent.event == "site_model.verdict")
                .group_by(AuditEvent.site_id)
            ).all()
        )
        names = dict(session.execute(select(Site.id, Site.name)).all())
    out = []
    for site_id, newest in last_label.items():
        verdict_at = last_verdict.get(site_id)
        if verdict_at is None or _utc(newest) > _utc(verdict_at):
            out.append(names[site_id])
    return sorted(out)


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def due_sites(resources: Resources, now: datetime | None = None) -> list[str]:
    """Sites whose own model should be retrained now, by their `LearningSettings`: labels came in and the
    last verdict is older than `every_hours`, or `after_labels` new labels came in, or the site has
    enough labels and never had a verdict."""
    now = now or utcnow()
    with resources.sessions() as session:
        sites = list(session.scalars(select(Site)))
        verdicts: dict[int, datetime] = dict(
            session.execute(  # type: ignore[arg-type]
                select(AuditEvent.site_id, func.max(AuditEvent.created_at))
                .where(AuditEvent.event == "site_model.verdict")
                .group_by(AuditEvent.site_id)
            ).all()
        )
        due: list[str] = []
        for site in sites:
            site_id, name = site.id, site.name
            try:
                settings = LearningSettings.from_dict(site.learning)
            except ValueError:
                settings = LearningSettings()
            last = verdicts.get(site_id)
            new = count_labels(session, site_id, since=_utc(last) if last is not None else None)
            if last is None:
                if new >= MIN_LABELS:
                    due.append(name)
                continue
            hours = (now - _utc(last)).total_seconds() / 3600
            if (settings.after_labels and new >= settings.after_labels) or (
                settings.every_hours and new and hours >= settings.every_hours
            ):
                due.append(name)
    return sorted(due)
