"""A site's training labels: its moderators' standing decisions and the decisions imported from its
archive.

The decision writer keeps moderator labels in step (`sync_label`): the latest decision on a comment wins,
a moderator's approve or reject is a label, anything else (a hold, an undo back to the model's decision)
removes it. Imported labels are training data only, never comments to moderate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from moderation.domain.enums import Action, LabelSource, Source
from moderation.domain.labels import LABEL_ACTIONS, LabelIn
from moderation.domain.timestamps import as_utc, iso, utcnow
from moderation.store.tables import Comment, Decision, SiteLabel

IMPORT_CHUNK = 5000


def sync_label(session: Session, comment: Comment, decision: Decision | None) -> None:
    """Makes the comment's label match its current decision (`decision`, or none)."""
    label = session.scalars(select(SiteLabel).where(SiteLabel.comment_id == comment.id)).first()
    standing = (
        decision is not None
        and decision.source == Source.MODERATOR.value
        and decision.action in LABEL_ACTIONS
    )
    if not standing:
        if label is not None:
            session.delete(label)
        return
    assert decision is not None
    if label is None:
        label = SiteLabel(site_id=comment.site_id, source=LabelSource.MODERATOR.value, comment_id=comment.id)
        session.add(label)
    label.text = comment.text
    label.action = decision.action
    label.reason = decision.reason_code
    label.external_id = comment.external_id
    label.article_id = comment.article_id
    label.author_id = comment.author_id
    label.decided_at = decision.created_at


def import_labels(
    session: Session, site_id: int, labels: Sequence[LabelIn], progress: Callable[[int], None] | None = None
) -> int:
    """Adds an archive's labels in the caller's transaction. A label whose external id the site already
    imported replaces the earlier one, so importing the same file twice keeps one copy. Lines without
    `decided_at` take the import time and keep their file order (ids ascend)."""
    now = utcnow()
    external = [label.external_id for label in labels if label.external_id]
    for start in range(0, len(external), IMPORT_CHUNK):
        session.execute(
            delete(SiteLabel).where(
                SiteLabel.site_id == site_id,
                SiteLabel.source == LabelSource.IMPORTED.value,
                SiteLabel.external_id.in_(external[start : start + IMPORT_CHUNK]),
            )
        )
    for start in range(0, len(labels), IMPORT_CHUNK):
        chunk = labels[start : start + IMPORT_CHUNK]
        session.execute(
            insert(SiteLabel),
            [
                {
                    "site_id": site_id,
                    "source": LabelSource.IMPORTED.value,
                    "comment_id": None,
                    "external_id": label.external_id,
                    "article_id": label.article_id,
                    "author_id": label.author_id,
                    "text": label.text,
                    "action": label.action,
                    "reason": label.reason,
                    "decided_at": label.decided_at or now,
                    "created_at": now,
                }
                for label in chunk
            ],
        )
        if progress is not None:
            progress(len(chunk))
    return len(labels)


@dataclass(frozen=True)
class TrainingLabel:
    text: str
    rejected: int
    decided_at: datetime


def training_labels(session: Session, site_id: int) -> list[TrainingLabel]:
    """Every label of the site, oldest decision first (the newest fifth is the guard's held-back slice)."""
    rows = session.execute(
        select(SiteLabel.text, SiteLabel.action, SiteLabel.decided_at)
        .where(SiteLabel.site_id == site_id)
        .order_by(SiteLabel.decided_at, SiteLabel.id)
    )
    return [
        TrainingLabel(text, int(action == Action.REJECT.value), as_utc(decided) or utcnow())
        for text, action, decided in rows
    ]


def count_labels(session: Session, site_id: int, since: datetime | None = None) -> int:
    query = select(func.count()).select_from(SiteLabel).where(SiteLabel.site_id == site_id)
    if since is not None:
        query = query.where(SiteLabel.created_at > since)
    return int(session.scalar(query) or 0)


def export_labels(session: Session, site_id: int, batch: int = 5000) -> Iterator[dict[str, object]]:
    """Every label of the site as JSON-ready objects, oldest first (the import format, plus `source` and
    `comment_id`)."""
    offset = 0
    query = select(SiteLabel).where(SiteLabel.site_id == site_id).order_by(SiteLabel.decided_at, SiteLabel.id)
    while rows := list(session.scalars(query.offset(offset).limit(batch))):
        for row in rows:
            yield {
                "text": row.text,
                "action": row.action,
                "reason": row.reason,
                "external_id": row.external_id,
                "article_id": row.article_id,
                "author_id": row.author_id,
                "decided_at": iso(row.decided_at),
                "source": row.source,
                "comment_id": row.comment_id,
            }
        offset += len(rows)
