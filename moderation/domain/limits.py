"""A site's own limits: its sliding-minute budgets and how many of its requests may hold `?wait`.

Each value is a whole number from 0 to 10^9, 0 meaning "no limit"; a value the site has not set (None)
falls back to the service's default from the environment. Stored as `sites.limits` (only the values the
site set), read by the API on every request and by the Perspective integration
(`perspective_per_minute`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from moderation.domain.errors import PolicyError

MAX_LIMIT = 10**9

# The names as stored, as the CLI spells them (`--site-per-minute`) and as the settings form names them.
NAMES = (
    "site_per_minute",
    "browser_per_minute",
    "author_per_minute",
    "address_per_minute",
    "perspective_per_minute",
    "wait_concurrent",
    "wait_concurrent_per_site",
)


def check_limit(name: str, value: object) -> int:
    """`value` as a limit, or a `PolicyError` naming the field."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_LIMIT:
        raise PolicyError(f"{name} must be a whole number from 0 to {MAX_LIMIT} (0: no limit)")
    return value


@dataclass(frozen=True)
class SiteLimits:
    """Budgets per sliding minute (the site's secret key, its publishable key in browsers, one author,
    one client address, calls to Perspective) and `?wait` slots (requests held at once in one API
    process: overall while this site's request waits, and this site's own)."""

    site_per_minute: int | None = None
    browser_per_minute: int | None = None
    author_per_minute: int | None = None
    address_per_minute: int | None = None
    perspective_per_minute: int | None = None
    wait_concurrent: int | None = None
    wait_concurrent_per_site: int | None = None

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None) -> SiteLimits:
        """The limits a site stored; unknown names and wrong values raise `PolicyError`."""
        raw = raw or {}
        unknown = sorted(set(raw) - set(NAMES))
        if unknown:
            raise PolicyError(f"unknown limit {', '.join(unknown)}; known: {', '.join(NAMES)}")
        return cls(**{name: None if raw.get(name) is None else check_limit(name, raw[name]) for name in raw})

    def to_dict(self) -> dict[str, int]:
        """Only what the site set: an unset value keeps following the service's default."""
        return {name: value for name, value in asdict(self).items() if value is not None}

    def over(self, defaults: SiteLimits) -> SiteLimits:
        """The limits in force: each value the site set, else the default."""
        return replace(
            defaults,
            **{f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None},
        )

    def changed(self, **values: int | None) -> SiteLimits:
        """These limits with `values` set (None: back to the default), each checked."""
        for name, value in values.items():
            if name not in NAMES:
                raise PolicyError(f"unknown limit {name}")
            if value is not None:
                check_limit(name, value)
        return replace(self, **values)


def stored_limits(raw: Mapping[str, Any] | None) -> SiteLimits:
    """A site's stored limits, read leniently: a value that no longer validates counts as unset (the
    default applies) rather than failing every request of the site."""
    try:
        return SiteLimits.from_dict(raw)
    except PolicyError:
        known = {k: v for k, v in (raw or {}).items() if k in NAMES}
        kept = {}
        for name, value in known.items():
            try:
                kept[name] = check_limit(name, value)
            except PolicyError:
                continue
        return SiteLimits(**kept)
