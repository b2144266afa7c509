"""Keeps the held queue's order in step with a site's thresholds after an admin changes them.

`Comment.priority` is computed when scores are written (`moderation.models.review_priority`); a new
reject threshold moves the boundary it peaks at, so held comments of that site are re-ranked at once.
Other queues sort by time, so a comment outside the held queue may carry a rank computed under older
thresholds: a moderator's "hold" or an undo that puts it back into the held queue re-ranks it
(`refresh_priorities`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from moderation.models import (
    RISK_ATTRIBUTES,
    Comment,
    Scores,
    Site,
    Status,
    priority_update,
    review_priority,
    site_thresholds,
)

BATCH = 5000


def refresh_held_priorities(
    session: Session, site_id: int, thresholds: Mapping[str, Mapping[str, float | None]]
) -> int:
    """Recomputes the priority of every held, scored comment of the site; returns how many changed."""
    columns = [getattr(Scores, name) for name in RISK_ATTRIBUTES]
    rows = session.execute(
        select(Comment.id, Comment.priority, *columns)
        .join(Scores, Scores.comment_id == Comment.id)
        .where(Comment.site_id == site_id, Comment.status == Status.HELD.value)
    ).all()
    changes = []
    for row in rows:
        new = review_priority({name: row[2 + i] for i, name in enumerate(RISK_ATTRIBUTES)}, thresholds)
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
    columns = [getattr(Scores, name) for name in RISK_ATTRIBUTES]
    changes = []
    for start in range(0, len(ids), BATCH):
        rows = session.execute(
            select(Comment.id, Comment.priority, Site.policy, *columns)
            .join(Scores, Scores.comment_id == Comment.id)
            .join(Site, Site.id == Comment.site_id)
            .where(Comment.id.in_(ids[start : start + BATCH]), Comment.status == Status.HELD.value)
        ).all()
        for row in rows:
            scores = {name: row[3 + i] for i, name in enumerate(RISK_ATTRIBUTES)}
            new = review_priority(scores, site_thresholds(row[2]))
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
