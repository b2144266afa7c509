"""Creating sites (with their keys) and dashboard accounts."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from moderation.domain.enums import Role
from moderation.domain.policy import SitePolicy
from moderation.store.errors import AccountError
from moderation.store.keys import hash_key, new_publishable_key, new_secret_key, new_webhook_secret
from moderation.store.tables import AuditEvent, Site, User


@dataclass(frozen=True)
class NewSite:
    site: Site
    secret_key: str
    publishable_key: str


def create_site(
    session: Session,
    name: str,
    *,
    secret_key: str | None = None,
    allowed_origins: list[str] | None = None,
    actor: str = "cli",
) -> NewSite:
    """Adds a site with the default policy; the secret key is returned here and never again."""
    if session.scalars(select(Site).where(Site.name == name)).first() is not None:
        raise AccountError(f"a site named {name!r} already exists")
    secret_key = secret_key or new_secret_key()
    publishable = new_publishable_key()
    site = Site(
        name=name,
        api_key_hash=hash_key(secret_key),
        api_key_prefix=secret_key[:12],
        publishable_key=publishable,
        allowed_origins=list(allowed_origins or []),
        policy=SitePolicy().to_dict(),
        webhook_secret=new_webhook_secret(),
    )
    session.add(site)
    session.flush()
    session.add(AuditEvent(actor=actor, event="site.created", site_id=site.id, data={"name": name}))
    return NewSite(site, secret_key, publishable)


def create_user(session: Session, email: str, password: str, role: Role, *, actor: str = "cli") -> User:
    email = email.strip().lower()
    if "@" not in email:
        raise AccountError(f"{email!r} is not an email address")
    if len(password) < 10:
        raise AccountError("a password needs at least 10 characters")
    if session.scalars(select(User).where(User.email == email)).first() is not None:
        raise AccountError(f"an account for {email} already exists")
    user = User(email=email, password_hash=generate_password_hash(password), role=role.value)
    session.add(user)
    session.flush()
    session.add(AuditEvent(actor=actor, event="user.created", data={"email": email, "role": role.value}))
    return user


def set_password(session: Session, email: str, password: str, *, actor: str = "cli") -> User:
    """Gives an account a new password and ends every session it has open (they may have been stolen)."""
    email = email.strip().lower()
    if len(password) < 10:
        raise AccountError("a password needs at least 10 characters")
    user = session.scalars(select(User).where(User.email == email)).first()
    if user is None:
        raise AccountError(f"there is no account for {email}")
    user.password_hash = generate_password_hash(password)
    user.session_generation = (user.session_generation or 0) + 1
    session.add(AuditEvent(actor=actor, event="user.password_changed", data={"email": email}))
    return user
