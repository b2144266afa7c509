"""A site's limits as stored (`sites.limits`) and as they apply: the site's values over the defaults.

The same function serves the API's budgets and `?wait` slots, the CLI (`moderation sites limits`) and
the settings page, so a lifted limit is lifted the same way for every caller.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from moderation.config import Config
from moderation.domain.limits import SiteLimits, stored_limits
from moderation.store.tables import AuditEvent, Site


def default_limits(config: Config) -> SiteLimits:
    """The service's defaults (environment). Perspective's default belongs to its integration: None here."""
    return SiteLimits(
        site_per_minute=config.rate_limit_per_minute,
        browser_per_minute=config.rate_limit_browser_per_minute,
        author_per_minute=config.rate_limit_author_per_minute,
        address_per_minute=config.rate_limit_address_per_minute,
        wait_concurrent=config.wait_max_concurrent,
        wait_concurrent_per_site=config.wait_max_concurrent_per_site,
    )


def effective_limits(site: Site, config: Config) -> SiteLimits:
    """The limits in force for `site`: each value it set, else the service's default."""
    return stored_limits(site.limits).over(default_limits(config))


def save_limits(session: Session, site: Site, limits: SiteLimits, actor: str) -> SiteLimits:
    """Stores the site's own values (audited as `site.limits_changed`); returns the previous ones."""
    previous = stored_limits(site.limits)
    site.limits = limits.to_dict() or None
    session.add(
        AuditEvent(
            actor=actor,
            event="site.limits_changed",
            site_id=site.id,
            data={"limits": limits.to_dict(), "previous": previous.to_dict()},
        )
    )
    return previous
