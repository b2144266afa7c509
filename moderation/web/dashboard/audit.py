"""The audit log: who did what and when, filterable, newest first, keyset-paged by id."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from flask import Blueprint, render_template, request
from sqlalchemy import select

from moderation.store.tables import AuditEvent
from moderation.web.context import get_resources
from moderation.web.dashboard import audit_text, queries
from moderation.web.dashboard.numbers import parse_day

bp = Blueprint("audit", __name__)
bp.add_app_template_filter(audit_text.actor_label, "audit_actor")

PAGE_SIZE = 50


def _day(raw: str | None) -> date | None:
    return parse_day(raw)


@bp.get("/audit")
def index() -> Any:
    args = request.args
    actor = queries.clean(args.get("actor"), 200)
    event = queries.clean(args.get("event"), 100)
    comment_id = queries.clean(args.get("comment"), 32)
    day_from, day_to = _day(args.get("date_from")), _day(args.get("date_to"))
    before = queries.row_id(args.get("before"))
    query = select(AuditEvent)
    if actor:
        query = query.where(AuditEvent.actor.contains(actor, autoescape=True))
    if event:
        query = query.where(AuditEvent.event == event)
    if comment_id:
        query = query.where(AuditEvent.comment_id == comment_id)
    if day_from:
        query = query.where(AuditEvent.created_at >= datetime.combine(day_from, time.min, tzinfo=UTC))
    if day_to and (end := queries.day_end(day_to)) is not None:
        query = query.where(AuditEvent.created_at < end)
    if before is not None:
        query = query.where(AuditEvent.id < before)
    with get_resources().sessions() as db:
        rows = list(db.scalars(query.order_by(AuditEvent.id.desc()).limit(PAGE_SIZE + 1)))
        kinds = sorted(db.scalars(select(AuditEvent.event).distinct()))
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    filters = {
        "actor": actor,
        "event": event,
        "comment": comment_id,
        "date_from": args.get("date_from", "") if day_from else "",
        "date_to": args.get("date_to", "") if day_to else "",
    }
    return render_template(
        "audit.html",
        events=rows,
        details={e.id: audit_text.describe(e.event, e.data) for e in rows},
        kinds=kinds,
        filters=filters,
        next_before=rows[-1].id if more and rows else None,
    )
