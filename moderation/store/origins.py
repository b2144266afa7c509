"""A site's allowed origins: the pages whose readers may use its publishable key (CORS).

A browser sends its page's origin as `scheme://host[:port]`, exactly, lower case, without a path or a
default port; an origin is stored in that form, so the API compares strings and never parses one.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from moderation.store.tables import AuditEvent, Site

DEFAULT_PORTS = {"http": 80, "https": 443}


class OriginError(ValueError):
    """Not an origin a browser could send."""


def normalise_origin(raw: str) -> str:
    """`https://Example.org:443/` -> `https://example.org`; raises OriginError for anything that is
    not an http(s) origin (a path, a query, user info, a wildcard)."""
    value = raw.strip()
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise OriginError(f"{raw!r} is not an origin: {exc}") from exc
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise OriginError(f"{raw!r} is not an origin: give scheme and host, e.g. https://www.example.org")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or "*" in value:
        raise OriginError(f"{raw!r} is not an origin: only scheme, host and port, no path or wildcard")
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    shown_port = "" if port is None or port == DEFAULT_PORTS[parts.scheme] else f":{port}"
    return f"{parts.scheme}://{host}{shown_port}"


def change_origins(
    session: Session, site: Site, add: Iterable[str] = (), remove: Iterable[str] = (), *, actor: str
) -> list[str]:
    """Adds and removes allowed origins (normalised; adding one twice keeps one) and records the change
    in the audit log; returns the site's origins. Raises OriginError before changing anything."""
    adding = [normalise_origin(origin) for origin in add]
    removing = {normalise_origin(origin) for origin in remove}
    before = list(site.allowed_origins or [])
    after = [origin for origin in dict.fromkeys([*before, *adding]) if origin not in removing]
    if after != before:
        site.allowed_origins = after
        session.add(
            AuditEvent(
                actor=actor,
                event="site.origins_changed",
                site_id=site.id,
                data={"allowed_origins": after, "previous": before},
            )
        )
    return after
