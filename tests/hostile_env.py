"""One app per test module for the hostile-input tests: real Redis, SQLite or PostgreSQL, seeded data.

The corpus, property and contract tests send hundreds of requests that are each refused or answered
without changing much; a fresh database per request would cost minutes. A module shares one database
per kind (SQLite and PostgreSQL, the latter skipped where none answers), a site with both keys, a second
site, moderator and admin accounts, and seeded comments.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from moderation.config import Config
from moderation.resources import Resources
from moderation.store.accounts import NewSite, create_site
from moderation.store.db import make_engine, make_session_factory, migrate, transaction
from moderation.store.tables import Comment
from moderation.web.app import create_app
from tests.browser import seed
from tests.conftest import TEST_DATABASE_URL, TEST_REDIS_URL, postgres_available

ORIGIN = "https://zeitung.example"


@dataclass
class HostileEnv:
    kind: str
    app: Flask
    redis: redis.Redis
    site: NewSite
    other_site: NewSite
    comment_id: str
    moderator_cookie: str
    moderator_csrf: str
    sessions: sessionmaker[Session]

    def client(self, who: str = "anon") -> FlaskClient:
        """A fresh client; `moderator` carries a copy of the logged-in session (nothing a case does to
        its cookie reaches the next case)."""
        client = self.app.test_client()
        if who == "moderator":
            client.set_cookie("session", self.moderator_cookie)
        return client

    def comment_count(self) -> int:
        with self.sessions() as session:
            return int(session.scalar(select(func.count()).select_from(Comment)) or 0)


@contextmanager
def hostile_env(kind: str, tmp: Path) -> Iterator[HostileEnv]:
    if kind == "sqlite":
        url = f"sqlite:///{tmp / 'hostile.db'}"
        schema = None
    else:
        if not postgres_available():
            pytest.skip(f"PostgreSQL not reachable at {TEST_DATABASE_URL}")
        schema = f"test_{uuid.uuid4().hex[:12]}"
        admin = make_engine(TEST_DATABASE_URL)
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        sep = "&" if "?" in TEST_DATABASE_URL else "?"
        url = f"{TEST_DATABASE_URL}{sep}options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    redis_conn = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        migrate(engine)
        sessions = make_session_factory(engine)
        redis_conn.flushdb()
        config = Config(
            home=tmp / "home",
            database_url=url,
            redis_url=TEST_REDIS_URL,
            secret_key="hostile-test-secret",
            reconcile_after_s=0,
        )
        app = create_app(
            resources=Resources(config, engine, sessions, redis_conn), test_config={"TESTING": True}
        )
        with transaction(sessions) as session:
            site = create_site(session, "zeitung", allowed_origins=[ORIGIN])
            other = create_site(session, "andere")
            seed.make_users(session)
            seeded = seed.seed(session, site.site.id, count=12)
        client = app.test_client()
        csrf = seed.login(client, "mod@example.org", "moderator-password-1")
        cookie = client.get_cookie("session")
        assert cookie is not None
        yield HostileEnv(
            kind=kind,
            app=app,
            redis=redis_conn,
            site=site,
            other_site=other,
            comment_id=seeded.held[0],
            moderator_cookie=cookie.value,
            moderator_csrf=csrf,
            sessions=sessions,
        )
    finally:
        redis_conn.flushdb()
        redis_conn.close()
        engine.dispose()
        if schema is not None:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
