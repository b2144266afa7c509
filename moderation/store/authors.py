"""Personal data of comment authors: export, erasure and retention.

One rule for erasure and retention alike:

- A comment with a final decision (approved or rejected) is *anonymised in place*: its text, author id
  and name, IP hash, metadata, external and parent id, the highlighted spans, moderators' notes and any
  link the policy quoted from the text are removed. What stays is not personal: site, article, language,
  status, timestamps, scores and the decisions (action, source, reason codes), so counts, charts and model
  quality figures stay right.
- A comment still waiting (pending, or held for a moderator) is *deleted* with its scores and decisions:
  there is nothing to review without its text, and a worker must not decide it afterwards.
- The author's training labels (their own rows in `site_labels` and those of their comments) are
  deleted, so no future site model learns from them (retraining reads only `site_labels`).
- Audit events of those comments keep their kind, time and actor; the values in them that quote the
  comment or identify its author are removed.

An erasure leaves one `author.erased` audit event with counts and a keyed hash of the author id (HMAC
with the site's own key): the id cannot be read back from it, but an operator asked "was this author
erased, and when?" can answer, and a repeated request is recognised (it answers as done, not unknown).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session, selectinload

from moderation.domain import reasons
from moderation.domain.enums import Status
from moderation.domain.timestamps import iso, utcnow
from moderation.store import webhooks
from moderation.store.comments import serialize
from moderation.store.tables import (
    AuditEvent,
    Comment,
    Decision,
    Scores,
    ShadowScore,
    Site,
    SiteLabel,
)

log = logging.getLogger(__name__)

ERASED_EVENT = "author.erased"
RETENTION_EVENT = "site.retention_applied"
# The author id of an anonymised comment (a submitted author id has at least one character).
ANONYMOUS_AUTHOR = ""
REMOVED = "[removed]"
# Keys whose values in stored JSON (audit event data, decision reasons) quote a comment or name its author.
PERSONAL_KEYS = frozenset({"text", "note", "link", "external_id", "author", "author_id", "author_name", "ip"})
FINAL = (Status.APPROVED.value, Status.REJECTED.value)
WAITING = (Status.PENDING.value, Status.HELD.value)
CHUNK = 500
MAX_RETENTION_DAYS = 36_500


def author_digest(site: Site, author_id: str, fallback_key: str) -> str:
    """The keyed hash that stands for an author id in the erasure's audit event."""
    key = site.ip_hash_key or fallback_key
    message = f"author:{site.id}:{author_id}".encode("utf-8", "surrogatepass")
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


# -- export -------------------------------------------------------------------------------------------


def export_author(session: Session, site: Site, author_id: str) -> dict[str, Any] | None:
    """Everything stored about one author of a site, JSON-ready; None when nothing is stored."""
    comments = list(
        session.scalars(
            select(Comment)
            .where(Comment.site_id == site.id, Comment.author_id == author_id)
            .options(selectinload(Comment.scores), selectinload(Comment.decisions))
            .order_by(Comment.created_at, Comment.id)
        )
    )
    labels = _labels_of(session, site.id, author_id, [c.id for c in comments])
    if not comments and not labels:
        return None
    return {
        "site": site.name,
        "author_id": author_id,
        "exported_at": iso(utcnow()),
        "comments": [_exported_comment(c) for c in comments],
        "labels": [
            {
                "text": label.text,
                "action": label.action,
                "reason": label.reason,
                "source": label.source,
                "comment_id": label.comment_id,
                "external_id": label.external_id,
                "article_id": label.article_id,
                "decided_at": iso(label.decided_at),
            }
            for label in labels
        ],
    }


def _exported_comment(comment: Comment) -> dict[str, Any]:
    out = serialize(comment)
    out["metadata"] = dict(comment.extra or {})
    out["ip_hash"] = comment.author_ip_hash
    out["decisions"] = [
        {
            "action": d.action,
            "source": d.source,
            "reasons": [reasons.for_api(r) for r in d.reasons or []],
            "reason_code": d.reason_code,
            "note": d.note,
            "model_version": d.model_version,
            "site_model_version": d.site_model_version,
            "decided_at": iso(d.created_at),
        }
        for d in comment.decisions
    ]
    return out


def _labels_of(session: Session, site_id: int, author_id: str, comment_ids: Sequence[str]) -> list[SiteLabel]:
    condition = SiteLabel.author_id == author_id
    if comment_ids:
        condition = or_(condition, SiteLabel.comment_id.in_(list(comment_ids)))
    return list(
        session.scalars(
            select(SiteLabel).where(SiteLabel.site_id == site_id, condition).order_by(SiteLabel.id)
        )
    )


