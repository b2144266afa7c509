"""Keeps `Comment.priority` (the held queue's order, `moderation.domain.priority`) in step with scores
and a site's thresholds.

The decision writer sets it when scores are written. A new reject threshold moves the boundary the
priority peaks at, so held comments of that site are re-ranked at once (`refresh_held_priorities`).
Other queues sort by time, so a comment outside the held queue may carry a rank computed under older
thresholds: a moderator's "hold" or an undo that puts it back into the held queue re-ranks it
(`refresh_priorities`).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from moderation.domain.attributes import NAMES
from moderation.domain.enums import Status
from moderation.domain.policy import Thresholds
from moderation.domain.priority import review_priority, thresholds_of
from moderation.store.tables import Comment, Scores, Site, priority_update

BATCH = 5000


def refresh_held_priorities(session: Session, site_id: int, thresholds: Thresholds) -> int:
    """Recomputes the priority of every held, scored comment of the site; returns how many changed."""
    rows = session.execute(
        select(Comment.id, Comment.priority, *Scores.columns())
        .join(Scores, Scores.comment_id == Comment.id)
        .where(Comment.site_id == site_id, Comment.status == Status.HELD.value)
    ).all()
    changes = []
    for row in rows:
        new = review_priority(dict(zip(NAMES, row[2:], strict=True)), thresholds)
        if new != row[1]:
            changes.append({"cid": row[0], "priority": new})
    statement = priority_update()
    for start in range(0, len(changes), BATCH):
        session.connection().execute(statement, changes[start : start + BATCH])
    return len(changes)


def refresh_priorities(session: Session, comment_ids: Iterable[str]) -> int:
    """Recomputes the priority of the listed comments that are held and scored, under their site's current
    thresholds; returns how many changed. Comments without scores keep theirs (`UNSCORED_PRIORITY`)."""
    ids = list(dict.fromkeys(comment_ids))
    if not ids:
        return 0
    session.flush()
    changes = []
    for start in range(0, len(ids), BATCH):
        rows = session.execute(
            select(Comment.id, Comment.priority, Site.policy, *Scores.columns())
            .join(Scores, Scores.comment_id == Comment.id)
            .join(Site, Site.id == Comment.site_id)
            .where(Comment.id.in_(ids[start : start + BATCH]), Comment.status == Status.HELD.value)
        ).all()
        for row in rows:
            new = review_priority(dict(zip(NAMES, row[3:], strict=True)), thresholds_of(row[2]))
            if new != row[1]:
                changes.append({"cid": row[0], "priority": new})
    if changes:
        session.connection().execute(priority_update(), changes)
        # The ORM objects of this session must not keep the old value (nor write it back).
        for change in changes:
            comment = session.get(Comment, change["cid"])
            if comment is not None:
                session.expire(comment, ["priority"])
    return len(changes)
