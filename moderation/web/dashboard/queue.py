"""The queues (held by default), a comment's full card, and the live update of the held queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, abort, jsonify, render_template, request
from flask_login import current_user
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from moderation.domain.attributes import NAMES
from moderation.domain.enums import ReasonCode
from moderation.store.decisions import UNDO_WINDOW
from moderation.store.tables import AuditEvent, Comment, User
from moderation.web.context import get_resources
from moderation.web.dashboard import queries, stats
from moderation.web.dashboard.fold import fold

bp = Blueprint("queue", __name__)
bp.add_app_template_filter(fold, "fold")

SCORE_ROWS = NAMES


def card_context() -> dict[str, Any]:
    return {
        "reason_codes": [code.value for code in ReasonCode],
        "score_rows": SCORE_ROWS,
        "undo_seconds": int(UNDO_WINDOW.total_seconds()) - 5,
    }


def _render_queue(queue: str) -> Any:
    filters = queries.Filters.from_args(queue, request.args)
    with get_resources().sessions() as db:
        page = queries.fetch_page(db, filters)
        counts = queries.counts(db, filters)
        sites = queries.sites(db)
    # Admins see when a site's model drifts from its moderators (details on the statistics page).
    drift_warnings = stats.banner_warnings() if current_user.is_admin else []
    return render_template(
        "queue.html",
        drift_warnings=drift_warnings,
        filters=filters,
        page=page,
        counts=counts,
        sites=sites,
        site_names={s.id: s.name for s in sites},
        attributes=queries.FILTER_ATTRIBUTES,
        queues=queries.QUEUES,
        sorts=queries.SORTS,
        now=datetime.now(UTC).isoformat(),
        **card_context(),
    )


@bp.get("/")
def index() -> Any:
    return _render_queue("held")


@bp.get("/queue/<queue>")
def by_status(queue: str) -> Any:
    if queue not in queries.QUEUES:
        abort(404)
    return _render_queue(queue)


@bp.get("/queue/updates")
def updates() -> Any:
    """Held comments that arrived since `since` (ISO time), as rendered cards, plus fresh counts.

    Polled every few seconds by the queue page; cheap because it uses the (status, decided_at) index.
    """
    filters = queries.Filters.from_args("held", request.args)
    try:
        since = datetime.fromisoformat((request.args.get("since") or "").replace("Z", "+00:00"))
    except ValueError:
        since = datetime.now(UTC) - timedelta(minutes=1)
    since = since if since.tzinfo else since.replace(tzinfo=UTC)
    now = datetime.now(UTC)
    with get_resources().sessions() as db:
        fresh = queries.held_since(db, filters, since)
        counts = queries.counts(db, filters)
        page = queries.Page(fresh, None, queries.author_histories(db, fresh), queries.parents_of(db, fresh))
        site_names = {s.id: s.name for s in queries.sites(db)}
        html = render_template("_cards.html", page=page, site_names=site_names, **card_context())
    return jsonify({"now": now.isoformat(), "count": len(fresh), "counts": counts, "html": html})


@bp.get("/comments/<comment_id>")
def detail(comment_id: str) -> Any:
    with get_resources().sessions() as db:
        comment = db.scalars(
            select(Comment)
            .where(Comment.id == comment_id)
            .options(
                selectinload(Comment.scores), selectinload(Comment.decisions), selectinload(Comment.site)
            )
        ).first()
        if comment is None:
            abort(404)
        page = queries.Page(
            [comment], None, queries.author_histories(db, [comment]), queries.parents_of(db, [comment])
        )
        earlier = list(
            db.scalars(
                select(Comment)
                .where(
                    Comment.site_id == comment.site_id,
                    Comment.author_id == comment.author_id,
                    Comment.id != comment.id,
                )
                .order_by(Comment.created_at.desc())
                .limit(10)
            )
        )
        names = [comment.id] + ([comment.external_id] if comment.external_id else [])
        replies = list(
            db.scalars(
                select(Comment)
                .where(Comment.site_id == comment.site_id, or_(*(Comment.parent_id == n for n in names)))
                .order_by(Comment.created_at)
                .limit(20)
            )
        )
        events = list(
            db.scalars(select(AuditEvent).where(AuditEvent.comment_id == comment.id).order_by(AuditEvent.id))
        )
        moderators = _moderator_emails(db, [d.moderator_id for d in comment.decisions])
    return render_template(
        "comment.html",
        comment=comment,
        page=page,
        earlier=earlier,
        replies=replies,
        events=events,
        undone={e.data.get("undo_of") for e in events if e.data and e.data.get("undo_of")},
        moderators=moderators,
        site_names={comment.site_id: comment.site.name},
        **card_context(),
    )


def _moderator_emails(db: Session, ids: list[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {m.id: m.email for m in db.scalars(select(User).where(User.id.in_(wanted)))}
