"""Engine, sessions and schema migrations."""

from __future__ import annotations

import functools
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import URL, ColumnElement, Engine, and_, create_engine, event, make_url, or_
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


# SQLite copies the write-ahead log back into the database (a checkpoint, with an fsync of both files)
# at the commit that finds the log this many pages long (SQLite's default).
WAL_AUTOCHECKPOINT_PAGES = 1000
# The API's connections checkpoint only when the log has grown this long (about 40 MB of 4 KB pages):
# the workers' commits checkpoint first, so a comment's POST does not wait for the disk. The bound keeps
# the log from growing without end when no worker runs.
API_WAL_AUTOCHECKPOINT_PAGES = 10_000


# How long a statement waits for another connection's write lock before it fails ("database is locked").
LOCK_WAIT_S = 30.0
# The API's connections wait for the write lock by trying again after these pauses (seconds; the last
# one repeats). SQLite's own wait sleeps 1, 2, 5, 10, 15, 20, 25 ms ... between tries, so a POST that
# finds a worker's 2-ms transaction under way could sleep 8, 18 or 33 ms for a lock freed after 2: the
# short pauses take the lock within a fraction of a millisecond of its release.
SHORT_LOCK_PAUSES_S = (0.0001, 0.0002, 0.0004)


def _sqlite_pragmas(autocheckpoint_pages: int, *, short_lock_waits: bool = False) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(LOCK_WAIT_S * 1000)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA wal_autocheckpoint={int(autocheckpoint_pages)}")
        if short_lock_waits:
            # `_with_short_lock_waits` waits instead of SQLite.
            cursor.execute("PRAGMA busy_timeout=0")
        cursor.close()

    return on_connect


# A transaction whose snapshot is older than the last commit cannot take the write lock however long it
# waits; SQLite's own handler gives up at once there, and so does `_with_short_lock_waits`.
_BUSY_SNAPSHOT = getattr(sqlite3, "SQLITE_BUSY_SNAPSHOT", 517)


def _locked(exc: sqlite3.OperationalError) -> bool:
    """Whether `exc` is another connection holding the lock (worth waiting for)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:
        return "database is locked" in str(exc)
    return code & 0xFF == sqlite3.SQLITE_BUSY and code != _BUSY_SNAPSHOT


def _with_short_lock_waits(run: Any) -> Any:
    """Runs a statement, trying again after short pauses while another connection holds SQLite's write
    lock, for up to `LOCK_WAIT_S`. A statement that failed on the lock did nothing (in WAL mode only the
    first write of a transaction takes the lock, and readers are not blocked), so running it again is what
    SQLite's own busy handler does, with pauses that fit the workers' short transactions."""
    try:
        return run()
    except sqlite3.OperationalError as exc:
        if not _locked(exc):
            raise
    deadline = time.monotonic() + LOCK_WAIT_S
    tries = 0
    while True:
        time.sleep(SHORT_LOCK_PAUSES_S[min(tries, len(SHORT_LOCK_PAUSES_S) - 1)])
        tries += 1
        try:
            return run()
        except sqlite3.OperationalError as exc:
            if not _locked(exc) or time.monotonic() >= deadline:
                raise


def _execute(cursor: Any, statement: str, parameters: Any, _context: Any) -> bool:
    _with_short_lock_waits(lambda: cursor.execute(statement, parameters))
    return True


def _execute_no_params(cursor: Any, statement: str, _context: Any) -> bool:
    _with_short_lock_waits(lambda: cursor.execute(statement))
    return True


def _executemany(cursor: Any, statement: str, parameters: Any, _context: Any) -> bool:
    _with_short_lock_waits(lambda: cursor.executemany(statement, parameters))
    return True


def _short_lock_waits(engine: Engine) -> None:
    """The engine's statements run through `_with_short_lock_waits` (SQLAlchemy's dialect hooks)."""
    event.listen(engine, "do_execute", _execute)
    event.listen(engine, "do_execute_no_params", _execute_no_params)
    event.listen(engine, "do_executemany", _executemany)


def private_file(path: Path) -> None:
    """Creates the SQLite file readable and writable by its owner only (0600), or tightens an existing
    one: it holds comments, author data and password hashes. Its -wal/-shm files get the same mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
    except OSError:
        pass  # not ours to change (e.g. a file another account provides); SQLite reports real problems


def api_engine(url: str) -> Engine:
    """The engine of an API process: on SQLite it leaves checkpoints to the workers' commits and waits
    for the write lock in short pauses."""
    return make_engine(url, wal_autocheckpoint_pages=API_WAL_AUTOCHECKPOINT_PAGES, short_lock_waits=True)


