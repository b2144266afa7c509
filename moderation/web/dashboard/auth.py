"""Logging in and out, roles, throttled failed logins, and the UI language choice."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar, cast

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import UserMixin, current_user, login_user, logout_user
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from moderation.domain.enums import Role
from moderation.domain.timestamps import utcnow
from moderation.store.db import transaction
from moderation.store.keys import hash_ip
from moderation.store.tables import AuditEvent, LoginFailure, User
from moderation.web.context import get_resources

bp = Blueprint("auth", __name__)

THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_IP = 20
# Checked when the email is unknown, so a wrong email costs as much time as a wrong password.
_DUMMY_HASH = generate_password_hash("not a real password, only spends the same time")

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class SignedInUser(UserMixin):
    id: int
    email: str
    role: str

    def get_id(self) -> str:
        return str(self.id)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN.value


def load_user(user_id: str) -> SignedInUser | None:
    if not user_id.isdigit():
        return None
    with get_resources().sessions() as db:
        row = db.get(User, int(user_id))
        if row is None or not row.active:
            return None
        return SignedInUser(row.id, row.email, row.role)


def signed_in_user(db: Session) -> User:
    """The logged-in account as a row of `db` (decisions reference it)."""
    row = db.get(User, int(current_user.get_id()))
    if row is None or not row.active:
        abort(403)
    return row


def admin_required(view: F) -> F:
    """Roles are enforced here, on the server; hiding a link is only a convenience."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated or not current_user.is_admin:
            abort(403, _("This page is for administrators."))
        return view(*args, **kwargs)

    return cast(F, wrapped)


def safe_next(target: str | None) -> str:
    """Only same-site paths: `//evil.example` or `https://...` would turn login into an open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("queue.index")


def _throttled(db: Session, email: str, ip_hash: str) -> bool:
    since = utcnow() - THROTTLE_WINDOW
    by_account = db.scalar(
        select(func.count()).where(LoginFailure.email == email, LoginFailure.created_at >= since)
    )
    by_ip = db.scalar(
        select(func.count()).where(LoginFailure.ip_hash == ip_hash, LoginFailure.created_at >= since)
    )
    return (by_account or 0) >= MAX_FAILURES_PER_ACCOUNT or (by_ip or 0) >= MAX_FAILURES_PER_IP


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if current_user.is_authenticated and request.method == "GET":
        return redirect(safe_next(request.args.get("next")))
    error = None
    status = 200
    if request.method == "POST":
        email = (request.form.get("email") or "").strip().lower()[:320]
        password = request.form.get("password") or ""
        resources = get_resources()
        ip_hash = hash_ip(request.remote_addr or "unknown", resources.config.secret_key)
        with transaction(resources.sessions) as db:
            if _throttled(db, email, ip_hash):
                error, status = _("Too many failed logins. Please wait a few minutes and try again."), 429
                user = None
            else:
                user = db.scalars(select(User).where(User.email == email)).first()
                valid = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
                if user is None or not valid or not user.active:
                    db.add(LoginFailure(email=email, ip_hash=ip_hash))
                    db.add(
                        AuditEvent(actor=f"login:{email}", event="login.failed", data={"ip_hash": ip_hash})
                    )
                    error, status, user = _("Email or password is wrong."), 401, None
                else:
                    db.execute(delete(LoginFailure).where(LoginFailure.email == email))
                    db.add(AuditEvent(actor=f"moderator:{email}", event="login.succeeded", data={}))
                    account = SignedInUser(user.id, user.email, user.role)
        if user is not None:
            language = session.get("lang")
            session.clear()  # a fresh session on login: no fixation of a session planted before it
            if language:
                session["lang"] = language
            login_user(account)
            current_app.logger.info("dashboard login: %s", email)
            return redirect(safe_next(request.form.get("next")))
    body = render_template("login.html", error=error, next=request.values.get("next", ""))
    return body, status


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/language", methods=["POST"])
def language() -> Any:
    chosen = request.form.get("lang")
    if chosen in ("de", "en"):
        session["lang"] = chosen
    return redirect(safe_next(request.form.get("next")))
