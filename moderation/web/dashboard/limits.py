"""The limits section of a site's settings page (`_site_limits.html`): the site's own sliding-minute
budgets and `?wait` slots over the service's defaults. Admins only, like every settings page; a change
is audited as `site.limits_changed` (`moderation.store.site_limits.save_limits`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, url_for
from flask import request as http_request
from flask_babel import gettext as _
from flask_babel import lazy_gettext

from moderation.domain.limits import MAX_LIMIT, NAMES, SiteLimits, stored_limits
from moderation.store.db import transaction
from moderation.store.decisions import user_actor
from moderation.store.site_limits import default_limits, save_limits
from moderation.store.tables import Site
from moderation.web.context import get_resources
from moderation.web.dashboard import settings
from moderation.web.dashboard.auth import admin_required, signed_in_user

bp = Blueprint("site_limits", __name__, url_prefix="/settings/sites")

LABELS = {
    "site_per_minute": lazy_gettext("Comments a minute through the site's secret key"),
    "browser_per_minute": lazy_gettext("Comments a minute through the publishable key (browsers)"),
    "author_per_minute": lazy_gettext("Comments a minute from one author"),
    "address_per_minute": lazy_gettext("Comments a minute from one client address"),
    "perspective_per_minute": lazy_gettext("Calls to Perspective a minute"),
    "wait_concurrent": lazy_gettext("Requests waiting for their decision at once, per API process"),
    "wait_concurrent_per_site": lazy_gettext(
        "Requests of this site waiting for their decision at once, per API process"
    ),
}
_WHOLE = re.compile(r"\d{1,10}")


@bp.before_request
@admin_required
def _admins_only() -> None:
    """Like every settings view: for admins only."""


@dataclass(frozen=True)
class LimitsSection:
    """What the section shows: each field as stored or as typed (when refused), and each default."""

    values: Mapping[str, str]
    defaults: Mapping[str, int | None]
    errors: Mapping[str, str] = field(default_factory=dict)

    @property
    def fields(self) -> list[tuple[str, Any]]:
        return [(name, LABELS[name]) for name in NAMES]


def section(site: Site) -> LimitsSection:
    """The section's data for the site settings page (a Jinja global, see `_context`)."""
    defaults = default_limits(get_resources().config)
    typed = g.get("limits_typed")
    if typed is None:
        own = stored_limits(site.limits).to_dict()
        typed = {name: str(own[name]) if name in own else "" for name in NAMES}
    return LimitsSection(
        values=typed,
        defaults={name: getattr(defaults, name) for name in NAMES},
        errors=g.get("limits_errors") or {},
    )


@bp.app_context_processor
def _context() -> dict[str, Any]:
    return {"limits_section": section}


def _from_form() -> tuple[dict[str, str], SiteLimits | None, dict[str, str]]:
    typed = {name: (http_request.form.get(name) or "").strip()[:20] for name in NAMES}
    values: dict[str, int | None] = {}
    errors: dict[str, str] = {}
    for name, text in typed.items():
        if not text:
            values[name] = None
        elif _WHOLE.fullmatch(text) and int(text) <= MAX_LIMIT:
            values[name] = int(text)
        else:
            errors[name] = _(
                "“%(field)s” must be a whole number from 0 to %(max)s (0: no limit; empty: the default).",
                field=LABELS[name],
                max="1.000.000.000",
            )
    if errors:
        return typed, None, errors
    return typed, SiteLimits(**values), {}


@bp.post("/<int:site_id>/limits")
def save(site_id: int) -> Any:
    """The site's own limits (an empty field: the service's default)."""
    typed, limits, errors = _from_form()
    with get_resources().sessions() as db:
        if db.get(Site, site_id) is None:
            abort(404)
    if limits is None:
        g.limits_typed, g.limits_errors = typed, errors
        page, _status = settings._render_site(site_id)
        return page, 422
    with transaction(get_resources().sessions) as db:
        site = db.get(Site, site_id) or abort(404)
        save_limits(db, site, limits, actor=user_actor(signed_in_user(db)))
    flash(_("Limits saved."), "success")
    return redirect(url_for("settings.site", site_id=site_id, _anchor="limits"))
