"""Export, erasure and retention as whole operations: the transaction, the search index and the caches
that hold derived copies of texts (the embedding cache, the recent-comments index in Redis).

The rules (what is anonymised, what is deleted) are in `moderation.store.authors`.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from classifiers.encoder import E5_NAME, ENCODER_NAME, encoder_input, text_key
from classifiers.names import mask_names
from moderation.store import authors
from moderation.store.authors import Erasure, Removal
from moderation.store.db import transaction
from moderation.store.tables import Site

log = logging.getLogger(__name__)

RETENTION_CHUNK = 1000
_DUPLICATE_SIGNATURE = "moderation:dupsig:{id}"  # `moderation.store.copies`


@dataclass(frozen=True)
class Caches:
    """Where derived copies of comment texts live besides SQL (either may be absent)."""

    redis: redis.Redis | None = None
    embeddings_dir: Path | None = None


def find_site(session: Session, name: str) -> Site | None:
    return session.scalars(select(Site).where(Site.name == name)).first()


def export_author(sessions: sessionmaker[Session], site: Site, author_id: str) -> dict[str, Any] | None:
    with sessions() as session:
        return authors.export_author(session, site, author_id)


def erase_author(
    sessions: sessionmaker[Session],
    site: Site,
    author_id: str,
    *,
    actor: str,
    fallback_key: str,
    caches: Caches,
) -> Erasure | None:
    """Erases one author of `site` (one transaction), then clears the search index and the caches."""
    with transaction(sessions) as session:
        erasure = authors.erase_author(session, site, author_id, actor=actor, fallback_key=fallback_key)
    if erasure is not None and erasure.removal.changed:
        _after_removal(sessions, erasure.removal, caches)
    return erasure


@dataclass(frozen=True)
class RetentionRun:
    site: str
    days: int
    cutoff: datetime
    removal: Removal

    def line(self) -> str:
        counts = self.removal.counts()
        return (
            f"{self.site}: kept {self.days} days; {counts['comments_anonymised']} comments anonymised, "
            f"{counts['comments_deleted']} deleted (pending or held), "
            f"{counts['labels_deleted']} training labels deleted"
        )


def run_retention(
    sessions: sessionmaker[Session],
    caches: Caches,
    *,
    site_name: str | None = None,
    now: datetime | None = None,
    actor: str = "retention",
) -> list[RetentionRun]:
    """Applies each site's `retention_days` (or only the named site's); sites without one are skipped.

    Works in chunks of `RETENTION_CHUNK` comments, one short transaction each, so workers and the API are
    never blocked for long; a pass that stops half-way is simply continued by the next one.
    """
    with sessions() as session:
        query = select(Site).where(Site.retention_days.is_not(None)).order_by(Site.name)
        if site_name is not None:
            query = query.where(Site.name == site_name)
        sites = [(s.id, s.name, int(s.retention_days or 0)) for s in session.scalars(query)]
    runs = []
    for site_id, name, days in sites:
        if days <= 0:
            continue
        cutoff = authors.retention_cutoff(days, now)
        total = Removal()
        while True:
            with sessions() as session:
                ids = authors.expired_comment_ids(session, site_id, cutoff, RETENTION_CHUNK)
            if not ids:
                break
            with transaction(sessions) as session:
                removal = authors.apply_retention_chunk(session, site_id, cutoff, ids)
            total.add(removal)
            if not removal.changed:
                break  # nothing of it could be removed (cannot happen); do not loop forever
        with transaction(sessions) as session:
            total.add(authors.expire_labels(session, site_id, cutoff))
            if total.changed:
                authors.record_retention(session, site_id, days, cutoff, total, actor)
        if total.changed:
            _after_removal(sessions, total, caches)
            log.info("retention for %s: %s", name, total.counts())
        runs.append(RetentionRun(name, days, cutoff, total))
    return runs


def _after_removal(sessions: sessionmaker[Session], removal: Removal, caches: Caches) -> None:
    """Best effort: the database is already right; these only remove derived copies."""
    try:
        with transaction(sessions) as session:
            authors.optimise_search_index(session)
    except Exception:
        log.exception("could not rewrite the search index; deleted texts leave it at its next merge")
    forget_signatures(caches.redis, removal.comment_ids)
    forget_embeddings(caches.embeddings_dir, removal.texts)


def forget_signatures(connection: redis.Redis | None, comment_ids: Sequence[str]) -> None:
    """The recent-comments index keeps each comment's author and text signature for three days."""
    if connection is None or not comment_ids:
        return
    try:
        for start in range(0, len(comment_ids), 500):
            keys = [_DUPLICATE_SIGNATURE.format(id=cid) for cid in comment_ids[start : start + 500]]
            connection.delete(*keys)
    except redis.RedisError:
        log.warning("could not clear the recent-comments index; its entries expire within three days")


def forget_embeddings(directory: Path | None, texts: Sequence[str]) -> int:
    """Deletes the cached sentence embeddings of these texts (of every encoder, as read with and without
    names masked); returns how many were found."""
    if directory is None or not texts:
        return 0
    keys = list(
        dict.fromkeys(text_key(encoder_input(form)) for text in texts for form in (text, mask_names(text)))
    )
    return sum(_forget_keys(Path(directory) / f"{name}.sqlite", keys) for name in (ENCODER_NAME, E5_NAME))


def _forget_keys(path: Path, keys: list[bytes]) -> int:
    if not path.exists():
        return 0
    removed = 0
    try:
        with contextlib.closing(sqlite3.connect(path, timeout=30)) as db:
            db.execute("PRAGMA secure_delete=ON")
            with db:
                for start in range(0, len(keys), 500):
                    chunk = keys[start : start + 500]
                    # Only "?" placeholders are formatted in; the keys are bound parameters.
                    marks = ",".join("?" * len(chunk))
                    query = "DELETE FROM embeddings WHERE key IN (" + marks + ")"  # nosec B608
                    cursor = db.execute(query, chunk)
                    removed += max(cursor.rowcount, 0)
    except sqlite3.Error:
        log.warning("could not clear the embedding cache at %s", path, exc_info=True)
    return removed