# -- removing personal data ---------------------------------------------------------------------------


@dataclass
class Removal:
    """What one erasure or retention pass did. `texts` and `comment_ids` are for clearing caches after the
    commit (embedding cache, recent-comments index); they are never stored."""

    anonymised: int = 0
    deleted: int = 0
    labels_deleted: int = 0
    texts: list[str] = field(default_factory=list, repr=False)
    comment_ids: list[str] = field(default_factory=list, repr=False)

    @property
    def changed(self) -> bool:
        return bool(self.anonymised or self.deleted or self.labels_deleted)

    def counts(self) -> dict[str, int]:
        return {
            "comments_anonymised": self.anonymised,
            "comments_deleted": self.deleted,
            "labels_deleted": self.labels_deleted,
        }

    def add(self, other: Removal) -> None:
        self.anonymised += other.anonymised
        self.deleted += other.deleted
        self.labels_deleted += other.labels_deleted
        self.texts += other.texts
        self.comment_ids += other.comment_ids


def scrub(value: Any) -> Any:
    """A copy of stored JSON with every value under a personal key removed (`PERSONAL_KEYS`)."""
    if isinstance(value, dict):
        return {k: (_blank(v) if k in PERSONAL_KEYS else scrub(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def _blank(value: Any) -> Any:
    return REMOVED if isinstance(value, str) and value else None


def _lock_site(session: Session, site_id: int) -> None:
    """Takes the write lock first (SQLite) or the site's row lock (PostgreSQL): what is read next is
    current, and a worker cannot claim one of the comments between our read and our write."""
    session.execute(update(Site).where(Site.id == site_id).values(retention_days=Site.retention_days))
    if session.get_bind().dialect.name == "sqlite":
        # Deleted rows are overwritten in the file rather than left in free pages.
        session.connection().exec_driver_sql("PRAGMA secure_delete=ON")


def _remove_comments(session: Session, rows: Sequence[tuple[str, str, str]]) -> Removal:
    """Anonymises the final comments and deletes the waiting ones among `rows` (id, status, text), which
    the caller has locked. Labels of these comments go too."""
    out = Removal()
    if not rows:
        return out
    final = [cid for cid, status, _ in rows if status in FINAL]
    waiting = [cid for cid, status, _ in rows if status not in FINAL]
    every = [cid for cid, _, _ in rows]
    out.texts = [text for _, _, text in rows if text]
    out.comment_ids = every
    for start in range(0, len(every), CHUNK):
        chunk = every[start : start + CHUNK]
        out.texts += list(session.scalars(select(SiteLabel.text).where(SiteLabel.comment_id.in_(chunk))))
        out.labels_deleted += _rowcount(
            session.execute(delete(SiteLabel).where(SiteLabel.comment_id.in_(chunk)))
        )
        _scrub_audit(session, chunk, detach=False)
        # Webhook deliveries carry the comment as it was sent (text, author): they go entirely.
        webhooks.forget_comments(session, chunk)
    for start in range(0, len(final), CHUNK):
        chunk = final[start : start + CHUNK]
        for decision in session.scalars(select(Decision).where(Decision.comment_id.in_(chunk))):
            decision.note = None
            decision.reasons = scrub(list(decision.reasons or []))
        session.execute(update(Scores).where(Scores.comment_id.in_(chunk)).values(spans=[]))
        out.anonymised += _rowcount(
            session.execute(
                update(Comment)
                .where(Comment.id.in_(chunk))
                .values(
                    text="",
                    author_id=ANONYMOUS_AUTHOR,
                    author_name=None,
                    author_ip_hash=None,
                    external_id=None,
                    parent_id=None,
                    extra={},
                )
                .execution_options(synchronize_session=False)
            )
        )
    for start in range(0, len(waiting), CHUNK):
        chunk = waiting[start : start + CHUNK]
        _scrub_audit(session, chunk, detach=True)
        session.execute(delete(ShadowScore).where(ShadowScore.comment_id.in_(chunk)))
        session.execute(delete(Scores).where(Scores.comment_id.in_(chunk)))
        session.execute(delete(Decision).where(Decision.comment_id.in_(chunk)))
        out.deleted += _rowcount(
            session.execute(
                delete(Comment).where(Comment.id.in_(chunk)).execution_options(synchronize_session=False)
            )
        )
    session.flush()
    return out


def _scrub_audit(session: Session, comment_ids: Sequence[str], *, detach: bool) -> None:
    for event in session.scalars(select(AuditEvent).where(AuditEvent.comment_id.in_(list(comment_ids)))):
        event.data = scrub(dict(event.data or {}))
        if detach:
            event.comment_id = None
    session.flush()


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


# -- erasure ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Erasure:
    removal: Removal
    already_erased_at: str | None = None  # a repeated request: when the earlier erasure happened

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"erased": True, **self.removal.counts()}
        if self.already_erased_at is not None:
            out["already_erased_at"] = self.already_erased_at
        return out


def erase_author(
    session: Session, site: Site, author_id: str, *, actor: str, fallback_key: str
) -> Erasure | None:
    """Removes one author's personal data from the site (in the caller's transaction) and records one
    `author.erased` audit event without content. None: nothing is stored and no erasure is on record."""
    digest = author_digest(site, author_id, fallback_key)
    _lock_site(session, site.id)
    rows = [
        (cid, status, text)
        for cid, status, text in session.execute(
            select(Comment.id, Comment.status, Comment.text)
            .where(Comment.site_id == site.id, Comment.author_id == author_id)
            .order_by(Comment.created_at, Comment.id)
            .with_for_update()
        )
    ]
    removal = _remove_comments(session, rows)
    own = list(
        session.execute(
            select(SiteLabel.id, SiteLabel.text).where(
                SiteLabel.site_id == site.id, SiteLabel.author_id == author_id
            )
        )
    )
    if own:
        removal.texts += [text for _, text in own]
        removal.labels_deleted += _rowcount(
            session.execute(delete(SiteLabel).where(SiteLabel.id.in_([label_id for label_id, _ in own])))
        )
    if not removal.changed:
        earlier = previous_erasure(session, site.id, digest)
        return None if earlier is None else Erasure(removal, already_erased_at=iso(earlier))
    session.add(
        AuditEvent(
            actor=actor,
            event=ERASED_EVENT,
            site_id=site.id,
            data={"author_hash": digest, **removal.counts()},
        )
    )
    return Erasure(removal)


def previous_erasure(session: Session, site_id: int, digest: str) -> datetime | None:
    events = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.event == ERASED_EVENT, AuditEvent.site_id == site_id)
        .order_by(AuditEvent.id.desc())
    )
    for event in events:
        if isinstance(event.data, dict) and event.data.get("author_hash") == digest:
            return event.created_at
    return None


