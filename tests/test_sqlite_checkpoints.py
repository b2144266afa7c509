"""SQLite's checkpoints (copying the write-ahead log back into the database, with fsyncs) run in the
workers' commits, not in the API's: a comment's POST does not wait for the disk. And the API's writes
take the lock soon after a worker's transaction frees it."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from moderation.config import Config
from moderation.store import db
from moderation.store.db import (
    API_WAL_AUTOCHECKPOINT_PAGES,
    LOCK_WAIT_S,
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


# The API's connections wait for SQLite's write lock themselves, in short pauses (`SHORT_LOCK_PAUSES_S`),
# instead of in SQLite's busy handler (1, 2, 5, 10 ... ms sleeps); the workers' connections keep SQLite's.


def _busy_timeout(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text("PRAGMA busy_timeout")).scalar_one())


def _hold_write_lock(path: Path, seconds: float, held: threading.Event) -> threading.Thread:
    """Another connection (a worker's transaction) holds the write lock for `seconds`."""

    def run() -> None:
        other = sqlite3.connect(path, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("INSERT INTO t (v) VALUES ('worker')")
            held.set()
            time.sleep(seconds)
            other.execute("COMMIT")
        finally:
            other.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _table(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)"))
    finally:
        engine.dispose()


def test_the_api_waits_for_the_lock_in_short_pauses_the_workers_in_sqlites(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'moderation.sqlite'}"
    worker, api = make_engine(url), api_engine(url)
    try:
        assert _busy_timeout(worker) == LOCK_WAIT_S * 1000 == 30_000
        assert _busy_timeout(api) == 0  # the engine's own statement hook waits instead
    finally:
        worker.dispose()
        api.dispose()


def test_a_write_waits_for_a_worker_transaction_and_then_lands(tmp_path: Path) -> None:
    path = tmp_path / "moderation.sqlite"
    url = f"sqlite:///{path}"
    _table(url)
    api = api_engine(url)
    held = threading.Event()
    thread = _hold_write_lock(path, 0.3, held)
    try:
        assert held.wait(10)
        started = time.monotonic()
        with api.begin() as connection:
            connection.execute(sa.text("INSERT INTO t (v) VALUES ('api')"))
            connection.execute(sa.text("INSERT INTO t (v) VALUES ('api, same transaction')"))
        waited = time.monotonic() - started
        thread.join()
        # It waited for the other transaction (not failed at once), and both of its rows landed after it.
        assert waited > 0.1
        with api.connect() as connection:
            rows = connection.execute(sa.text("SELECT v FROM t ORDER BY id")).scalars().all()
        assert rows == ["worker", "api", "api, same transaction"]
    finally:
        thread.join()
        api.dispose()


def test_a_write_still_fails_when_the_lock_stays_taken_past_the_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "LOCK_WAIT_S", 0.2)
    path = tmp_path / "moderation.sqlite"
    url = f"sqlite:///{path}"
    _table(url)
    api = api_engine(url)
    held = threading.Event()
    thread = _hold_write_lock(path, 1.5, held)
    try:
        assert held.wait(10)
        started = time.monotonic()
        with pytest.raises(sa.exc.OperationalError, match="database is locked"), api.begin() as connection:
            connection.execute(sa.text("INSERT INTO t (v) VALUES ('api')"))
        assert 0.2 <= time.monotonic() - started < 1.5
        thread.join()
        # Nothing of the failed transaction is stored.
        with api.connect() as connection:
            assert connection.execute(sa.text("SELECT v FROM t")).scalars().all() == ["worker"]
    finally:
        thread.join()
        api.dispose()


def test_other_errors_are_not_waited_on(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'moderation.sqlite'}"
    _table(url)
    api = api_engine(url)
    try:
        started = time.monotonic()
        with pytest.raises(sa.exc.OperationalError, match="no such table"), api.connect() as connection:
            connection.execute(sa.text("SELECT * FROM missing"))
        with pytest.raises(sa.exc.IntegrityError), api.begin() as connection:
            connection.execute(sa.text("INSERT INTO t (v) VALUES (NULL)"))
        assert time.monotonic() - started < LOCK_WAIT_S / 2
    finally:
        api.dispose()


def test_many_rows_at_once_wait_too(tmp_path: Path) -> None:
    path = tmp_path / "moderation.sqlite"
    url = f"sqlite:///{path}"
    _table(url)
    api = api_engine(url)
    held = threading.Event()
    thread = _hold_write_lock(path, 0.2, held)
    try:
        assert held.wait(10)
        with api.begin() as connection:
            connection.execute(
                sa.text("INSERT INTO t (v) VALUES (:v)"), [{"v": f"api {n}"} for n in range(3)]
            )
        thread.join()
        with api.connect() as connection:
            assert connection.execute(sa.text("SELECT count(*) FROM t")).scalar_one() == 4
    finally:
        thread.join()
        api.dispose()


def test_a_stale_snapshot_fails_at_once_as_with_sqlites_own_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A transaction that read before another connection's commit can never take the write lock: SQLite's
    busy handler gives up at once ("database is locked", a stale snapshot), and the short waits do too."""
    monkeypatch.setattr(db, "LOCK_WAIT_S", 5.0)
    path = tmp_path / "moderation.sqlite"
    url = f"sqlite:///{path}"
    _table(url)
    api = api_engine(url)
    try:
        with api.connect() as connection:
            connection.exec_driver_sql("BEGIN")
            assert connection.exec_driver_sql("SELECT count(*) FROM t").scalar_one() == 0
            other = sqlite3.connect(path, isolation_level=None)
            other.execute("INSERT INTO t (v) VALUES ('worker')")
            other.close()
            started = time.monotonic()
            with pytest.raises(sa.exc.OperationalError, match="database is locked"):
                connection.exec_driver_sql("INSERT INTO t (v) VALUES ('api')")
            assert time.monotonic() - started < 1.0
            connection.rollback()
    finally:
        api.dispose()
