"""Scores a site suggests through Perspective's `comments:suggestscore`, kept as its training labels.

Perspective used suggested scores to improve its models; here they teach the site's own model (a
label of source `suggested` beside its moderators' and its imported ones), so what a site's community
team corrects in Perspective's answers shapes `site_reject` the way its moderators' decisions do.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from moderation.domain.enums import LabelSource
from moderation.domain.perspective import Suggestion
from moderation.domain.timestamps import utcnow
from moderation.store.tables import AuditEvent, SiteLabel


def add_suggested_label(session: Session, site_id: int, site_name: str, suggestion: Suggestion) -> SiteLabel:
    """Adds the label in the caller's transaction (audited as `label.suggested`, without the text)."""
    now = utcnow()
    label = SiteLabel(
        site_id=site_id,
        source=LabelSource.SUGGESTED.value,
        comment_id=None,
        external_id=None,
        article_id=suggestion.article_id,
        author_id=suggestion.author_id,
        text=suggestion.text,
        action=suggestion.action,
        reason=suggestion.reason,
        decided_at=now,
        created_at=now,
    )
    session.add(label)
    session.flush()
    session.add(
        AuditEvent(
            actor=f"site:{site_name}",
            event="label.suggested",
            site_id=site_id,
            data={"label_id": label.id, "action": suggestion.action, "reason": suggestion.reason},
        )
    )
    return label
