"""Logging in and out, roles, throttled failed logins, and the UI language choice."""

from __future__ import annotations

import functools
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast
from urllib.parse import urljoin, urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import UserMixin, current_user, login_user, logout_user
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from moderation.domain.enums import Role
from moderation.domain.timestamps import utcnow
from moderation.store.accounts import set_password
from moderation.store.db import transaction
from moderation.store.tables import AuditEvent, LoginFailure, User
from moderation.web.context import get_resources
from moderation.web.dashboard.login_throttle import WINDOW, Gate, LoginThrottle, sql_throttled

bp = Blueprint("auth", __name__)

# The login session remembers the account's session generation; logout and a password change raise it.
SESSION_GENERATION = "session_generation"
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
        if session.get(SESSION_GENERATION) != row.session_generation:
            return None  # logged out or password changed since this session began
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


# Printable ASCII without space and backslash: browsers drop tabs and newlines inside URLs and read `\` as
# `/`, so `/\t/evil.example` or `/\\evil.example` would leave the site; our own paths never need them.
_NEXT_CHARACTERS = frozenset(string.ascii_letters + string.digits + "/-._~!$&'()*+,;=:@%?#[]")
_PROBE_ORIGIN = "https://dashboard.invalid"


def is_safe_next(target: str) -> bool:
    """True for a path on this site (`/queue/all?site=2`); false for anything a browser could resolve to
    another origin: `//host`, `/\\host`, `/%09/host` (a tab), schemes, CR/LF, or more than 2,000 chars."""
    if not (1 <= len(target) <= 2000) or not target.startswith("/") or target.startswith("//"):
        return False
    if not set(target) <= _NEXT_CHARACTERS:
        return False
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return False
    resolved = urlsplit(urljoin(_PROBE_ORIGIN + "/", target))
    return f"{resolved.scheme}://{resolved.netloc}" == _PROBE_ORIGIN


def safe_next(target: str | None) -> str:
    """`target` when it is a same-origin path, else the dashboard's home: never an open redirect."""
    if isinstance(target, str) and is_safe_next(target):
        return target
    return url_for("queue.index")


def _client_address() -> str:
    """The client's address (behind `MODERATION_TRUSTED_PROXIES` proxies, ProxyFix put the real one here)."""
    return request.remote_addr or "unknown"


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
        address = _client_address()
        throttle = LoginThrottle(resources.redis, resources.config.secret_key)
        ip_hash = throttle.address_hash(address)
        gate = throttle.begin(email, address)  # counted before the password check, atomically
        with transaction(resources.sessions) as db:
            if gate is Gate.REFUSED or (gate is Gate.UNCOUNTED and sql_throttled(db, email, ip_hash)):
                error, status = _("Too many failed logins. Please wait a few minutes and try again."), 429
                user = None
            else:
                user = db.scalars(select(User).where(User.email == email)).first()
                valid = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
                if user is None or not valid or not user.active:
                    # Failures older than the window count for nothing: they are not kept either.
                    db.execute(delete(LoginFailure).where(LoginFailure.created_at < utcnow() - WINDOW))
                    db.add(LoginFailure(email=email, ip_hash=ip_hash))
                    db.add(
                        AuditEvent(actor=f"login:{email}", event="login.failed", data={"ip_hash": ip_hash})
                    )
                    error, status, user = _("Email or password is wrong."), 401, None
                else:
                    mine = (LoginFailure.email == email, LoginFailure.ip_hash == ip_hash)
                    db.execute(delete(LoginFailure).where(*mine))
                    db.add(AuditEvent(actor=f"moderator:{email}", event="login.succeeded", data={}))
                    account = SignedInUser(user.id, user.email, user.role)
                    generation = user.session_generation
        if user is not None:
            language = session.get("lang")
            session.clear()  # a fresh session on login: no fixation of a session planted before it
            if language:
                session["lang"] = language
            session[SESSION_GENERATION] = generation
            throttle.succeeded(email, address)
            login_user(account)
            current_app.logger.info("dashboard login: %s", email)
            return redirect(safe_next(request.form.get("next")))
    body = render_template("login.html", error=error, next=request.values.get("next", ""))
    return body, status


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    if current_user.is_authenticated:
        # Every session of this account ends here, including a copy of this cookie taken elsewhere.
        with transaction(get_resources().sessions) as db:
            db.execute(
                update(User)
                .where(User.id == int(current_user.get_id()))
                .values(session_generation=User.session_generation + 1)
            )
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
def password() -> Any:
    """A moderator changes their own password; every other session of the account ends, this one stays."""
    error = None
    status = 200
    if request.method == "POST":
        current = request.form.get("current_password") or ""
        new = request.form.get("new_password") or ""
        resources = get_resources()
        email = current_user.email
        address = _client_address()
        throttle = LoginThrottle(resources.redis, resources.config.secret_key)
        ip_hash = throttle.address_hash(address)
        # The current password is asked for (a session left open must not be enough), and guessing it
        # here is throttled like guessing it at the login form.
        gate = throttle.begin(email, address)
        verified = False
        with transaction(resources.sessions) as db:
            user = signed_in_user(db)
            if gate is Gate.REFUSED or (gate is Gate.UNCOUNTED and sql_throttled(db, email, ip_hash)):
                error, status = _("Too many failed logins. Please wait a few minutes and try again."), 429
            elif not check_password_hash(user.password_hash, current):
                db.add(LoginFailure(email=email, ip_hash=ip_hash))
                error, status = _("The current password is wrong."), 403
            else:
                verified = True
                if new != request.form.get("repeat_password"):
                    error, status = _("The two new passwords differ."), 422
                elif len(new) < 10:
                    error, status = _("A password needs at least 10 characters."), 422
                else:
                    set_password(db, email, new, actor=f"moderator:{email}")
                    generation = user.session_generation
        if verified:
            throttle.succeeded(email, address)
        if error is None:
            session[SESSION_GENERATION] = generation  # this session goes on; all others end
            flash(_("Password changed. Every other session of this account has been logged out."), "success")
            return redirect(url_for("queue.index"))
    return render_template("password.html", error=error), status


@bp.route("/language", methods=["POST"])
def language() -> Any:
    chosen = request.form.get("lang")
    if chosen in ("de", "en"):
        session["lang"] = chosen
    return redirect(safe_next(request.form.get("next")))
