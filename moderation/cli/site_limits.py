"""`moderation sites limits NAME`: a site's own rate limits and `?wait` slots."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import select

from moderation.cli.common import open_resources
from moderation.domain.errors import PolicyError
from moderation.domain.limits import MAX_LIMIT, NAMES, SiteLimits, stored_limits
from moderation.store.db import transaction
from moderation.store.site_limits import default_limits, save_limits
from moderation.store.tables import Site

_HELP = {
    "site_per_minute": "Comments a minute through the site's secret key.",
    "browser_per_minute": "Comments a minute through its publishable key (browsers).",
    "author_per_minute": "Comments a minute from one author.",
    "address_per_minute": "Comments a minute from one client address.",
    "perspective_per_minute": "Calls a minute to Perspective for this site.",
    "wait_concurrent": "Requests one API process holds with ?wait at once, while this site's waits.",
    "wait_concurrent_per_site": "Requests of this site one API process holds with ?wait at once.",
}


def _options(command: Any) -> Any:
    for name in reversed(NAMES):
        command = click.option(
            "--" + name.replace("_", "-"),
            name,
            type=click.IntRange(0, MAX_LIMIT),
            default=None,
            help=_HELP[name] + " 0: no limit.",
        )(command)
    return command


@click.command("limits")
@click.argument("name")
@click.option("--reset", is_flag=True, help="Forget the site's own values: the defaults apply again.")
@_options
def sites_limits(name: str, reset: bool, **values: int | None) -> None:
    """Show or set a site's own limits (each unset one follows the MODERATION_* default)."""
    given = {key: value for key, value in values.items() if value is not None}
    if reset and given:
        raise click.UsageError("--reset takes no other limit")
    resources = open_resources()
    with transaction(resources.sessions) as session:
        site = session.scalars(select(Site).where(Site.name == name)).first()
        if site is None:
            raise click.ClickException(f"no site named {name!r}")
        own = stored_limits(site.limits)
        if reset or given:
            try:
                own = SiteLimits() if reset else own.changed(**given)
            except PolicyError as exc:
                raise click.ClickException(str(exc)) from exc
            save_limits(session, site, own, actor="cli")
    defaults = default_limits(resources.config)
    for key in NAMES:
        value = getattr(own, key)
        shown = getattr(defaults, key) if value is None else value
        origin = "default" if value is None else "site"
        text = "none set" if shown is None else ("no limit" if shown == 0 else str(shown))
        click.echo(f"{key.replace('_', '-'):26} {text} ({origin})")
