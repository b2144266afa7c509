"""The resources one process uses, built once from the config and shared by the app, the CLI and the
workers: database engine and sessions, Redis, the model registry and the narrative catalogue."""

from __future__ import annotations

from dataclasses import dataclass, field

from redis import Redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from classifiers.catalogue import CatalogueWatcher
from classifiers.registry import Registry
from moderation.config import Config
from moderation.store.db import make_engine, make_session_factory, migrate


@dataclass
class Resources:
    config: Config
    engine: Engine
    sessions: sessionmaker[Session]
    redis: Redis | None
    registry: Registry = field(init=False)
    catalogue: CatalogueWatcher = field(init=False)

    def __post_init__(self) -> None:
        self.registry = Registry(self.config.models_dir, self.config.catalogue_dir)
        self.catalogue = CatalogueWatcher(self.config.catalogue_dir)

    @classmethod
    def from_config(
        cls,
        config: Config,
        *,
        engine: Engine | None = None,
        redis: Redis | None = None,
        migrate_schema: bool = False,
    ) -> Resources:
        """Connects what `config` names (an engine or a Redis client given here is used instead)."""
        engine = engine or make_engine(config.database_url)
        if migrate_schema:
            migrate(engine)
        return cls(config, engine, make_session_factory(engine), redis or connect_redis(config.redis_url))

    def require_redis(self) -> Redis:
        if self.redis is None:
            raise RuntimeError("REDIS_URL is not set: this process has no queue")
        return self.redis

    def close(self) -> None:
        self.engine.dispose()
        if self.redis is not None:
            self.redis.close()


def connect_redis(url: str | None) -> Redis | None:
    """A client that gives up quickly: an outage must cost a request milliseconds, not seconds."""
    if not url:
        return None
    return Redis.from_url(
        url,
        socket_timeout=10,
        socket_connect_timeout=1,
        health_check_interval=30,
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), retries=1),
    )
