"""The webhook section of a site's settings page (`_site_webhooks.html`): the endpoint's address, its
signing secret (shown once, after it is made or rotated), switching it off and on, a test event and the
delivery log. Admins only; every change is audited."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from moderation.domain import webhooks as spec
from moderation.domain.timestamps import as_utc, utcnow
from moderation.store import webhooks
from moderation.store.db import transaction
from moderation.store.decisions import user_actor
from moderation.store.tables import Site
from moderation.web.context import get_resources
from moderation.web.dashboard.auth import admin_required, signed_in_user
from moderation.web.dashboard.settings import _render_site

bp = Blueprint("webhooks", __name__, url_prefix="/settings/sites/<int:site_id>/webhook")

STATES = {
    webhooks.State.PENDING.value: lazy_gettext("waiting"),
    webhooks.State.DELIVERED.value: lazy_gettext("delivered"),
    webhooks.State.FAILED.value: lazy_gettext("given up"),
    webhooks.State.DISABLED.value: lazy_gettext("not sent (endpoint off)"),
}
REASONS = {
    webhooks.DISABLED_BY_GONE: lazy_gettext("the receiver answered 410 Gone"),
    webhooks.DISABLED_BY_FAILURES: lazy_gettext("every delivery failed for 24 hours"),
    webhooks.DISABLED_BY_ADMIN: lazy_gettext("switched off by an admin"),
}


@bp.before_request
@admin_required
def _admins_only() -> None:
    """Every webhook view is for admins; checked once here so no view can miss it."""


def _url_error(exc: spec.WebhookUrlError) -> str:
    if exc.code == "private":
        return _("The webhook URL must not point to this machine or a private network.")
    if exc.code == "credentials":
        return _("The webhook URL must not contain a user name or password.")
    if exc.code == "too_long":
        return _("The webhook URL must not be longer than 2000 characters.")
    return _("The webhook URL must start with https:// (or http://).")


@dataclass(frozen=True)
class Section:
    """What `_site_webhooks.html` shows of one site."""

    url: str
    configured: bool
    active: bool
    disabled_at: datetime | None
    disabled_reason: str
    failures: int
    previous_until: datetime | None
    secret: str | None = None
    error: str | None = None
    deliveries: list[webhooks.LoggedDelivery] = field(default_factory=list)


def section(site: Site) -> Section:
    """The Jinja global the partial calls: the site's endpoint and its log, read now, plus what this
    request typed (a refused address) or made (a secret to show once)."""
    with get_resources().sessions() as db:
        row = db.get(Site, site.id)
        if row is None:
            abort(404)
        deliveries = webhooks.recent(db, site.id)
        db.expunge_all()
    previous_until = as_utc(row.webhook_secret_previous_until)
    return Section(
        url=g.get("webhook_typed", row.webhook_url or ""),
        configured=bool(row.webhook_url),
        active=webhooks.is_active(row),
        disabled_at=as_utc(row.webhook_disabled_at),
        disabled_reason=str(
            REASONS.get(row.webhook_disabled_reason or "", row.webhook_disabled_reason or "")
        ),
        failures=row.webhook_failures or 0,
        previous_until=previous_until if previous_until and previous_until > utcnow() else None,
        secret=g.get("webhook_secret"),
        error=g.get("webhook_error"),
        deliveries=deliveries,
    )


@bp.app_context_processor
def _globals() -> dict[str, Any]:
    return {"webhook_section": section, "webhook_state": lambda s: str(STATES.get(s, s))}


def _page(site_id: int, status: int = 200) -> Any:
    page, _status = _render_site(site_id)
    return page, status


def _back(site_id: int) -> Any:
    return redirect(url_for("settings.site", site_id=site_id, _anchor="webhooks"))


@bp.post("")
def set_url(site_id: int) -> Any:
    """Sets or (empty) removes the endpoint; a first address gets a new secret, shown on this page once."""
    typed = (request.form.get("webhook_url") or "").strip()[:2100]
    url = None
    if typed:
        try:
            url = spec.check_url(typed, allow_private=get_resources().config.webhook_allow_private)
        except spec.WebhookUrlError as exc:
            g.webhook_typed, g.webhook_error = typed, _url_error(exc)
            with get_resources().sessions() as db:
                db.get(Site, site_id) or abort(404)
            return _page(site_id, 422)
    with transaction(get_resources().sessions) as db:
        site = db.get(Site, site_id) or abort(404)
        if url == site.webhook_url and (url is None or site.webhook_secret):
            secret = None
        else:
            secret = webhooks.set_url(db, site, url, actor=user_actor(signed_in_user(db)))
    if secret is None:
        flash(_("Webhook URL saved.") if url else _("Webhook removed."), "success")
        return _back(site_id)
    g.webhook_secret = secret
    return _page(site_id)


@bp.post("/rotate")
def rotate(site_id: int) -> Any:
    """A new signing secret (shown once); the old one signs too for another 24 hours."""
    with transaction(get_resources().sessions) as db:
        site = db.get(Site, site_id) or abort(404)
        g.webhook_secret = webhooks.rotate_secret(db, site, actor=user_actor(signed_in_user(db)))
    return _page(site_id)


@bp.post("/enable")
def enable(site_id: int) -> Any:
    with transaction(get_resources().sessions) as db:
        site = db.get(Site, site_id) or abort(404)
        webhooks.enable(db, site, actor=user_actor(signed_in_user(db)))
    flash(_("Webhook switched on: decisions from now on are sent."), "success")
    return _back(site_id)


@bp.post("/disable")
def disable(site_id: int) -> Any:
    with transaction(get_resources().sessions) as db:
        site = db.get(Site, site_id) or abort(404)
        if site.webhook_disabled_at is None:
            webhooks.disable(db, site, webhooks.DISABLED_BY_ADMIN, actor=user_actor(signed_in_user(db)))
    flash(_("Webhook switched off: nothing is sent until it is switched on again."), "success")
    return _back(site_id)


@bp.post("/test")
def test(site_id: int) -> Any:
    """Sends a `webhook.test` event through the same delivery path as decisions."""
    with transaction(get_resources().sessions) as db:
        site = db.get(Site, site_id) or abort(404)
        if not webhooks.is_active(site):
            flash(_("The webhook has no URL or is switched off: no test event was sent."), "error")
            return _back(site_id)
        webhooks.record_test_event(db, site, actor=user_actor(signed_in_user(db)))
    flash(_("Test event queued: it appears in the delivery log below."), "success")
    return _back(site_id)
