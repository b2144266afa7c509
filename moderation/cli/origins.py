"""`moderation sites origins NAME`: the pages allowed to use a site's publishable key (`/embed.js`)."""

from __future__ import annotations

import click
from sqlalchemy import select

from moderation.cli.common import open_resources
from moderation.store.db import transaction
from moderation.store.origins import OriginError, change_origins
from moderation.store.tables import Site


@click.command("origins")
@click.argument("name")
@click.option(
    "--add", "add", multiple=True, metavar="ORIGIN", help="Allow this origin, e.g. https://www.example.org."
)
@click.option("--remove", "remove", multiple=True, metavar="ORIGIN", help="No longer allow this origin.")
def sites_origins(name: str, add: tuple[str, ...], remove: tuple[str, ...]) -> None:
    """Show or change the origins whose pages may use the site's publishable key (CORS)."""
    try:
        with transaction(open_resources().sessions) as session:
            site = session.scalars(select(Site).where(Site.name == name)).first()
            if site is None:
                raise click.ClickException(f"no site named {name!r}")
            origins = change_origins(session, site, add, remove, actor="cli")
    except OriginError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"site:            {name}")
    for origin in origins or ["(none: the publishable key works nowhere)"]:
        click.echo(f"allowed origin:  {origin}")
