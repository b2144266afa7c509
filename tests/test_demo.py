"""The demo article `/demo/`, the embed script `/embed.js`, and the demo site `moderation up` prepares.

The reader's side in a real browser is tests/browser/test_demo_browser.py; these check what the pages and
the set-up promise without one (SQLite and PostgreSQL).
"""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import select

from moderation.cli.bootstrap import ensure_accounts
from moderation.cli.main import cli
from moderation.config import Config
from moderation.store.accounts import create_site
from moderation.store.db import transaction
from moderation.store.origins import OriginError, normalise_origin
from moderation.store.tables import Site
from moderation.web.security import HTML_CSP
from tests.conftest import Database

# The test client's requests come from this origin.
OWN = "http://localhost"


def _demo_site(database: Database, origins: list[str]) -> str:
    with transaction(database.sessions) as session:
        return create_site(session, "demo", allowed_origins=origins).publishable_key


def test_without_a_demo_site_the_page_explains_in_german(client: FlaskClient) -> None:
    page = client.get("/demo/")
    assert page.status_code == 404 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "Die Demo ist nicht eingerichtet." in html and "MODERATION_DEMO_SITE" in html
    assert "<form" not in html and "embed.js" not in html


def test_an_origin_the_site_does_not_allow_gets_a_notice_not_a_form(
    client: FlaskClient, database: Database
) -> None:
    _demo_site(database, ["https://www.welt-nachrichten.example"])
    html = client.get("/demo/").get_data(as_text=True)
    assert "nicht freigegeben" in html and OWN in html and "embed.js" not in html


def test_the_article_includes_the_embed_with_the_publishable_key_under_the_page_csp(
    client: FlaskClient, database: Database
) -> None:
    key = _demo_site(database, [OWN])
    page = client.get("/demo/")
    assert page.status_code == 200
    assert page.headers["Content-Security-Policy"] == HTML_CSP
    html = page.get_data(as_text=True)
    assert "Es wächst die Befürchtung, Russland könnte sich bald gegen Kasachstan wenden" in html
    assert "Telegraph" in html  # attributed
    tag = re.search(r"<script ([^>]*)></script>", html)
    assert tag is not None
    assert f'data-key="{key}"' in tag.group(1) and 'data-target="#comments"' in tag.group(1)
    assert 'src="/embed.js"' in tag.group(1) and 'data-lang="de"' in tag.group(1)
    assert "<script>" not in html and "style=" not in html  # nothing inline the CSP would block
    assert 'data-lang="en"' in client.get("/demo/?lang=en").get_data(as_text=True)
    assert 'data-lang="de"' in client.get("/demo/?lang=xx").get_data(as_text=True)


def test_the_embed_script_is_public_cacheable_javascript(client: FlaskClient) -> None:
    script = client.get("/embed.js")
    assert script.status_code == 200 and script.mimetype == "text/javascript"
    assert script.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert "max-age=300" in script.headers["Cache-Control"]
    body = script.get_data(as_text=True)
    assert "/api/v1/comments?wait=" in body and "aria-live" in body and "innerHTML" not in body


def test_a_same_origin_lookup_without_origin_header_is_the_pages_own(
    client: FlaskClient, database: Database
) -> None:
    key = _demo_site(database, [OWN])
    headers = {"Authorization": f"Bearer {key}"}
    body = {"text": "Gute Einordnung.", "article_id": "a", "author": {"id": "r"}}
    posted = client.post("/api/v1/comments", json=body, headers={**headers, "Origin": OWN}).get_json()
    # Browsers send no Origin with a same-origin GET, but say so in Sec-Fetch-Site.
    same = client.get(
        f"/api/v1/comments/{posted['id']}", headers={**headers, "Sec-Fetch-Site": "same-origin"}
    )
    assert same.status_code == 200 and same.get_json()["status"] == "pending"
    assert "scores" not in same.get_json()
    # Neither header: not a browser on an allowed origin, 403 `forbidden`.
    bare = client.get(f"/api/v1/comments/{posted['id']}", headers=headers)
    assert bare.status_code == 403 and bare.get_json()["error"]["code"] == "forbidden"
    # Another site's page cannot claim to be this one.
    cross = client.get(
        f"/api/v1/comments/{posted['id']}", headers={**headers, "Sec-Fetch-Site": "cross-site"}
    )
    assert cross.status_code == 403


def test_up_allows_its_own_origin_for_the_demo_site_once(database: Database, config: Config) -> None:
    config = replace(config, port=8123, demo_site="schaufenster")
    ensure_accounts(database.sessions, config)
    ensure_accounts(database.sessions, config)
    with database.sessions() as session:
        site = session.scalars(select(Site).where(Site.name == "schaufenster")).one()
        assert site.allowed_origins == ["http://127.0.0.1:8123", "http://localhost:8123"]
    assert Config.from_env({"MODERATION_HOME": str(config.home), "SECRET_KEY": "k"}).demo_site == "demo"


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("https://WWW.Example.org/", "https://www.example.org"),
        ("https://www.example.org:443", "https://www.example.org"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://[::1]:8080", "http://[::1]:8080"),
    ],
)
def test_origins_are_stored_as_browsers_send_them(given: str, stored: str) -> None:
    assert normalise_origin(given) == stored


@pytest.mark.parametrize(
    "given",
    ["www.example.org", "ftp://example.org", "https://example.org/kommentare", "https://*.example.org"],
)
def test_what_no_browser_sends_is_not_an_origin(given: str) -> None:
    with pytest.raises(OriginError, match="is not an origin"):
        normalise_origin(given)


def test_sites_origins_adds_and_removes_and_refuses_a_path(config: Config, database: Database) -> None:
    key = _demo_site(database, [])
    env = {"MODERATION_HOME": str(config.home), "DATABASE_URL": database.url, "SECRET_KEY": "k"}
    runner = CliRunner()
    added = runner.invoke(
        cli, ["sites", "origins", "demo", "--add", "https://Www.Example.org/", "--add", OWN], env=env
    )
    assert added.exit_code == 0, added.output
    assert "allowed origin:  https://www.example.org" in added.output
    removed = runner.invoke(cli, ["sites", "origins", "demo", "--remove", OWN], env=env)
    assert removed.exit_code == 0 and OWN not in removed.output
    refused = runner.invoke(cli, ["sites", "origins", "demo", "--add", "https://example.org/x"], env=env)
    assert refused.exit_code == 1 and "is not an origin" in refused.output
    with database.sessions() as session:
        site = session.scalars(select(Site).where(Site.publishable_key == key)).one()
        assert site.allowed_origins == ["https://www.example.org"]
