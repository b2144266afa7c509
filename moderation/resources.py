"""The resources one process uses, built once from the config and shared by the app, the CLI and the
workers: database engine and sessions, Redis, the model registry and the narrative catalogue."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from redis import Redis
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from classifiers.catalogue import CatalogueWatcher
from classifiers.registry import Registry
from moderation.config import Config
from moderation.store import webhooks
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
        # A commit that wrote webhook deliveries queues the job that sends them.
        webhooks.install(self.sessions, self.redis)

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


# The API's budget per Redis command: a hung Redis (SIGSTOP, a full network buffer) costs a request this
# much per call, not seconds. Workers block on Redis (RQ) and use longer timeouts (`WORKER_REDIS_TIMEOUT_S`).
API_REDIS_TIMEOUT_S = 0.3
WORKER_REDIS_TIMEOUT_S = 5.0


# After a command timed out, the client fails further commands at once for this long: while Redis hangs,
# one request in each such period pays the timeout, the others none.
FAIL_FAST_S = 1.0


class FailFastRedis(Redis):
    """A Redis client that, once a command has timed out, raises at once for `FAIL_FAST_S` instead of
    waiting out the timeout again on every call (commands of pipelines are not covered)."""

    _fail_until = 0.0

    def execute_command(self, *args: Any, **options: Any) -> Any:
        if time.monotonic() < self._fail_until:
            raise RedisTimeoutError("Redis timed out a moment ago; not waiting on it again yet")
        try:
            return super().execute_command(*args, **options)
        except RedisTimeoutError:
            self._fail_until = time.monotonic() + FAIL_FAST_S
            raise


def connect_redis(url: str | None, timeout_s: float = API_REDIS_TIMEOUT_S) -> Redis | None:
    """A client that gives up quickly: an outage must cost a request milliseconds, not seconds.

    A refused or reset connection (Redis restarted) is retried once on a fresh connection; a timeout is
    not retried, so one hung command costs at most `timeout_s`, and for a second after it commands fail
    at once (`FailFastRedis`).
    """
    if not url:
        return None
    return FailFastRedis.from_url(
        url,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        health_check_interval=30,
        retry=Retry(
            ExponentialBackoff(cap=0.05, base=0.01), retries=1, supported_errors=(RedisConnectionError,)
        ),
    )
