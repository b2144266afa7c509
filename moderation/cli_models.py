"""`moderation models ...`: look at the registry and choose the active version."""

from __future__ import annotations

import json

import click
from sqlalchemy.orm import Session, sessionmaker

from classifiers.registry import Registry
from moderation import modelstore
from moderation.bootstrap import register_and_activate
from moderation.config import Config
from moderation.db import make_engine, make_session_factory, migrate, transaction


def _setup() -> tuple[Config, Registry, sessionmaker[Session]]:
    config = Config.from_env()
    engine = make_engine(config.database_url)
    migrate(engine)
    return config, Registry(config.models_dir, config.catalogue_dir), make_session_factory(engine)


@click.group()
def models() -> None:
    """Model versions in the registry."""


@models.command("list")
def list_models() -> None:
    """Every stored version, newest last; `*` marks the active one."""
    _, registry, sessions = _setup()
    with sessions() as session:
        active = modelstore.active_version(session)
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
    _, registry, sessions = _setup()
    if version is None:
        with sessions() as session:
            version = modelstore.active_version(session)
    if version is None or version not in registry.versions():
        raise click.ClickException(f"no such model version: {version}")
    click.echo(json.dumps(registry.card(version), indent=2, ensure_ascii=False))


@models.command("promote")
@click.argument("version")
def promote(version: str) -> None:
    """Make VERSION the active model; workers switch within seconds."""
    _, registry, sessions = _setup()
    if version not in registry.versions():
        raise click.ClickException(f"no such model version: {version}")
    register_and_activate(sessions, registry, version, actor="cli")
    click.echo(f"active model: {version}")


@models.command("rollback")
def rollback() -> None:
    """Re-activate the version that was active before the current one."""
    _, registry, sessions = _setup()
    with sessions() as session:
        previous = modelstore.previous_version(session)
    if previous is None:
        raise click.ClickException("no earlier active version to roll back to")
    with transaction(sessions) as session:
        modelstore.activate(session, previous, actor="cli:rollback")
    click.echo(f"active model: {previous}")
