"""What every command needs: the config from the environment, and the resources it names."""

from __future__ import annotations

from moderation.config import Config
from moderation.resources import Resources


def load_config() -> Config:
    return Config.from_env()


def open_resources(config: Config | None = None) -> Resources:
    """Database (schema brought up to date), Redis if configured, registry and catalogue."""
    return Resources.from_config(config or load_config(), migrate_schema=True)
