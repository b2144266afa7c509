"""A site's Coral Talk settings: the phase's signing secret and the answer's time budget.

The secret is kept as given (verifying Coral's HMAC needs it); audit events name that it changed,
never the secret itself.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from moderation.domain import coral
from moderation.store.errors import StoreError
from moderation.store.keys import new_coral_secret
from moderation.store.tables import AuditEvent, Site

MIN_SECRET_CHARS = 16
MAX_SECRET_CHARS = 100  # `sites.coral_secret` is VARCHAR(100)


class CoralSettingError(StoreError, ValueError):
    """A secret or budget that cannot be stored; `code` says which rule it breaks."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def find_site(session: Session, name: str) -> Site | None:
    return session.scalars(select(Site).where(Site.name == name)).first()


def check_secret(secret: str) -> str:
    """A secret pasted from Coral (`empsec_...`) or one of ours: printable ASCII without spaces."""
    secret = secret.strip()
    if not MIN_SECRET_CHARS <= len(secret) <= MAX_SECRET_CHARS:
        raise CoralSettingError(
            "secret_length", f"a signing secret has {MIN_SECRET_CHARS} to {MAX_SECRET_CHARS} characters"
        )
    if not (secret.isascii() and secret.isprintable()) or " " in secret:
        raise CoralSettingError("secret_characters", "a signing secret is printable ASCII without spaces")
    return secret


def set_secret(session: Session, site_id: int, secret: str | None, *, actor: str) -> str:
    """Stores `secret` (Coral's, pasted by an admin) or a new one of ours when None; returns it.

    One secret is enough across a rotation: while Coral rotates its secret it signs with the old and the
    new one, so requests verify with whichever of them is stored here.
    """
    row = session.get(Site, site_id)
    if row is None:
        raise CoralSettingError("no_site", f"site {site_id} does not exist")
    generated = secret is None
    value = new_coral_secret() if secret is None else check_secret(secret)
    rotated = row.coral_secret is not None
    row.coral_secret = value
    session.add(
        AuditEvent(
            actor=actor,
            event="site.coral_secret_set",
            site_id=site_id,
            data={"generated": generated, "rotated": rotated},
        )
    )
    return value


def set_budget(session: Session, site_id: int, budget_ms: int | None, *, actor: str) -> None:
    """The site's own budget in milliseconds (None: the service's `MODERATION_CORAL_BUDGET_MS`)."""
    if budget_ms is not None and not coral.valid_budget(budget_ms):
        raise CoralSettingError("budget", f"the budget is 0 to {coral.MAX_BUDGET_MS} milliseconds")
    row = session.get(Site, site_id)
    if row is None:
        raise CoralSettingError("no_site", f"site {site_id} does not exist")
    previous = row.coral_budget_ms
    row.coral_budget_ms = budget_ms
    session.add(
        AuditEvent(
            actor=actor,
            event="site.coral_budget_changed",
            site_id=site_id,
            data={"coral_budget_ms": budget_ms, "previous": previous},
        )
    )
