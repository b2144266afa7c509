"""`moderation sites coral NAME`: the signing secret of a site's Coral Talk moderation phase."""

from __future__ import annotations

import sys
from urllib.parse import quote

import click

from moderation.cli.common import open_resources
from moderation.store import coral
from moderation.store.db import transaction


@click.command("coral")
@click.argument("name")
@click.option(
    "--from-stdin",
    is_flag=True,
    help="Store the signing secret Coral shows for the phase, read from standard input, "
    "instead of generating one.",
)
def sites_coral(name: str, from_stdin: bool) -> None:
    """Set the site's Coral signing secret: a new one, printed once (again: a new one replaces it).

    Coral checks each request with it; with --from-stdin the secret Coral generated for its external
    moderation phase is stored instead (not on the command line, where shell history would keep it).
    """
    pasted = sys.stdin.readline().strip() if from_stdin else None
    resources = open_resources()
    try:
        with transaction(resources.sessions) as session:
            site = coral.find_site(session, name)
            if site is None:
                raise click.ClickException(f"no site named {name!r}")
            secret = coral.set_secret(session, site.id, pasted, actor="cli")
    except coral.CoralSettingError as exc:
        raise click.ClickException(str(exc)) from exc
    url = f"http://127.0.0.1:{resources.config.port}/api/v1/coral/{quote(name, safe='')}"
    click.echo(f"site:            {name}")
    if pasted is None:
        click.echo(f"coral secret: {secret}   (shown once)")
    else:
        click.echo("coral secret:    stored (the one Coral shows for the phase)")
    click.echo(f"coral URL:       {url}   (with this server's public address)")
