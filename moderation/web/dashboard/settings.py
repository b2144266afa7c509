"""Settings for administrators: sites and their API keys, per-site policy with a what-if preview."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from moderation.domain.attributes import BY_NAME, NAMES
from moderation.domain.enums import LabelSource
from moderation.domain.learning import LearningSettings
from moderation.domain.policy import OPTIONAL_LANGUAGES, SitePolicy
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
from moderation.web.dashboard.wording import attribute_label

bp = Blueprint("settings", __name__, url_prefix="/settings")

MAX_WORDS = 2000


@bp.before_request
@admin_required
def _admins_only() -> None:
    """Every settings view is for admins; checked once here so no view can miss it."""


def _words(raw: str) -> list[str]:
    words = [line.strip() for line in raw.replace(",", "\n").splitlines()]
    return list(dict.fromkeys(w for w in words if w))[:MAX_WORDS]


def _threshold_text(value: float | None) -> str:
    return "" if value is None else str(format_decimal(value, "0.0##"))


@dataclass(frozen=True)
class PolicyForm:
    """The policy form as typed (kept when refused, field name -> text), and the fields that were wrong
    (field name -> what is wrong, naming the field by its label; "" for the form as a whole)."""

    values: Mapping[str, str]
    links: bool
    errors: Mapping[str, str] = field(default_factory=dict)
    # Of OPTIONAL_LANGUAGES, those ticked: decided by their scores (`SitePolicy.score_languages`).
    languages: tuple[str, ...] = ()

    @classmethod
    def of(cls, policy: SitePolicy) -> PolicyForm:
        values = {
            f"{attribute}_{band}": _threshold_text(policy.thresholds.get(attribute, {}).get(band))
            for attribute in NAMES
            for band in ("hold", "reject")
        }
        values.update(
            banned_words="\n".join(policy.banned_words),
            suspect_words="\n".join(policy.suspect_words),
            hold_copies_from_authors=str(policy.hold_copies_from_authors),
        )
        return cls(values, policy.hold_links_from_new_authors, languages=policy.score_languages)


def band_label(attribute: str, band: str) -> str:
    """The label of a threshold field, as the form and its error messages name it."""
    name = attribute_label(attribute)
    if band == "hold":
        return _("%(attribute)s: hold from", attribute=name)
    return _("%(attribute)s: reject from", attribute=name)


def _typed_policy(form: MultiDict[str, str], current: SitePolicy) -> PolicyForm:
    values = {
        f"{attribute}_{band}": (form.get(f"{attribute}_{band}") or "").strip()[:20]
        for attribute in NAMES
        for band in ("hold", "reject")
    }
    copies = form.get("hold_copies_from_authors")
    values.update(
        banned_words=(form.get("banned_words") or "")[:100_000],
        suspect_words=(form.get("suspect_words") or "")[:100_000],
        hold_copies_from_authors=(
            str(current.hold_copies_from_authors) if copies is None else copies.strip()[:20]
        ),
    )
    languages = tuple(lang for lang in OPTIONAL_LANGUAGES if form.get(f"score_language_{lang}") == "on")
    return PolicyForm(values, form.get("hold_links_from_new_authors") == "on", languages=languages)


def _threshold_error(attribute: str, band: str, raw: str) -> tuple[float | None, str | None]:
    """The threshold typed into one field (comma or point), or what is wrong with it."""
    if not raw:
        return None, None
    try:
        value = float(raw.replace(",", "."))
    except ValueError:
        value = -1.0
    label = band_label(attribute, band)
    if not 0.0 <= value <= 1.0:
        return None, _(
            "“%(field)s” must be a number from 0 to 1, for example %(example)s (empty: off).",
            field=label,
            example=format_decimal(0.85),
        )
    if band == "reject" and not BY_NAME[attribute].can_reject:
        return None, _(
            "“%(field)s”: this score can only hold comments, not reject them; leave it empty.", field=label
        )
    return value, None


def _policy_from_form(form: MultiDict[str, str], current: SitePolicy) -> tuple[PolicyForm, SitePolicy | None]:
    """The policy from the form; on a mistake no policy, and the typed form with a message for every
    wrong field. (The webhook URL has its own form: `moderation.web.dashboard.webhooks`.)"""
    typed = _typed_policy(form, current)
    errors: dict[str, str] = {}
    thresholds: dict[str, dict[str, float | None]] = {}
    for attribute in NAMES:
        bands: dict[str, float | None] = {}
        for band in ("hold", "reject"):
            name = f"{attribute}_{band}"
            bands[band], error = _threshold_error(attribute, band, typed.values[name])
            if error is not None:
                errors[name] = error
        hold, reject = bands["hold"], bands["reject"]
        if hold is not None and reject is not None and reject < hold:
            errors[f"{attribute}_reject"] = _(
                "“%(field)s” must not be below “%(other)s”.",
                field=band_label(attribute, "reject"),
                other=band_label(attribute, "hold"),
            )
        thresholds[attribute] = bands
    copies = typed.values["hold_copies_from_authors"] or "0"
    if not re.fullmatch(r"\d{1,6}", copies):
        errors["hold_copies_from_authors"] = _(
            "The number of other authors must be a whole number (0 switches it off)."
        )
    if errors:
        return replace(typed, errors=errors), None
    merged = current.to_dict()
    merged.update(
        thresholds=thresholds,
        banned_words=_words(typed.values["banned_words"]),
        suspect_words=_words(typed.values["suspect_words"]),
        hold_links_from_new_authors=typed.links,
        hold_copies_from_authors=int(copies),
        score_languages=list(typed.languages),
    )
    try:
        policy = SitePolicy.from_dict(merged)
    except ValueError:
        return replace(typed, errors={"": _("These settings cannot be saved.")}), None
    return typed, policy


def _render_sites(new_key: tuple[str, str, str] | None = None, *, name: str = "", error: str = "") -> Any:
    """The sites page; a refused new site keeps the typed name, marked, and the answer is 422."""
    with get_resources().sessions() as db:
        sites = list(db.query(Site).order_by(Site.name))
    page = render_template("settings.html", sites=sites, new_key=new_key, new_name=name, name_error=error)
    return page, (422 if error else 200)


@bp.get("")
def index() -> Any:
    return _render_sites()


@bp.post("/sites")
def create() -> Any:
    typed = (request.form.get("name") or "")[:200]
    name = typed.strip()
    if not name:
        return _render_sites(name=typed, error=_("Give the site a name."))
    try:
        with transaction(get_resources().sessions) as db:
            new = create_site(db, name, actor=user_actor(signed_in_user(db)))
    except ValueError:
        return _render_sites(name=typed, error=_("A site with this name exists already."))
    # Rendered, not redirected: the secret key is shown this once and never stored in clear.
    return _render_sites((new.site.name, new.secret_key, new.publishable_key))


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
    return _render_sites((name, secret, publishable))


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
    policy: PolicyForm | None = None,
    preview: Any = None,
    learning: LearningForm | None = None,
    retention: RetentionForm | None = None,
) -> Any:
    """The site's settings page; a form that was refused keeps what was typed, and the answer is 422."""
    with get_resources().sessions() as db:
        row = db.get(Site, site_id) or abort(404)
        labels = _label_counts(db, site_id)
        verdict = model_versions.latest_verdicts(db, site_id).get(site_id)
        active_model = site_models.active_version(db, site_id)
        learning = learning or LearningForm.of(_learning_settings(row))
        policy = policy or PolicyForm.of(SitePolicy.from_dict(row.policy))
        retention = retention or RetentionForm.of(row.retention_days)
    failed = bool(policy.errors or learning.errors or retention.errors)
    return render_template(
        "site.html",
        site=row,
        form=policy,
        attributes=NAMES,
        band_label=band_label,
        optional_languages=OPTIONAL_LANGUAGES,
        preview=preview,
        learning=learning,
        retention=retention,
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
    typed, policy = _policy_from_form(request.form, current)
    if policy is None:
        return _render_site(site_id, policy=typed)
    if request.form.get("intent") == "save":
        with transaction(resources.sessions) as db:
            stored = db.get(Site, site_id) or abort(404)
            previous = SitePolicy.from_dict(stored.policy).to_dict()
            stored.policy = policy.to_dict()
            refresh_held_priorities(db, site_id, policy.thresholds)
            db.add(
                AuditEvent(
                    actor=user_actor(signed_in_user(db)),
                    event="site.policy_changed",
                    site_id=site_id,
                    data={"policy": policy.to_dict(), "previous": previous},
                )
            )
        flash(_("Settings saved."), "success")
        return redirect(url_for("settings.site", site_id=site_id))
    with resources.sessions() as db:
        preview = whatif.preview(db, site_id, policy)
    return _render_site(site_id, policy=typed, preview=preview)


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


@dataclass(frozen=True)
class RetentionForm:
    """The retention form as typed (kept when refused) and what is wrong with it."""

    days: str
    errors: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, days: int | None) -> RetentionForm:
        return cls("" if days is None else str(days))


@bp.post("/sites/<int:site_id>/retention")
def retention(site_id: int) -> Any:
    """How long the site's comments keep their personal data (`Site.retention_days`; empty: kept),
    applied by the retention job; audited as `site.retention_changed`."""
    raw = (request.form.get("retention_days") or "").strip()[:20]
    days: int | None = None
    if raw:
        days = int(raw) if raw.isdigit() and len(raw) <= 6 else 0
        if not 1 <= days <= MAX_RETENTION_DAYS:
            error = _(
                "The retention period must be a whole number of days from 1 to %(max)d, or empty.",
                max=MAX_RETENTION_DAYS,
            )
            return _render_site(site_id, retention=RetentionForm(raw, {"retention_days": error}))
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
