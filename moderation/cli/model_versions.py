"""`moderation models ...`: look at the registry and choose the active version."""

from __future__ import annotations

import json

import click
from sqlalchemy.orm import Session, sessionmaker

from classifiers.registry import Registry
from moderation.cli.common import open_resources
from moderation.store import model_versions
from moderation.store.db import transaction
from moderation.store.model_versions import register_and_activate


def _setup() -> tuple[Registry, sessionmaker[Session]]:
    resources = open_resources()
    return resources.registry, resources.sessions


@click.group()
def models() -> None:
    """Model versions in the registry."""


@models.command("list")
def list_models() -> None:
    """Every stored version, newest last; `*` marks the active one."""
    registry, sessions = _setup()
    with sessions() as session:
        active = model_versions.active_version(session)
    for version in registry.versions():
        metrics = registry.card(version).get("metrics", {})
        summary = ", ".join(f"{k}={v}" for k, v in list(_flat(metrics).items())[:3])
        click.echo(f"{'*' if version == active else ' '} {version}  {summary}")


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
def promote(version: str) -> None:
    """Make VERSION the active model; workers switch within seconds."""
    registry, sessions = _setup()
    if version not in registry.versions():
        raise click.ClickException(f"no such model version: {version}")
    register_and_activate(sessions, registry, version, actor="cli")
    click.echo(f"active model: {version}")


@models.command("rollback")
def rollback() -> None:
    """Re-activate the version that was active before the current one."""
    registry, sessions = _setup()
    with sessions() as session:
        previous = model_versions.previous_version(session)
    if previous is None:
        raise click.ClickException("no earlier active version to roll back to")
    with transaction(sessions) as session:
        model_versions.activate(session, previous, actor="cli:rollback")
    click.echo(f"active model: {previous}")
