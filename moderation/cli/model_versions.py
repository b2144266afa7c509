"""`moderation models ...`: look at the registry and choose the active version."""

from __future__ import annotations

import json

import click
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from classifiers.registry import Registry
from moderation.cli.common import open_resources
from moderation.domain.enums import SiteModelState
from moderation.store import model_versions, site_models
from moderation.store.db import transaction
from moderation.store.model_versions import register_and_activate
from moderation.store.tables import Site


def _setup() -> tuple[Registry, sessionmaker[Session]]:
    resources = open_resources()
    return resources.registry, resources.sessions


@click.group()
def models() -> None:
    """Model versions in the registry."""


_SITE = click.option("--site", default=None, help="A site's own models instead of the generic ones.")


def _site_id(sessions: sessionmaker[Session], name: str) -> int:
    with sessions() as session:
        site_id = session.scalar(select(Site.id).where(Site.name == name))
    if site_id is None:
        raise click.ClickException(f"no site named {name!r}")
    return int(site_id)


@models.command("list")
@_SITE
def list_models(site: str | None) -> None:
    """Every stored version, newest last; `*` marks the active one (with --site: state and verdict)."""
    registry, sessions = _setup()
    if site is not None:
        _list_site(sessions, _site_id(sessions, site))
        return
    with sessions() as session:
        active = model_versions.active_version(session)
    for version in registry.versions():
        metrics = registry.card(version).get("metrics", {})
        summary = ", ".join(f"{k}={v}" for k, v in list(_flat(metrics).items())[:3])
        click.echo(f"{'*' if version == active else ' '} {version}  {summary}")


def _list_site(sessions: sessionmaker[Session], site_id: int) -> None:
    with sessions() as session:
        rows = site_models.history(session, site_id)
        agreements = {a.version: a for a in site_models.agreement(session, site_id)}
    if not rows:
        click.echo("no site model yet: `moderation retrain --site NAME` trains one from the site's labels")
    for row in rows:
        verdict = row.verdict or {}
        metrics = verdict.get("metrics") or {}
        figures = (metrics.get("candidate") or {}).get("slice_auc")
        mark = "*" if row.state == SiteModelState.ACTIVE.value else " "
        details = "; ".join(
            str(r.get("detail", r)) if isinstance(r, dict) else str(r) for r in verdict.get("reasons") or []
        )
        click.echo(
            f"{mark} {row.version}  {row.state:<9}  labels={metrics.get('labels', '-')}  "
            f"slice_auc={figures if figures is not None else '-'}  "
            f"verdict: {verdict.get('verdict', '-')} {details}"
        )
        agreed = agreements.get(row.version)
        if agreed is not None and agreed.rate is not None:
            click.echo(
                f"    agreed with the moderators on {agreed.agreed} of {agreed.compared} comments since"
            )


def _flat(data: dict[str, object], prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        elif isinstance(value, (int, float)):
            out[f"{prefix}{key}"] = round(value, 4)
    return out


@models.command("show")
@click.argument("version", required=False)
def show(version: str | None) -> None:
    """Print a version's model card (default: the active one)."""
    registry, sessions = _setup()
    if version is None:
        with sessions() as session:
            version = model_versions.active_version(session)
    if version is None or version not in registry.versions():
        raise click.ClickException(f"no such model version: {version}")
    click.echo(json.dumps(registry.card(version), indent=2, ensure_ascii=False))


@models.command("promote")
@click.argument("version")
@_SITE
def promote(version: str, site: str | None) -> None:
    """Make VERSION the active model (with --site: the site's model); workers switch within seconds."""
    registry, sessions = _setup()
    if site is not None:
        site_id = _site_id(sessions, site)
        try:
            with transaction(sessions) as session:
                site_models.activate(session, site_id, version, actor="cli")
        except LookupError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"active model of {site}: {version}")
        return
    if version not in registry.versions():
        raise click.ClickException(f"no such model version: {version}")
    register_and_activate(sessions, registry, version, actor="cli")
    click.echo(f"active model: {version}")


@models.command("rollback")
@_SITE
def rollback(site: str | None) -> None:
    """Re-activate the version that was active before the current one (with --site: the site's)."""
    registry, sessions = _setup()
    if site is not None:
        site_id = _site_id(sessions, site)
        with sessions() as session:
            earlier = site_models.previous_version(session, site_id)
        if earlier is None:
            raise click.ClickException(f"{site} has no earlier active site model to roll back to")
        with transaction(sessions) as session:
            site_models.activate(session, site_id, earlier, actor="cli:rollback")
        click.echo(f"active model of {site}: {earlier}")
        return
    with sessions() as session:
        previous = model_versions.previous_version(session)
    if previous is None:
        raise click.ClickException("no earlier active version to roll back to")
    with transaction(sessions) as session:
        model_versions.activate(session, previous, actor="cli:rollback")
    click.echo(f"active model: {previous}")


@models.command("shadow")
@click.argument("version", required=False)
@click.option("--site", required=True, help="The site whose candidate runs in shadow.")
@click.option("--off", is_flag=True, help="Stop the site's shadow model.")
def shadow(version: str | None, site: str, off: bool) -> None:
    """Run a site's candidate VERSION in shadow: it scores new comments beside the active model without
    deciding, and `models list --site` shows how often each agreed with the moderators since."""
    if (version is None) != off:
        raise click.UsageError("give a VERSION, or --off")
    _, sessions = _setup()
    site_id = _site_id(sessions, site)
    try:
        with transaction(sessions) as session:
            site_models.set_shadow(session, site_id, None if off else version, actor="cli")
    except LookupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"shadow model of {site}: {version or 'none'}")
