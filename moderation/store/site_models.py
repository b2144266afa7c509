"""Which version of each site's own model is active, in shadow, or was refused, and why: recorded in
SQL so every worker on every host agrees. The model files live in the registry
(`Registry.site(site_id)`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from moderation.domain.enums import SiteModelState
from moderation.domain.priority import thresholds_of
from moderation.domain.timestamps import utcnow
from moderation.store.tables import AuditEvent, Decision, Scores, ShadowScore, Site, SiteLabel, SiteModel


def active_versions(session: Session) -> dict[int, str]:
    """The active site model of every site that has one."""
    rows = session.execute(
        select(SiteModel.site_id, SiteModel.version).where(SiteModel.state == SiteModelState.ACTIVE.value)
    )
    return {int(site_id): str(version) for site_id, version in rows}


def shadow_versions(session: Session) -> dict[int, tuple[str, int]]:
    """The model running in shadow for every site that has one: its version and record id."""
    rows = session.execute(
        select(SiteModel.site_id, SiteModel.version, SiteModel.id).where(
            SiteModel.state == SiteModelState.SHADOW.value
        )
    )
    return {int(site_id): (str(version), int(record)) for site_id, version, record in rows}


def record_shadow_scores(session: Session, scores: Sequence[tuple[str, int, float]], now: datetime) -> None:
    """Stores what shadow models said: (comment id, site model record id, site_reject)."""
    if scores:
        session.execute(
            insert(ShadowScore),
            [{"comment_id": c, "site_model_id": m, "site_reject": v, "scored_at": now} for c, m, v in scores],
        )


@dataclass(frozen=True)
class Agreement:
    """How often a model's call (site_reject at or over the site's hold threshold) matched the
    moderators' decisions on comments it scored."""

    version: str
    state: str
    compared: int
    agreed: int

    @property
    def rate(self) -> float | None:
        return self.agreed / self.compared if self.compared else None


def agreement(session: Session, site_id: int) -> list[Agreement]:
    """The active and the shadow model of the site on the moderated comments both scored (those with a
    shadow score), or the active model's since its activation when there is no shadow."""
    site = session.get(Site, site_id)
    if site is None:
        return []
    hold = (thresholds_of(site.policy).get("site_reject") or {}).get("hold") or 0.5
    rows = {row.state: row for row in history(session, site_id) if row.state in ("active", "shadow")}
    shadow, active = rows.get("shadow"), rows.get("active")
    moderated = (
        select(SiteLabel.comment_id, SiteLabel.action)
        .where(
            SiteLabel.site_id == site_id, SiteLabel.comment_id.is_not(None), SiteLabel.source == "moderator"
        )
        .subquery()
    )
    out = []
    if active is not None:
        query = (
            select(moderated.c.action, Scores.column("site_reject"))
            .join(Scores, Scores.comment_id == moderated.c.comment_id)
            .join(Decision, Decision.comment_id == moderated.c.comment_id)
            .where(Decision.site_model_version == active.version)
        )
        if shadow is not None:
            query = query.join(
                ShadowScore,
                (ShadowScore.comment_id == moderated.c.comment_id) & (ShadowScore.site_model_id == shadow.id),
            )
        out.append(_agreement(active, session.execute(query.distinct()).all(), hold))
    if shadow is not None:
        query = (
            select(moderated.c.action, ShadowScore.site_reject)
            .join(ShadowScore, ShadowScore.comment_id == moderated.c.comment_id)
            .where(ShadowScore.site_model_id == shadow.id)
        )
        out.append(_agreement(shadow, session.execute(query).all(), hold))
    return out


def _agreement(row: SiteModel, pairs: Sequence[Any], hold: float) -> Agreement:
    compared = [(action, value) for action, value in pairs if value is not None]
    agreed = sum(1 for action, value in compared if (value >= hold) == (action == "reject"))
    return Agreement(row.version, row.state, len(compared), agreed)


def active_version(session: Session, site_id: int) -> str | None:
    return active_versions(session).get(site_id)


def get(session: Session, site_id: int, version: str) -> SiteModel | None:
    return session.scalars(
        select(SiteModel).where(SiteModel.site_id == site_id, SiteModel.version == version)
    ).first()


def record(
    session: Session,
    site_id: int,
    version: str,
    card: dict[str, Any],
    *,
    state: SiteModelState,
    verdict: dict[str, Any] | None = None,
) -> SiteModel:
    row = get(session, site_id, version)
    if row is None:
        row = SiteModel(site_id=site_id, version=version, card=card, state=state.value, verdict=verdict)
        session.add(row)
    else:
        row.state, row.verdict = state.value, verdict if verdict is not None else row.verdict
    session.flush()
    return row


def activate(session: Session, site_id: int, version: str, *, actor: str) -> str | None:
    """Makes `version` the site's active model (the previous one is retired, kept for rollback);
    returns the previous version. Workers follow within seconds."""
    row = get(session, site_id, version)
    if row is None:
        raise LookupError(f"site model version {version} is not recorded for this site")
    previous = active_version(session, site_id)
    session.execute(
        update(SiteModel)
        .where(SiteModel.site_id == site_id, SiteModel.state == SiteModelState.ACTIVE.value)
        .values(state=SiteModelState.RETIRED.value)
    )
    session.flush()
    row.state = SiteModelState.ACTIVE.value
    row.activated_at = utcnow()
    session.add(
        AuditEvent(
            actor=actor,
            event="site_model.activated",
            site_id=site_id,
            data={"version": version, "previous": previous},
        )
    )
    return previous


def set_shadow(session: Session, site_id: int, version: str | None, *, actor: str) -> None:
    """Runs `version` in shadow for the site (None: no shadow); at most one shadow per site."""
    session.execute(
        update(SiteModel)
        .where(SiteModel.site_id == site_id, SiteModel.state == SiteModelState.SHADOW.value)
        .values(state=SiteModelState.CANDIDATE.value)
    )
    if version is not None:
        row = get(session, site_id, version)
        if row is None:
            raise LookupError(f"site model version {version} is not recorded for this site")
        row.state = SiteModelState.SHADOW.value
    session.add(
        AuditEvent(actor=actor, event="site_model.shadow", site_id=site_id, data={"version": version})
    )


def previous_version(session: Session, site_id: int) -> str | None:
    """The version that was active before the current one."""
    current = active_version(session, site_id)
    events = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.event == "site_model.activated", AuditEvent.site_id == site_id)
        .order_by(AuditEvent.id.desc())
    )
    for event in events:
        previous = (event.data or {}).get("previous")
        if event.data.get("version") == current and previous and previous != current:
            return str(previous)
    return None


def history(session: Session, site_id: int | None = None) -> list[SiteModel]:
    query = select(SiteModel).order_by(SiteModel.site_id, SiteModel.created_at, SiteModel.id)
    if site_id is not None:
        query = query.where(SiteModel.site_id == site_id)
    return list(session.scalars(query))
