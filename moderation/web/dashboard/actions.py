"""Moderator actions: approve / reject one or many comments, a whole score band, and undo.

Every form works without JavaScript (POST, then redirect back); the queue's script sends the same
forms with `Accept: application/json` and updates the page in place.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from moderation.domain.enums import Action
from moderation.store.db import transaction
from moderation.store.decisions import apply_decision, undo
from moderation.store.errors import DecisionError
from moderation.store.tables import Comment, Scores
from moderation.web.context import get_resources
from moderation.web.dashboard import queries
from moderation.web.dashboard.auth import safe_next, signed_in_user
from moderation.web.dashboard.wording import decision_error

bp = Blueprint("actions", __name__, url_prefix="/actions")

MAX_BAND = 5000  # one band action decides at most this many comments: a mistake stays undoable in bulk
BAND_EXAMPLES = 5
MODERATOR_ACTIONS = (Action.APPROVE, Action.REJECT, Action.HOLD)


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _action() -> Action:
    try:
        action = Action(request.form.get("action", ""))
    except ValueError:
        action = None  # type: ignore[assignment]
    if action not in MODERATOR_ACTIONS:
        raise DecisionError("unknown_action", "unknown action")
    return action


def _fail(message: str) -> Any:
    if _wants_json():
        return jsonify({"error": {"code": "invalid_request", "message": message}}), 422
    flash(message, "error")
    return redirect(safe_next(request.form.get("next")))


def _done(action_id: str, action: Action, decided: int) -> Any:
    message = _message(action, decided)
    undo_url = url_for("actions.undo_action", action_id=action_id)
    if _wants_json():
        return jsonify({"action_id": action_id, "decided": decided, "message": message, "undo_url": undo_url})
    # Shown once by the next page (base.html) as an undo button beside the message.
    session["undo"] = {"url": undo_url, "message": message}
    flash(message, "success")
    return redirect(safe_next(request.form.get("next")))


def _message(action: Action, count: int) -> str:
    if action is Action.APPROVE:
        return ngettext("%(num)d comment approved.", "%(num)d comments approved.", count)
    if action is Action.REJECT:
        return ngettext("%(num)d comment rejected.", "%(num)d comments rejected.", count)
    return ngettext("%(num)d comment held.", "%(num)d comments held.", count)


@bp.post("/decide")
def decide() -> Any:
    ids = [i for i in request.form.getlist("comment_id") if i][:1000]
    if not ids:
        return _fail(_("Select at least one comment."))
    try:
        action = _action()
        with transaction(get_resources().sessions) as db:
            applied = apply_decision(
                db,
                signed_in_user(db),
                ids,
                action,
                reason_code=request.form.get("reason_code") or None,
                note=request.form.get("note"),
                # What the comment's author is told (optional; empty: derived from the reasons).
                reader_reason={
                    "de": request.form.get("reader_reason_de"),
                    "en": request.form.get("reader_reason_en"),
                },
            )
    except DecisionError as exc:
        return _fail(_("Not saved: %(error)s", error=decision_error(exc)))
    return _done(applied.action_id, action, applied.decided)


def band_examples(db: Session, filters: queries.Filters, limit: int = BAND_EXAMPLES) -> list[Any]:
    """The band's comments with the highest scores (what the confirmation shows before deciding)."""
    query = (
        queries.base_query(filters)
        .with_only_columns(Comment.id, Comment.author_id, Comment.author_name, Comment.text, Scores.risk)
        .order_by(Scores.risk.desc(), Comment.id)
        .limit(limit)
    )
    return list(db.execute(query))


@bp.post("/band")
def band() -> Any:
    """Decides every held comment in a score band (within the queue's filters) after a confirmation."""
    filters = queries.Filters.from_args("held", request.form)
    if filters.band_min is None or filters.band_max is None or filters.band_min > filters.band_max:
        return _fail(_("Give a score band: from and to, between 0 and 1."))
    filters = replace(filters, cursor="")
    try:
        action = _action()
    except DecisionError as exc:
        return _fail(decision_error(exc))
    reason_code = request.form.get("reason_code") or None
    query = queries.base_query(filters).with_only_columns(Comment.id).order_by(Scores.risk.desc())
    with get_resources().sessions() as db:
        total = db.scalar(
            queries.apply_filters(
                select(func.count()).select_from(Comment).join(Scores, Scores.comment_id == Comment.id),
                filters,
            )
        )
        examples = [] if request.form.get("confirm") == "yes" else band_examples(db, filters)
    if request.form.get("confirm") != "yes":
        return render_template(
            "confirm_band.html",
            filters=filters,
            action=action,
            reason_code=reason_code,
            note=request.form.get("note", ""),
            total=total or 0,
            limit=MAX_BAND,
            examples=examples,
        )
    try:
        with transaction(get_resources().sessions) as db:
            ids = list(db.scalars(query.limit(MAX_BAND)))
            applied = apply_decision(
                db, signed_in_user(db), ids, action, reason_code, request.form.get("note")
            )
    except DecisionError as exc:
        return _fail(_("Not saved: %(error)s", error=decision_error(exc)))
    return _done(applied.action_id, action, applied.decided)


@bp.post("/undo/<action_id>")
def undo_action(action_id: str) -> Any:
    try:
        with transaction(get_resources().sessions) as db:
            undone = undo(db, signed_in_user(db), action_id)
    except DecisionError as exc:
        return _fail(_("Cannot undo: %(error)s", error=decision_error(exc)))
    session.pop("undo", None)
    restored = undone.restored
    message = ngettext("%(num)d decision undone.", "%(num)d decisions undone.", restored)
    if _wants_json():
        return jsonify({"restored": restored, "message": message, "comment_ids": list(undone.comment_ids)})
    flash(message, "success")
    # Without the script the restored comment is brought into view by its anchor.
    anchor = f"#c-{undone.comment_ids[0]}" if undone.comment_ids else ""
    return redirect(safe_next(request.form.get("next")) + anchor)
