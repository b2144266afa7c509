"""Storing comments and presenting them as the API returns them."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from moderation.domain import reader_reasons, reasons
from moderation.domain.enums import Status
from moderation.domain.submissions import CommentIn
from moderation.domain.timestamps import iso
from moderation.store.db import pairs_in
from moderation.store.errors import ExternalIdConflict
from moderation.store.keys import hash_ip
from moderation.store.tables import AuditEvent, Comment, Site


def site_ip_hash_key(session: Session, site: Site) -> str:
    """The site's key for hashing client addresses; a site without one (none should be) gets one now."""
    if site.ip_hash_key:
        return site.ip_hash_key
    row = session.get(Site, site.id)
    if row is None:
        raise ValueError(f"site {site.id} does not exist")
    if not row.ip_hash_key:
        row.ip_hash_key = secrets.token_hex(32)
        session.flush()
    return row.ip_hash_key


@dataclass(frozen=True)
class Stored:
    comment: Comment
    created: bool


def store_comments(session: Session, site: Site, items: Sequence[CommentIn]) -> list[Stored]:
    """Adds new comments (status pending) and returns existing ones for repeated external ids.

    Author addresses are kept only as a hash keyed with the site's own `ip_hash_key`.

    Raises `ExternalIdConflict` when an external id is reused with a different text; nothing is added then
    (the caller's transaction rolls back).
    """
    wanted = [(site.id, item.external_id) for item in items if item.external_id is not None]
    existing: dict[str, Comment] = {}
    if wanted:
        rows = session.scalars(
            select(Comment)
            .where(pairs_in(Comment.site_id, Comment.external_id, wanted))
            .options(selectinload(Comment.scores), selectinload(Comment.decisions))
        )
        existing = {c.external_id: c for c in rows if c.external_id is not None}
    out: list[Stored] = []
    seen_in_request: dict[str, Comment] = {}
    ip_key = site_ip_hash_key(session, site) if any(item.author.ip for item in items) else ""
    for index, item in enumerate(items):
        ext = item.external_id
        prior = None if ext is None else existing.get(ext) or seen_in_request.get(ext)
        if prior is not None:
            if prior.text != item.text:
                raise ExternalIdConflict(index, ext or "")
            out.append(Stored(prior, created=False))
            continue
        comment = Comment(
            site_id=site.id,
            external_id=ext,
            article_id=item.article_id,
            author_id=item.author.id,
            author_name=item.author.name,
            author_ip_hash=hash_ip(item.author.ip, ip_key) if item.author.ip else None,
            parent_id=item.parent_id,
            text=item.text,
            lang_hint=item.lang,
            extra=item.metadata or {},
            status=Status.PENDING.value,
            # A new comment has neither; saying so spares `serialize` a lazy load per comment.
            scores=None,
            decisions=[],
        )
        session.add(comment)
        if ext is not None:
            seen_in_request[ext] = comment
        out.append(Stored(comment, created=True))
    session.flush()
    for stored in out:
        if stored.created:
            session.add(
                AuditEvent(
                    actor=f"site:{site.name}",
                    event="comment.received",
                    site_id=site.id,
                    comment_id=stored.comment.id,
                    data={"external_id": stored.comment.external_id},
                )
            )
    return out


def find_comment(session: Session, site: Site, comment_id: str) -> Comment | None:
    """A site sees only its own comments; another site's id is simply not found."""
    return session.scalars(
        select(Comment)
        .where(Comment.id == comment_id, Comment.site_id == site.id)
        .options(selectinload(Comment.scores), selectinload(Comment.decisions))
    ).first()


def serialize(comment: Comment) -> dict[str, Any]:
    """The comment exactly as `GET /api/v1/comments/<id>` returns it."""
    decision = comment.decisions[-1] if comment.decisions else None
    return {
        "id": comment.id,
        "external_id": comment.external_id,
        "article_id": comment.article_id,
        "author": {"id": comment.author_id, "name": comment.author_name},
        "parent_id": comment.parent_id,
        "text": comment.text,
        "status": comment.status,
        "lang": comment.lang,
        "created_at": iso(comment.created_at),
        "decision": None
        if decision is None
        else {
            "action": decision.action,
            "reasons": [reasons.for_api(r) for r in decision.reasons or []],
            "source": decision.source,
            "model_version": decision.model_version,
            "site_model_version": decision.site_model_version,
            "scoring_profile": decision.scoring_profile,
            "reader_reason": reader_reasons.for_decision(
                decision.action,
                decision.source,
                decision.reasons or [],
                decision.reason_code,
                decision.reader_reason,
            ),
            "decided_at": iso(decision.created_at),
        },
        "scores": comment.scores.score_set().to_api() if comment.scores else None,
        "spans": list(comment.scores.spans or []) if comment.scores else [],
    }
