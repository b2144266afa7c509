"""The models page: the active generic version, its model card and history; below it each site's own
model (`site_reject`) with its versions, the promotion guard's verdicts, the agreement with the site's
moderators, and, for admins, promote / roll back / shadow (the same store functions as
`moderation models ... --site`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from moderation.domain.enums import SiteModelState
from moderation.store import model_versions, site_models
from moderation.store.db import transaction
from moderation.store.decisions import user_actor
from moderation.store.site_models import Agreement
from moderation.store.tables import AuditEvent, Site, SiteModel
from moderation.web.context import get_resources
from moderation.web.dashboard import charts, model_summary
from moderation.web.dashboard.auth import admin_required, signed_in_user

bp = Blueprint("model_versions", __name__)

MAX_VERSION_ROWS = 12  # per site, newest first; the active and the shadow version are always shown
HISTORY_FIGURES = ("germeval_f1", "civil_held", "ece")  # the columns of the version history
VERDICT_EVENT = "site_model.verdict"


@dataclass(frozen=True)
class VersionRow:
    version: str
    state: str
    created_at: datetime | None
    activated_at: datetime | None
    labels: int | None
    held_back: int | None
    candidate_auc: float | None
    active_auc: float | None
    generic_auc: float | None
    verdict: str | None
    reasons: list[Any]
    agreement: Agreement | None


@dataclass(frozen=True)
class SiteSection:
    site_id: int
    name: str
    active: str | None
    shadow: str | None
    previous: str | None
    rows: list[VersionRow]
    hidden: int  # older versions not listed
    latest_verdict: Mapping[str, Any] | None
    latest_verdict_at: datetime | None


def _figure(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def version_row(row: SiteModel, agreement: Agreement | None) -> VersionRow:
    verdict = _mapping(row.verdict)
    metrics = _mapping(verdict.get("metrics"))
    candidate, active = _mapping(metrics.get("candidate")), _mapping(metrics.get("active"))
    reasons = verdict.get("reasons")
    return VersionRow(
        version=row.version,
        state=row.state,
        created_at=row.created_at,
        activated_at=row.activated_at,
        labels=metrics.get("labels") if isinstance(metrics.get("labels"), int) else None,
        held_back=metrics.get("held_back") if isinstance(metrics.get("held_back"), int) else None,
        candidate_auc=_figure(candidate.get("slice_auc")),
        active_auc=_figure(active.get("slice_auc")),
        generic_auc=_figure(metrics.get("generic_toxicity_slice_auc")),
        verdict=verdict.get("verdict") if isinstance(verdict.get("verdict"), str) else None,
        reasons=list(reasons) if isinstance(reasons, list) else [],
        agreement=agreement,
    )


def latest_verdicts(db: Session, site_id: int | None = None) -> dict[int, AuditEvent]:
    """The newest `site_model.verdict` event of each site (also of retrains that trained no candidate)."""
    newest = select(func.max(AuditEvent.id)).where(AuditEvent.event == VERDICT_EVENT)
    if site_id is not None:
        newest = newest.where(AuditEvent.site_id == site_id)
    events = db.scalars(select(AuditEvent).where(AuditEvent.id.in_(newest.group_by(AuditEvent.site_id))))
    return {event.site_id: event for event in events if event.site_id is not None}


def site_sections(db: Session) -> list[SiteSection]:
    rows_by_site: dict[int, list[SiteModel]] = {}
    for row in site_models.history(db):
        rows_by_site.setdefault(row.site_id, []).append(row)
    verdicts = latest_verdicts(db)
    wanted = set(rows_by_site) | set(verdicts)
    if not wanted:
        return []
    names = {int(i): str(n) for i, n in db.execute(select(Site.id, Site.name).where(Site.id.in_(wanted)))}
    sections = []
    for site_id in sorted(wanted, key=lambda s: names.get(s, "")):
        if site_id not in names:
            continue
        rows = list(reversed(rows_by_site.get(site_id, [])))  # newest first
        agreements = {a.version: a for a in site_models.agreement(db, site_id)} if rows else {}
        shown = [
            r
            for i, r in enumerate(rows)
            if i < MAX_VERSION_ROWS or r.state in (SiteModelState.ACTIVE, SiteModelState.SHADOW)
        ]
        event = verdicts.get(site_id)
        sections.append(
            SiteSection(
                site_id=site_id,
                name=names[site_id],
                active=next((r.version for r in rows if r.state == SiteModelState.ACTIVE), None),
                shadow=next((r.version for r in rows if r.state == SiteModelState.SHADOW), None),
                previous=site_models.previous_version(db, site_id) if rows else None,
                rows=[
                    version_row(r, agreements.get(r.version) if r.state in ("active", "shadow") else None)
                    for r in shown
                ],
                hidden=len(rows) - len(shown),
                latest_verdict=event.data if event is not None and isinstance(event.data, dict) else None,
                latest_verdict_at=event.created_at if event is not None else None,
            )
        )
    return sections


def site_auc_chart(section: SiteSection) -> Markup | None:
    """Held-back AUC of each site model version (oldest first) beside the generic toxicity score's."""
    rows = [r for r in reversed(section.rows) if r.candidate_auc is not None]
    if not rows:
        return None
    return charts.figure_history(
        _("Held-back AUC per version of the site model of %(site)s", site=section.name),
        [r.version for r in rows],
        {
            _("this version"): [r.candidate_auc for r in rows],
            _("generic toxicity"): [r.generic_auc for r in rows],
        },
        y_title=_("Held-back AUC"),
    )