def make_engine(
    url: str,
    *,
    wal_autocheckpoint_pages: int = WAL_AUTOCHECKPOINT_PAGES,
    short_lock_waits: bool = False,
) -> Engine:
    """Creates the engine for `url` (SQLite file, or PostgreSQL through psycopg).

    SQLite only: `wal_autocheckpoint_pages`, the log length at which a commit of this engine's
    connections checkpoints (`API_WAL_AUTOCHECKPOINT_PAGES` for the API's); `short_lock_waits`, wait for
    the write lock in pauses of a fraction of a millisecond (`SHORT_LOCK_PAUSES_S`) instead of SQLite's."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:" and not path.startswith("file:"):
            private_file(Path(path))
        engine = create_engine(url, connect_args={"timeout": LOCK_WAIT_S, "check_same_thread": False})
        event.listen(
            engine, "connect", _sqlite_pragmas(wal_autocheckpoint_pages, short_lock_waits=short_lock_waits)
        )
        if short_lock_waits:
            _short_lock_waits(engine)
        return engine
    # A database that does not answer fails a connection attempt after a few seconds (psycopg's
    # minimum is 2), instead of holding the request until the operating system gives up.
    parsed, connect_args = prepared_statements(make_url(url))
    engine = create_engine(
        parsed,
        pool_size=5,
        max_overflow=10,
        connect_args={"connect_timeout": 3, **connect_args},
    )
    event.listen(engine, "connect", _mark_used)
    event.listen(engine, "checkin", _mark_used)
    event.listen(engine, "checkout", _pinger(engine.dialect))
    return engine


# A pooled PostgreSQL connection that sat idle longer than this is pinged before it is handed out (a
# server or PgBouncer restart, an idle timeout or a network drop closes idle connections). One used a
# moment ago is handed out as it is: pinging every checkout (SQLAlchemy's `pool_pre_ping`) costs a round
# trip per request, about a sixth of a comment's accept time under load. A connection that died within
# the last moment fails its first statement instead; SQLAlchemy then replaces every connection of the
# pool opened before it, and the caller sees one retryable error (the API answers 503).
PING_AFTER_IDLE_S = 1.0


def _mark_used(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _pinger(dialect: Any) -> Any:
    def ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is not None and time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            # The pool throws this connection away and hands out another (a new one if need be).
            raise sa_exc.DisconnectionError(f"the database closed an idle connection: {exc}") from exc

    return ping_if_idle


def prepared_statements(url: URL) -> tuple[URL, dict[str, Any]]:
    """Reads our `prepare_threshold` URL parameter (psycopg's setting, not a libpq one, so it cannot stay in
    the URL): `?prepare_threshold=none` turns psycopg's server-side prepared statements off, as a PgBouncer
    in transaction pooling mode older than 1.21 (or without `max_prepared_statements`) needs."""
    raw = url.query.get("prepare_threshold")
    if raw is None:
        return url, {}
    value = raw[-1] if isinstance(raw, tuple) else raw
    threshold = None if value.strip().lower() in ("none", "") else int(value)
    return url.difference_update_query(["prepare_threshold"]), {"prepare_threshold": threshold}


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commits on success, rolls back on any exception."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def pairs_in(first: Any, second: Any, pairs: Iterable[tuple[Any, Any]]) -> ColumnElement[bool]:
    """`(first, second) IN pairs` (at least one pair), written as one `first = a AND second IN (...)` per
    distinct `a`: SQLite reads a row-value IN through the first column of a two-column index only, so
    `(site_id, external_id) IN (...)` scanned every comment of the site; this form is a lookup in the
    (site_id, ...) index on SQLite and PostgreSQL alike."""
    grouped: dict[Any, list[Any]] = {}
    for a, b in pairs:
        grouped.setdefault(a, []).append(b)
    if not grouped:
        raise ValueError("pairs_in needs at least one pair")
    clauses = [and_(first == a, second.in_(bs)) for a, bs in grouped.items()]
    return clauses[0] if len(clauses) == 1 else or_(*clauses)


@functools.lru_cache(maxsize=64)
def _autocommit(engine: Engine) -> Engine:
    return engine.execution_options(isolation_level="AUTOCOMMIT")


@contextmanager
def lookup(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session for reads that need no transaction of their own (a key's site, one row): in autocommit,
    so on PostgreSQL a lookup is one round trip, without a BEGIN before it and a ROLLBACK after it.
    Never write through it: nothing is rolled back."""
    session = factory(bind=_autocommit(factory.kw["bind"]))
    try:
        yield session
    finally:
        session.close()


def migrate(engine: Engine, revision: str = "head") -> None:
    """Brings the schema up to `revision` with Alembic."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)
