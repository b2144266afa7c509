"""First-start set-up for `moderation up`: schema, model, admin account and a demo site (named by
MODERATION_DEMO_SITE, `demo` by default) whose publishable key the demo article at /demo/ uses."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from classifiers.registry import Registry
from moderation.config import Config
from moderation.domain.enums import Role
from moderation.store import model_versions
from moderation.store.accounts import create_site, create_user
from moderation.store.db import transaction
from moderation.store.model_versions import register_and_activate
from moderation.store.tables import Site, User

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Welcome:
    admin_email: str
    admin_password: str | None
    demo_api_key: str | None


def ensure_model(sessions: sessionmaker[Session], registry: Registry, train: Callable[[], str]) -> str:
    """Returns the active version, activating the newest stored one or training one if none exists."""
    with sessions() as session:
        active = model_versions.active_version(session)
    if active is not None and active in registry.versions():
        return active
    version = registry.latest()
    if version is None:
        log.info("no model in %s; training the default model (about a minute)", registry.root)
        version = train()
    register_and_activate(sessions, registry, version, actor="bootstrap")
    return version


def _credentials_file(config: Config) -> Path:
    return config.home / "first-run.json"


def ensure_accounts(sessions: sessionmaker[Session], config: Config) -> Welcome:
    """Creates the admin and the demo site on first start; later starts read back what was generated.

    Generated secrets are kept in MODERATION_HOME/first-run.json (mode 600) so `make run` can print the
    login and key each time; set MODERATION_ADMIN_PASSWORD / MODERATION_DEMO_API_KEY to choose them.
    """
    path = _credentials_file(config)
    saved: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    with transaction(sessions) as session:
        if session.scalars(select(User).where(User.email == config.admin_email)).first() is None:
            password = config.admin_password or secrets.token_urlsafe(12)
            create_user(session, config.admin_email, password, Role.ADMIN, actor="bootstrap")
            saved["admin_password"] = "" if config.admin_password else password
        demo = session.scalars(select(Site).where(Site.name == config.demo_site)).first()
        if demo is None:
            new = create_site(session, config.demo_site, secret_key=config.demo_api_key, actor="bootstrap")
            saved["demo_api_key"] = "" if config.demo_api_key else new.secret_key
            demo = new.site
        # The demo article at /demo/ posts with the site's publishable key from this server's own origin.
        own = [f"http://{host}:{config.port}" for host in ("127.0.0.1", "localhost")]
        missing = [origin for origin in own if origin not in (demo.allowed_origins or [])]
        if missing:
            demo.allowed_origins = [*(demo.allowed_origins or []), *missing]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(saved))
    path.chmod(0o600)
    return Welcome(
        admin_email=config.admin_email,
        admin_password=config.admin_password or saved.get("admin_password") or None,
        demo_api_key=config.demo_api_key or saved.get("demo_api_key") or None,
    )
