"""Settings for administrators: sites and their API keys, per-site policy with a what-if preview."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from moderation.domain.attributes import NAMES
from moderation.domain.policy import SitePolicy
from moderation.store.accounts import create_site
from moderation.store.db import transaction
from moderation.store.decisions import user_actor
from moderation.store.keys import hash_key, new_secret_key
from moderation.store.priority import refresh_held_priorities
from moderation.store.tables import AuditEvent, Site
from moderation.web.context import get_resources
from moderation.web.dashboard import whatif
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


@bp.route("/sites/<int:site_id>", methods=["GET", "POST"])
def site(site_id: int) -> Any:
    resources = get_resources()
    with resources.sessions() as db:
        row = db.get(Site, site_id) or abort(404)
        current = SitePolicy.from_dict(row.policy)
    policy, preview, error = current, None, None
    webhook = row.webhook_url or ""
    if request.method == "POST":
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
    return render_template(
        "site.html",
        site=row,
        policy=policy,
        attributes=NAMES,
        preview=preview,
        error=error,
        webhook_url=webhook,
    ), (422 if error else 200)
