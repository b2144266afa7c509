"""The resources one process uses (database, Redis, model registry), created once and passed around."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app
from redis import Redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from moderation.config import Config


@dataclass
class Resources:
    config: Config
    engine: Engine
    sessions: sessionmaker[Session]
    redis: Redis | None

    def require_redis(self) -> Redis:
        if self.redis is None:
            raise RuntimeError("REDIS_URL is not set: this process has no queue")
        return self.redis


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


def init_app(app: Flask, resources: Resources) -> None:
    app.extensions["moderation"] = resources


def get_resources() -> Resources:
    resources: Resources = current_app.extensions["moderation"]
    return resources
