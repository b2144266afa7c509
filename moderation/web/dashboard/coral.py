"""The Coral Talk section of a site's settings page (`_site_coral.html`): the URL to enter in Coral's
external moderation phase, the phase's signing secret (generated here and shown once, or pasted from
Coral) and the answer's time budget. Admins only, like every settings page."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, abort, flash, g, redirect, url_for
from flask import request as http_request
from flask_babel import gettext as _

from moderation.domain import coral as coral_rules
from moderation.store import coral
from moderation.store.db import transaction
from moderation.store.decisions import user_actor
from moderation.store.tables import Site
from moderation.web.context import get_resources
from moderation.web.dashboard import settings
from moderation.web.dashboard.auth import admin_required, signed_in_user

bp = Blueprint("site_coral", __name__, url_prefix="/settings/sites")


@bp.before_request
@admin_required
def _admins_only() -> None:
    """Like every settings view: for admins only."""


@dataclass(frozen=True)
class CoralSection:
    """What the section shows: `budget` as stored or as typed (when refused), `new_secret` only in the
    answer to the request that generated it."""

    url: str
    has_secret: bool
    budget: str
    default_budget_ms: int
    new_secret: str | None = None
    errors: Mapping[str, str] = field(default_factory=dict)


def section(site: Site) -> CoralSection:
    """The section's data for the site settings page (a Jinja global, see `_context`)."""
    typed = g.get("coral_typed")
    stored = "" if site.coral_budget_ms is None else str(site.coral_budget_ms)
    return CoralSection(
        url=url_for("coral_api.moderate", site_name=site.name, _external=True),
        has_secret=bool(site.coral_secret),
        budget=stored if typed is None else typed,
        default_budget_ms=get_resources().config.coral_budget_ms,
        new_secret=g.get("coral_new_secret"),
        errors=g.get("coral_errors") or {},
    )


@bp.app_context_processor
def _context() -> dict[str, Any]:
    return {"coral_section": section}


def _site_id_or_404(site_id: int) -> None:
    with get_resources().sessions() as db:
        if db.get(Site, site_id) is None:
            abort(404)


@bp.post("/<int:site_id>/coral/secret")
def secret(site_id: int) -> Any:
    """A new secret of ours (shown in this answer only), or the one Coral generated, pasted."""
    _site_id_or_404(site_id)
    pasted = (http_request.form.get("secret") or "").strip()[:500] or None
    try:
        with transaction(get_resources().sessions) as db:
            value = coral.set_secret(db, site_id, pasted, actor=user_actor(signed_in_user(db)))
    except coral.CoralSettingError:
        g.coral_errors = {
            "secret": _(
                "Coral's signing secret has %(low)d to %(high)d characters, without spaces.",
                low=coral.MIN_SECRET_CHARS,
                high=coral.MAX_SECRET_CHARS,
            )
        }
        page, _status = settings._render_site(site_id)
        return page, 422
    if pasted is not None:
        flash(_("Coral signing secret saved."), "success")
        return redirect(url_for("settings.site", site_id=site_id, _anchor="coral"))
    # Rendered, not redirected: the new secret is shown this once.
    g.coral_new_secret = value
    return settings._render_site(site_id)


_WHOLE = re.compile(r"\d{1,6}")


@bp.post("/<int:site_id>/coral/budget")
def budget(site_id: int) -> Any:
    """The site's own time budget in milliseconds (empty: the service's default)."""
    _site_id_or_404(site_id)
    typed = (http_request.form.get("coral_budget_ms") or "").strip()[:20]
    value = int(typed) if _WHOLE.fullmatch(typed) else None
    if typed and (value is None or not coral_rules.valid_budget(value)):
        g.coral_typed = typed
        g.coral_errors = {
            "coral_budget_ms": _(
                "The time budget must be a whole number of milliseconds from 0 to %(max)d, or empty.",
                max=coral_rules.MAX_BUDGET_MS,
            )
        }
        page, _status = settings._render_site(site_id)
        return page, 422
    with transaction(get_resources().sessions) as db:
        coral.set_budget(db, site_id, value, actor=user_actor(signed_in_user(db)))
    flash(_("Coral time budget saved."), "success")
    return redirect(url_for("settings.site", site_id=site_id, _anchor="coral"))
