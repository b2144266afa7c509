"""`moderation authors export|erase`, `moderation retention run` and `moderation sites update
--retention-days`: the privacy commands (the rules are in `moderation.store.authors`)."""

from __future__ import annotations

import json

import click

from moderation.cli.common import open_resources
from moderation.resources import Resources
from moderation.store import privacy
from moderation.store.authors import MAX_RETENTION_DAYS
from moderation.store.db import transaction
from moderation.store.tables import AuditEvent, Site


def _site(resources: Resources, name: str) -> Site:
    with resources.sessions() as session:
        site = privacy.find_site(session, name)
    if site is None:
        raise click.ClickException(f"no site named {name!r}")
    return site


def _caches(resources: Resources) -> privacy.Caches:
    return privacy.Caches(resources.redis, resources.config.embeddings_dir)


@click.group()
def authors() -> None:
    """A site's comment authors: export or erase their personal data."""


@authors.command("export")
@click.argument("site")
@click.argument("author_id")
def authors_export(site: str, author_id: str) -> None:
    """Everything stored about AUTHOR_ID on SITE, as JSON on stdout."""
    resources = open_resources()
    exported = privacy.export_author(resources.sessions, _site(resources, site), author_id)
    if exported is None:
        raise click.ClickException(f"nothing is stored about author {author_id!r} on site {site!r}")
    click.echo(json.dumps(exported, ensure_ascii=False, indent=2))


@authors.command("erase")
@click.argument("site")
@click.argument("author_id")
def authors_erase(site: str, author_id: str) -> None:
    """Remove AUTHOR_ID's texts and identity from SITE: comments, search, training labels."""
    resources = open_resources()
    row = _site(resources, site)
    erasure = privacy.erase_author(
        resources.sessions,
        row,
        author_id,
        actor="cli",
        fallback_key=resources.config.secret_key,
        caches=_caches(resources),
    )
    if erasure is None:
        raise click.ClickException(
            f"nothing is stored about author {author_id!r} on site {site!r} (and no erasure is on record)"
        )
    if erasure.already_erased_at is not None:
        click.echo(f"author {author_id!r} of {site} was already erased at {erasure.already_erased_at}")
        return
    counts = erasure.removal.counts()
    click.echo(
        f"erased author {author_id!r} of {site}: {counts['comments_anonymised']} decided comments "
        f"anonymised, {counts['comments_deleted']} pending or held comments deleted, "
        f"{counts['labels_deleted']} training labels deleted"
    )


@click.group()
def retention() -> None:
    """Deleting personal data of old comments (per site: `sites update NAME --retention-days N`)."""


@retention.command("run")
@click.argument("site", required=False)
def retention_run(site: str | None) -> None:
    """Apply the retention period of SITE (default: of every site that has one) now."""
    resources = open_resources()
    if site is not None and _site(resources, site).retention_days is None:
        click.echo(
            f"{site} has no retention period: its comments are kept (set one with "
            f"`moderation sites update {site} --retention-days N`)"
        )
        return
    runs = privacy.run_retention(resources.sessions, _caches(resources), site_name=site, actor="cli")
    if not runs:
        click.echo("no site has a retention period")
    for run in runs:
        click.echo(run.line())


def _days(value: str) -> int | None:
    if value.strip().lower() in ("off", "none", "never"):
        return None
    try:
        days = int(value)
    except ValueError as exc:
        raise click.BadParameter("a whole number of days, or 'off'") from exc
    if not 1 <= days <= MAX_RETENTION_DAYS:
        raise click.BadParameter(f"between 1 and {MAX_RETENTION_DAYS} days, or 'off'")
    return days


@click.command("update")
@click.argument("name")
@click.option(
    "--retention-days",
    "retention_days",
    default=None,
    metavar="N|off",
    help="Delete personal data of this site's comments after N days (off: keep them).",
)
def sites_update(name: str, retention_days: str | None) -> None:
    """Change a site's settings (without options: show them)."""
    resources = open_resources()
    site = _site(resources, name)
    if retention_days is not None:
        days = _days(retention_days)
        with transaction(resources.sessions) as session:
            row = session.get(Site, site.id)
            assert row is not None
            previous = row.retention_days
            row.retention_days = days
            session.add(
                AuditEvent(
                    actor="cli",
                    event="site.retention_changed",
                    site_id=site.id,
                    data={"retention_days": days, "previous": previous},
                )
            )
        site.retention_days = days
    shown = "off (comments are kept)" if site.retention_days is None else f"{site.retention_days} days"
    click.echo(f"site:            {name}")
    click.echo(f"retention:       {shown}")
