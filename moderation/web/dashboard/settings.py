"""Settings for administrators: sites and their API keys, per-site policy with a what-if preview."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlparse

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from moderation.domain.attributes import NAMES
from moderation.domain.enums import LabelSource
from moderation.domain.learning import LearningSettings
from moderation.domain.policy import SitePolicy
from moderation.store import site_models
from moderation.store.accounts import create_site
from moderation.store.authors import MAX_RETENTION_DAYS
from moderation.store.db import transaction
from moderation.store.decisions import user_actor
from moderation.store.keys import hash_key, new_secret_key
from moderation.store.priority import refresh_held_priorities
from moderation.store.tables import AuditEvent, Site, SiteLabel
from moderation.web.context import get_resources
from moderation.web.dashboard import model_versions, whatif
from moderation.web.dashboard.auth import admin_required, signed_in_user

bp = Blueprint("settings", __name__, url_prefix="/settings")

MAX_WORDS = 2000


@bp.before_request
@admin_required
def _admins_only() -> None:
    """Every settings view is for admins; checked once here so no view can miss it."""


def _words(raw: str) -> list[str]:
    words = [line.strip() for line in raw.replace(",", "\n").splitlines()]
    return list(dict.fromkeys(w for w in words if w))[:MAX_WORDS]


def _policy_from_form(form: MultiDict[str, str], current: SitePolicy) -> SitePolicy:
    """Raises ValueError with a message a person can act on."""
    thresholds: dict[str, dict[str, float | None]] = {}
    for attribute in NAMES:
        bands: dict[str, float | None] = {}
        for band in ("hold", "reject"):
            raw = (form.get(f"{attribute}_{band}") or "").strip().replace(",", ".")
            try:
                bands[band] = float(raw) if raw else None
            except ValueError as exc:
                raise ValueError(
                    _("%(field)s must be a number between 0 and 1", field=f"{attribute} {band}")
                ) from exc
        hold, reject = bands["hold"], bands["reject"]
        if hold is not None and reject is not None and reject < hold:
            raise ValueError(
                _("%(attribute)s: the reject threshold is below the hold threshold", attribute=attribute)
            )
        thresholds[attribute] = bands
    merged = current.to_dict()
    merged.update(
        thresholds=thresholds,
        banned_words=_words(form.get("banned_words", "")),
        suspect_words=_words(form.get("suspect_words", "")),
        hold_links_from_new_authors=form.get("hold_links_from_new_authors") == "on",
        hold_copies_from_authors=_whole_number(
            form.get("hold_copies_from_authors"), current.hold_copies_from_authors
        ),
    )
    return SitePolicy.from_dict(merged)


def _whole_number(raw: str | None, unchanged: int) -> int:
    if raw is None:
        return unchanged
    try:
        value = int(raw.strip() or "0")
    except ValueError as exc:
        raise ValueError(
            _("The number of other authors must be a whole number (0 switches it off).")
        ) from exc
    if value < 0:
        raise ValueError(_("The number of other authors must be a whole number (0 switches it off)."))
    return value


def _webhook_url(raw: str) -> str | None:
    raw = raw.strip()
    if not raw:
        return None
    parsed = urlparse(raw)
    if parsed.scheme not in ("https", "http") or not parsed.netloc:
        raise ValueError(_("The webhook URL must start with https:// (or http://)."))
    return raw[:2000]


@bp.get("")
def index() -> Any:
    with get_resources().sessions() as db:
        sites = list(db.query(Site).order_by(Site.name))
    return render_template("settings.html", sites=sites, new_key=None)


@bp.post("/sites")
def create() -> Any:
    name = (request.form.get("name") or "").strip()[:200]
    if not name:
        flash(_("Give the site a name."), "error")
        return redirect(url_for("settings.index"))
    try:
        with transaction(get_resources().sessions) as db:
            new = create_site(db, name, actor=user_actor(signed_in_user(db)))
    except ValueError:
        flash(_("A site with this name exists already."), "error")
        return redirect(url_for("settings.index"))
    with get_resources().sessions() as db:
        sites = list(db.query(Site).order_by(Site.name))
    # Rendered, not redirected: the secret key is shown this once and never stored in clear.
    return render_template(
        "settings.html", sites=sites, new_key=(new.site.name, new.secret_key, new.publishable_key)
    )


@bp.post("/sites/<int:site_id>/rotate")
def rotate(site_id: int) -> Any:
    secret = new_secret_key()
    with transaction(get_resources().sessions) as db:
        site = db.get(Site, site_id) or abort(404)
        site.api_key_hash, site.api_key_prefix = hash_key(secret), secret[:12]
        db.add(
            AuditEvent(
                actor=user_actor(signed_in_user(db)),
                event="site.key_rotated",
                site_id=site.id,
                data={"prefix": secret[:12]},
            )
        )
        name, publishable = site.name, site.publishable_key
    with get_resources().sessions() as db:
        sites = list(db.query(Site).order_by(Site.name))
    return render_template("settings.html", sites=sites, new_key=(name, secret, publishable))


@dataclass(frozen=True)
class LearningForm:
    """The learning form as typed (kept when refused), and the fields that were wrong."""

    every_hours: str
    after_labels: str
    shadow: bool
    errors: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, settings: LearningSettings) -> LearningForm:
        return cls(str(settings.every_hours), str(settings.after_labels), settings.shadow)


LEARNING_NUMBERS = ("every_hours", "after_labels")


def _learning_from_form(form: MultiDict[str, str]) -> tuple[LearningForm, LearningSettings | None]:
    typed = LearningForm(
        (form.get("every_hours") or "").strip()[:20],
        (form.get("after_labels") or "").strip()[:20],
        form.get("shadow") == "on",
    )
    raw: dict[str, Any] = {"shadow": typed.shadow}
    errors: dict[str, str] = {}
    for name in LEARNING_NUMBERS:
        text = getattr(typed, name)
        value: Any = int(text) if re.fullmatch(r"[+-]?\d{1,9}", text) else text
        try:
            LearningSettings.from_dict({name: value})  # one field at a time, to mark the wrong one
        except ValueError:
            errors[name] = _("Enter a whole number, 0 or more (0 switches it off).")
        raw[name] = value
    if errors:
        return replace(typed, errors=errors), None
    return typed, LearningSettings.from_dict(raw)


def _learning_settings(row: Site) -> LearningSettings:
    try:
        return LearningSettings.from_dict(row.learning)
    except ValueError:
        return LearningSettings()


def _label_counts(db: Session, site_id: int) -> dict[str, int]:
    counts = {source.value: 0 for source in LabelSource}
    rows = db.execute(
        select(SiteLabel.source, func.count()).where(SiteLabel.site_id == site_id).group_by(SiteLabel.source)
    )
    for source, count in rows:
        counts[str(source)] = int(count)
    return counts


def _render_site(
    site_id: int,
    *,
    policy: SitePolicy | None = None,
    preview: Any = None,
    error: str | None = None,
    webhook_url: str | None = None,
    learning: LearningForm | None = None,
) -> Any:
    with get_resources().sessions() as db:
        row = db.get(Site, site_id) or abort(404)
        labels = _label_counts(db, site_id)
        verdict = model_versions.latest_verdicts(db, site_id).get(site_id)
        active_model = site_models.active_version(db, site_id)
        learning = learning or LearningForm.of(_learning_settings(row))
    failed = error is not None or bool(learning.errors)
    return render_template(
        "site.html",
        site=row,
        policy=policy or SitePolicy.from_dict(row.policy),
        attributes=NAMES,
        preview=preview,
        error=error,
        webhook_url=(row.webhook_url or "") if webhook_url is None else webhook_url,
        learning=learning,
        labels=labels,
        verdict=verdict.data if verdict is not None and isinstance(verdict.data, dict) else None,
        verdict_at=verdict.created_at if verdict is not None else None,
        active_model=active_model,
    ), (422 if failed else 200)


@bp.route("/sites/<int:site_id>", methods=["GET", "POST"])
def site(site_id: int) -> Any:
    resources = get_resources()
    with resources.sessions() as db:
        row = db.get(Site, site_id) or abort(404)
        current = SitePolicy.from_dict(row.policy)
    if request.method == "GET":
        return _render_site(site_id)
    policy, preview, error = current, None, None
    webhook = request.form.get("webhook_url", "")
    try:
        policy = _policy_from_form(request.form, current)
        webhook_url = _webhook_url(webhook)
    except ValueError as exc:
        error = str(exc)
    else:
        if request.form.get("intent") == "save":
            with transaction(resources.sessions) as db:
                stored = db.get(Site, site_id) or abort(404)
                stored.policy = policy.to_dict()
                stored.webhook_url = webhook_url
                refresh_held_priorities(db, site_id, policy.thresholds)
                db.add(
                    AuditEvent(
                        actor=user_actor(signed_in_user(db)),
                        event="site.policy_changed",
                        site_id=site_id,
                        data={"policy": policy.to_dict(), "webhook_url": webhook_url},
                    )
                )
            flash(_("Settings saved."), "success")
            return redirect(url_for("settings.site", site_id=site_id))
        with resources.sessions() as db:
            preview = whatif.preview(db, site_id, policy)
    return _render_site(site_id, policy=policy, preview=preview, error=error, webhook_url=webhook)


@bp.post("/sites/<int:site_id>/learning")
def learning(site_id: int) -> Any:
    """When the site's own model is retrained (`Site.learning`), audited as `site.learning_changed`."""
    typed, settings = _learning_from_form(request.form)
    if settings is None:
        return _render_site(site_id, learning=typed)
    with transaction(get_resources().sessions) as db:
        stored = db.get(Site, site_id) or abort(404)
        previous = _learning_settings(stored).to_dict()
        stored.learning = settings.to_dict()
        db.add(
            AuditEvent(
                actor=user_actor(signed_in_user(db)),
                event="site.learning_changed",
                site_id=site_id,
                data={"learning": settings.to_dict(), "previous": previous},
            )
        )
    flash(_("Learning settings saved."), "success")
    return redirect(url_for("settings.site", site_id=site_id, _anchor="learning"))


@bp.post("/sites/<int:site_id>/retention")
def retention(site_id: int) -> Any:
    """How long the site's comments keep their personal data (`Site.retention_days`; empty: kept),
    applied by the retention job; audited as `site.retention_changed`."""
    raw = (request.form.get("retention_days") or "").strip()
    days: int | None = None
    if raw:
        days = int(raw) if raw.isdigit() and len(raw) <= 6 else 0
        if not 1 <= days <= MAX_RETENTION_DAYS:
            flash(
                _(
                    "The retention period must be a whole number of days from 1 to %(max)d, or empty.",
                    max=MAX_RETENTION_DAYS,
                ),
                "error",
            )
            return redirect(url_for("settings.site", site_id=site_id, _anchor="privacy"))
    with transaction(get_resources().sessions) as db:
        stored = db.get(Site, site_id) or abort(404)
        previous = stored.retention_days
        stored.retention_days = days
        db.add(
            AuditEvent(
                actor=user_actor(signed_in_user(db)),
                event="site.retention_changed",
                site_id=site_id,
                data={"retention_days": days, "previous": previous},
            )
        )
    flash(_("Retention period saved."), "success")
    return redirect(url_for("settings.site", site_id=site_id, _anchor="privacy"))
