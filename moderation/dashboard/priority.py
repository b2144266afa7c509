"""Keeps the held queue's order in step with a site's thresholds after an admin changes them.

`Comment.priority` is computed when scores are written (`moderation.models.review_priority`); a new
reject threshold moves the boundary it peaks at, so held comments of that site are re-ranked at once.
Other queues sort by time, and a comment that returns to the held queue keeps its old rank until then.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from moderation.models import RISK_ATTRIBUTES, Comment, Scores, Status, priority_update, review_priority

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