@bp.get("/models")
def index() -> Any:
    with get_resources().sessions() as db:
        active = model_versions.active_version(db)
        versions = model_versions.history(db)
        sites = site_sections(db)
    summaries = model_summary.summaries(versions)
    summary = next((s for s in summaries if s.version == active), None)
    card = next((v.card for v in versions if v.version == active), None) or {}
    return render_template(
        "models.html",
        active=active,
        summary=summary,
        versions=list(zip(versions, summaries, strict=True)),
        raw_metrics=model_summary.flat_metrics(card.get("metrics")),
        restriction_labels=model_summary.RESTRICTION_LABELS,
        free_licences=model_summary.FREE_LICENCES,
        train_free=model_summary.TRAIN_FREE,
        history_figures=[(key, label) for key, label, *_ in model_summary.FIGURES if key in HISTORY_FIGURES],
        sites=sites,
        site_charts={s.site_id: site_auc_chart(s) for s in sites},
    )


class _Refused(Exception):
    """An admin action that cannot be done; its message is shown as a flash error."""


def _back(site_id: int | None = None) -> Any:
    anchor = f"site-{site_id}" if site_id is not None else None
    return redirect(url_for("model_versions.index", _anchor=anchor))


def _site(db: Session, site_id: int) -> Site:
    site = db.get(Site, site_id)
    if site is None:
        raise _Refused(_("There is no such site."))
    return site


def _version(db: Session, site: Site, raw: str | None) -> SiteModel:
    version = (raw or "").strip()[:100]
    row = site_models.get(db, site.id, version) if version else None
    if row is None:
        raise _Refused(
            _("%(site)s has no site model version “%(version)s”.", site=site.name, version=version)
        )
    return row


@bp.post("/models/sites/<int:site_id>/promote")
@admin_required
def promote(site_id: int) -> Any:
    try:
        with transaction(get_resources().sessions) as db:
            site = _site(db, site_id)
            row = _version(db, site, request.form.get("version"))
            if row.state == SiteModelState.ACTIVE:
                raise _Refused(
                    _(
                        "%(version)s is already the active model of %(site)s.",
                        version=row.version,
                        site=site.name,
                    )
                )
            version, name = row.version, site.name
            previous = site_models.activate(db, site_id, version, actor=user_actor(signed_in_user(db)))
    except _Refused as exc:
        flash(str(exc), "error")
        return _back(site_id)
    if previous:
        flash(
            _(
                "%(version)s is now the active model of %(site)s (before: %(previous)s).",
                version=version,
                site=name,
                previous=previous,
            ),
            "success",
        )
    else:
        flash(_("%(version)s is now the active model of %(site)s.", version=version, site=name), "success")
    return _back(site_id)


@bp.post("/models/sites/<int:site_id>/rollback")
@admin_required
def rollback(site_id: int) -> Any:
    try:
        with transaction(get_resources().sessions) as db:
            site = _site(db, site_id)
            earlier = site_models.previous_version(db, site_id)
            if earlier is None or site_models.get(db, site_id, earlier) is None:
                raise _Refused(_("%(site)s has no earlier site model to roll back to.", site=site.name))
            name = site.name
            current = site_models.activate(db, site_id, earlier, actor=user_actor(signed_in_user(db)))
    except _Refused as exc:
        flash(str(exc), "error")
        return _back(site_id)
    flash(
        _(
            "Rolled back: %(version)s is the active model of %(site)s again (instead of %(current)s).",
            version=earlier,
            site=name,
            current=current or "–",
        ),
        "success",
    )
    return _back(site_id)


@bp.post("/models/sites/<int:site_id>/shadow")
@admin_required
def shadow(site_id: int) -> Any:
    stop = request.form.get("intent") == "stop"
    try:
        with transaction(get_resources().sessions) as db:
            site = _site(db, site_id)
            name = site.name
            version = None
            if not stop:
                row = _version(db, site, request.form.get("version"))
                if row.state == SiteModelState.ACTIVE:
                    raise _Refused(
                        _(
                            "%(version)s is the active model of %(site)s; only another version can run "
                            "in shadow beside it.",
                            version=row.version,
                            site=name,
                        )
                    )
                version = row.version
            site_models.set_shadow(db, site_id, version, actor=user_actor(signed_in_user(db)))
    except _Refused as exc:
        flash(str(exc), "error")
        return _back(site_id)
    if version is None:
        flash(_("No site model of %(site)s runs in shadow now.", site=name), "success")
    else:
        flash(
            _(
                "%(version)s now runs in shadow for %(site)s: it scores new comments beside the active "
                "model without deciding.",
                version=version,
                site=name,
            ),
            "success",
        )
    return _back(site_id)
