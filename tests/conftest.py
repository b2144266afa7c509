"""Fixtures: a throwaway SQL database (SQLite and PostgreSQL), a real Redis database, the app."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from classifiers.registry import Registry
from moderation.config import DEFAULT_TEST_REDIS_URL, Config
from moderation.resources import Resources
from moderation.store.accounts import NewSite, create_site
from moderation.store.db import make_engine, make_session_factory, migrate, transaction
from moderation.store.model_versions import register_and_activate
from moderation.web.app import create_app
from workers import runtime

# One quick-trained model per test session, shared by every test that needs a real model.
pytest_plugins = ["tests.classifier_fixtures"]

# Property-based tests draw the same examples on every run (a red CI run can be replayed exactly) and
# keep no example database in the checkout. HYPOTHESIS_PROFILE=explore draws fresh examples instead.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", database=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Tests score the fast profile (n-gram heads only); the encoder's own tests (tests/test_encoder.py) ask
# for the full profile explicitly. Worker processes the tests start inherit this.
os.environ.setdefault("MODERATION_SCORING", "fast")

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _redis_url_for_this_worker(base: str) -> str:
    """Each pytest-xdist worker (gw0, gw1, ...) flushes a Redis database of its own: gw0 the configured one
    (15 unless TEST_REDIS_URL says otherwise), gw1 the one below it, and so on."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return base
    head, _, number = base.rpartition("/")
    database = int(number) if number.isdigit() else 0
    index = int(worker[2:])
    if index > database:
        raise RuntimeError(f"not enough Redis databases below {base} for pytest-xdist worker {worker}")
    return f"{head}/{database - index}" if number.isdigit() else f"{base.rstrip('/')}/{index}"


TEST_REDIS_URL = _redis_url_for_this_worker(os.environ.get("TEST_REDIS_URL", DEFAULT_TEST_REDIS_URL))

_pg_available: bool | None = None


def postgres_available() -> bool:
    global _pg_available
    if _pg_available is None:
        try:
            engine = make_engine(TEST_DATABASE_URL)
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            engine.dispose()
            _pg_available = True
        except Exception:
            _pg_available = False
    return _pg_available


def pytest_report_header(config: pytest.Config) -> str:
    if postgres_available():
        return f"PostgreSQL: {TEST_DATABASE_URL}"
    return "NOTICE: no PostgreSQL answers at TEST_DATABASE_URL; PostgreSQL runs of storage tests are SKIPPED"


@dataclass
class Database:
    url: str
    engine: Engine
    sessions: sessionmaker[Session]
    kind: str


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database: a SQLite file, or a PostgreSQL schema of its own, dropped afterwards."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.db'}"
        engine = make_engine(url)
        migrate(engine)
        yield Database(url, engine, make_session_factory(engine), "sqlite")
        engine.dispose()
        return
    if not postgres_available():
        pytest.skip(f"PostgreSQL not reachable at {TEST_DATABASE_URL}")
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(TEST_DATABASE_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    # The schema rides in the URL, so worker subprocesses given this URL use it too.
    sep = "&" if "?" in TEST_DATABASE_URL else "?"
    url = f"{TEST_DATABASE_URL}{sep}options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    try:
        migrate(engine)
        yield Database(url, engine, make_session_factory(engine), "postgresql")
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def redis_conn() -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(TEST_REDIS_URL)
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()


@pytest.fixture
def config(tmp_path: Path, database: Database) -> Config:
    return Config(
        home=tmp_path / "home",
        database_url=database.url,
        redis_url=TEST_REDIS_URL,
        secret_key="test-secret-key",
        reconcile_after_s=0,
    )


@pytest.fixture
def resources(config: Config, database: Database, redis_conn: redis.Redis) -> Resources:
    return Resources(config, database.engine, database.sessions, redis_conn)


@pytest.fixture
def app(resources: Resources) -> Flask:
    return create_app(resources=resources, test_config={"TESTING": True})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def context(model_home: Config, database: Database, redis_conn: redis.Redis) -> Iterator[Any]:
    """A worker context with the session's model, installed for jobs run in this process."""
    ctx = runtime.WorkerContext(Resources(model_home, database.engine, database.sessions, redis_conn))
    runtime.install(ctx)
    yield ctx
    runtime.install(None)


@pytest.fixture
def site(database: Database) -> NewSite:
    with transaction(database.sessions) as session:
        return create_site(session, "testsite")


@pytest.fixture
def other_site(database: Database) -> NewSite:
    with transaction(database.sessions) as session:
        return create_site(session, "othersite")


@pytest.fixture
def model_home(config: Config, database: Database, trained_model_dir: Path) -> Config:
    """MODERATION_HOME whose registry holds the session's trained model, active in this database."""
    config.home.mkdir(parents=True, exist_ok=True)
    (config.home / "models").symlink_to(trained_model_dir, target_is_directory=True)
    registry = Registry(config.models_dir)
    version = registry.latest()
    assert version is not None
    register_and_activate(database.sessions, registry, version, actor="test")
    return config
