"""SQLite's checkpoints (copying the write-ahead log back into the database, with fsyncs) run in the
workers' commits, not in the API's: a comment's POST does not wait for the disk."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from moderation.config import Config
from moderation.store.db import (
    API_WAL_AUTOCHECKPOINT_PAGES,
    WAL_AUTOCHECKPOINT_PAGES,
    api_engine,
    make_engine,
)
from moderation.web.app import create_app


def _autocheckpoint(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text("PRAGMA wal_autocheckpoint")).scalar_one())


def test_the_api_leaves_checkpoints_to_the_workers(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'moderation.sqlite'}"
    worker, api = make_engine(url), api_engine(url)
    try:
        assert _autocheckpoint(worker) == WAL_AUTOCHECKPOINT_PAGES == 1000
        assert _autocheckpoint(api) == API_WAL_AUTOCHECKPOINT_PAGES == 10_000
        # Both still write through the log, with SQLite's other settings.
        with api.connect() as connection:
            assert connection.execute(sa.text("PRAGMA journal_mode")).scalar_one() == "wal"
            assert connection.execute(sa.text("PRAGMA foreign_keys")).scalar_one() == 1
    finally:
        worker.dispose()
        api.dispose()


def test_the_app_built_from_its_config_uses_the_api_engine(tmp_path: Path) -> None:
    config = Config.from_env({"MODERATION_HOME": str(tmp_path), "SECRET_KEY": "x" * 32})
    app = create_app(config)
    engine = app.extensions["moderation"].engine
    try:
        assert _autocheckpoint(engine) == API_WAL_AUTOCHECKPOINT_PAGES
    finally:
        engine.dispose()
