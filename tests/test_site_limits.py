"""A site's own limits (`sites.limits`): validated, set by CLI and settings page, applied by the API."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from moderation.cli.main import cli
from moderation.config import DEFAULT_TEST_REDIS_URL, Config
from moderation.domain.errors import PolicyError
from moderation.domain.limits import MAX_LIMIT, SiteLimits, stored_limits
from moderation.resources import Resources
from moderation.store.accounts import NewSite
from moderation.store.db import transaction
from moderation.store.site_limits import effective_limits
from moderation.store.tables import AuditEvent, Site
from moderation.web.app import create_app
from moderation.web.ratelimit import WaitSlots
from tests.browser import seed
from tests.conftest import TEST_REDIS_URL, Database


@pytest.mark.parametrize(
    "raw",
    [
        {"site_per_minute": -1},
        {"author_per_minute": MAX_LIMIT + 1},
        {"address_per_minute": "5"},
        {"wait_concurrent": True},
        {"wait_concurrent_per_site": 1.5},
        {"comments_per_hour": 5},
    ],
)
def test_wrong_limits_are_refused(raw: dict[str, Any]) -> None:
    with pytest.raises(PolicyError):
        SiteLimits.from_dict(raw)


def test_site_values_override_defaults_and_unset_follow_them() -> None:
    defaults = SiteLimits(1200, 120, 20, 30, None, 4, 2)
    own = SiteLimits.from_dict({"site_per_minute": 0, "perspective_per_minute": 60, "wait_concurrent": 9})
    assert own.over(defaults) == SiteLimits(0, 120, 20, 30, 60, 9, 2)
    assert own.to_dict() == {"site_per_minute": 0, "perspective_per_minute": 60, "wait_concurrent": 9}
    assert own.changed(site_per_minute=None).to_dict() == {"perspective_per_minute": 60, "wait_concurrent": 9}
    # A stored value that no longer validates counts as unset instead of failing every request.
    assert stored_limits({"author_per_minute": -3, "address_per_minute": 7}) == SiteLimits(
        address_per_minute=7
    )


def test_wait_slots_take_the_sites_caps_and_zero_means_none() -> None:
    slots = WaitSlots(overall=1, per_site=1)
    assert slots.try_acquire(1)
    assert not slots.try_acquire(2)  # the process's cap of 1 is taken
    assert slots.try_acquire(2, overall=0, per_site=0)  # a site without caps waits anyway
    assert slots.try_acquire(1, overall=5, per_site=2)
    assert not slots.try_acquire(1, overall=5, per_site=2)


def _set(database: Database, site: NewSite, limits: dict[str, int]) -> None:
    with transaction(database.sessions) as session:
        row = session.get(Site, site.site.id)
        assert row is not None
        row.limits = limits


def _post(client: FlaskClient, site: NewSite, n: int) -> Any:
    body = {"text": f"Kommentar Nummer {n}", "article_id": "a", "author": {"id": "leser-1", "ip": "10.0.0.1"}}
    return client.post("/api/v1/comments", json=body, headers={"Authorization": f"Bearer {site.secret_key}"})


def test_api_applies_the_sites_budgets_over_the_defaults(
    resources: Resources, database: Database, site: NewSite
) -> None:
    app = create_app(
        resources=Resources(
            resources.config.with_overrides(rate_limit_author_per_minute=2),
            database.engine,
            database.sessions,
            resources.redis,
        ),
        test_config={"TESTING": True},
    )
    client = app.test_client()
    # The environment's author budget (2 a minute) refuses the third comment: 429 rate_limited, author.
    assert [_post(client, site, n).status_code for n in range(3)] == [202, 202, 429]
    # Lifted in the site's settings (0: no limit): the same author goes on.
    _set(database, site, {"author_per_minute": 0})
    assert [_post(client, site, n).status_code for n in range(3, 8)] == [202] * 5
    # The site's own, stricter site budget (7 taken this minute: the refused one took nothing): the next
    # comment is refused by the site budget.
    _set(database, site, {"author_per_minute": 0, "site_per_minute": 7})
    refused = _post(client, site, 8)
    assert refused.status_code == 429
    error = refused.get_json()["error"]
    assert error["code"] == "rate_limited"
    assert error["details"]["budget"] == "site" and error["details"]["limit_per_minute"] == 7
    with database.sessions() as session:
        row = session.get(Site, site.site.id)
        assert row is not None
        assert effective_limits(row, resources.config).address_per_minute == 30  # unset: the default


def _cli(config: Config, database: Database, *args: str) -> Any:
    env = {
        "MODERATION_HOME": str(config.home),
        "DATABASE_URL": database.url,
        "REDIS_URL": TEST_REDIS_URL or DEFAULT_TEST_REDIS_URL,
        "SECRET_KEY": "test-secret-key",
    }
    return CliRunner().invoke(cli, ["sites", "limits", *args], env=env, catch_exceptions=False)


def _stored(database: Database, site: NewSite) -> dict[str, int] | None:
    with database.sessions() as session:
        row = session.get(Site, site.site.id)
        assert row is not None
        return row.limits


def test_cli_sets_shows_and_resets_limits(config: Config, database: Database, site: NewSite) -> None:
    done = _cli(config, database, "testsite", "--site-per-minute", "0", "--author-per-minute", "5")
    assert done.exit_code == 0, done.output
    assert _stored(database, site) == {"site_per_minute": 0, "author_per_minute": 5}
    assert "site-per-minute" in done.output and "no limit (site)" in done.output
    assert "120 (default)" in done.output  # the browser budget follows the default
    # Out of range: a usage error (exit 2), nothing changed.
    wrong = _cli(config, database, "testsite", "--author-per-minute", "-1")
    assert wrong.exit_code == 2 and _stored(database, site) == {"site_per_minute": 0, "author_per_minute": 5}
    assert _cli(config, database, "testsite", "--reset", "--site-per-minute", "3").exit_code != 0
    assert _cli(config, database, "no-such-site").exit_code != 0
    assert _cli(config, database, "testsite", "--reset").exit_code == 0
    assert _stored(database, site) is None
    with database.sessions() as session:
        events = list(
            session.scalars(select(AuditEvent.actor).where(AuditEvent.event == "site.limits_changed"))
        )
    assert events == ["cli", "cli"]


def test_settings_section_saves_limits_and_marks_wrong_fields(
    app: Flask, client: FlaskClient, database: Database, site: NewSite
) -> None:
    with transaction(database.sessions) as session:
        seed.make_users(session)
    token = seed.login(client, "admin@example.org", "admin-password-1")
    page = f"/settings/sites/{site.site.id}"
    html = client.get(page).get_data(as_text=True)
    assert 'id="limits"' in html and 'id="limits-author_per_minute"' in html

    for wrong in ("viele", "-5", "1000000001", "1,5"):
        refused = client.post(f"{page}/limits", data={"csrf_token": token, "author_per_minute": wrong})
        html = refused.get_data(as_text=True)
        assert refused.status_code == 422, wrong
        assert 'id="limits-author_per_minute-error"' in html and "ganze Zahl" in html, wrong
        assert f'value="{wrong}"' in html  # what was typed stays in the field
    assert _stored(database, site) is None

    saved = client.post(
        f"{page}/limits", data={"csrf_token": token, "site_per_minute": "0", "wait_concurrent_per_site": "6"}
    )
    assert saved.status_code == 302
    assert _stored(database, site) == {"site_per_minute": 0, "wait_concurrent_per_site": 6}
    with database.sessions() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.event == "site.limits_changed")).one()
    assert event.data["limits"] == {"site_per_minute": 0, "wait_concurrent_per_site": 6}
    assert event.actor != "cli"

    moderator = app.test_client()
    moderator_token = seed.login(moderator, "mod@example.org", "moderator-password-1")
    denied = moderator.post(f"{page}/limits", data={"csrf_token": moderator_token, "site_per_minute": "5"})
    assert denied.status_code == 403 and _stored(database, site) == {
        "site_per_minute": 0,
        "wait_concurrent_per_site": 6,
    }