# -- retention ----------------------------------------------------------------------------------------


def retention_cutoff(days: int, now: datetime | None = None) -> datetime:
    return (now or utcnow()) - timedelta(days=days)


def expired_comment_ids(session: Session, site_id: int, cutoff: datetime, limit: int) -> list[str]:
    """Comments of the site created before `cutoff` that still hold personal data."""
    return list(
        session.scalars(
            select(Comment.id)
            .where(
                Comment.site_id == site_id,
                Comment.created_at < cutoff,
                or_(Comment.text != "", Comment.author_id != ANONYMOUS_AUTHOR),
            )
            .order_by(Comment.created_at, Comment.id)
            .limit(limit)
        )
    )


def apply_retention_chunk(session: Session, site_id: int, cutoff: datetime, ids: Iterable[str]) -> Removal:
    """One transaction's share of a retention pass: the listed comments (re-checked under the lock)."""
    _lock_site(session, site_id)
    rows = [
        (cid, status, text)
        for cid, status, text in session.execute(
            select(Comment.id, Comment.status, Comment.text)
            .where(Comment.id.in_(list(ids)), Comment.site_id == site_id, Comment.created_at < cutoff)
            .with_for_update()
        )
    ]
    return _remove_comments(session, rows)


def expire_labels(session: Session, site_id: int, cutoff: datetime) -> Removal:
    """Training labels of the site decided before `cutoff` (imported ones included)."""
    out = Removal()
    rows = list(
        session.execute(
            select(SiteLabel.id, SiteLabel.text).where(
                SiteLabel.site_id == site_id, SiteLabel.decided_at < cutoff
            )
        )
    )
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        out.texts += [text for _, text in chunk]
        out.labels_deleted += _rowcount(
            session.execute(delete(SiteLabel).where(SiteLabel.id.in_([i for i, _ in chunk])))
        )
    return out


def record_retention(
    session: Session, site_id: int, days: int, cutoff: datetime, removal: Removal, actor: str
) -> None:
    session.add(
        AuditEvent(
            actor=actor,
            event=RETENTION_EVENT,
            site_id=site_id,
            data={"retention_days": days, "cutoff": iso(cutoff), **removal.counts()},
        )
    )


def optimise_search_index(session: Session) -> None:
    """SQLite's FTS5 index keeps a deleted text's trigrams in old segments until they are merged; this
    rewrites the index so they are gone (PostgreSQL's trigram index is cleaned by vacuum)."""
    if session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql(
            "INSERT INTO comments_search(comments_search) VALUES ('optimize')"
        )
