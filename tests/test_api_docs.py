"""The OpenAPI document is valid OpenAPI 3.1, covers every API route the app answers, and `/api/docs`
shows it as a readable page that loads nothing from elsewhere."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from moderation.web import openapi

# Paths that belong to the API (machines call them) rather than to the dashboard (people read it).
API_PREFIXES = ("/api/", "/v1alpha1/", "/$discovery/", "/healthz", "/readyz", "/metrics")


def _template(rule: str) -> str:
    """Flask's `/a/<int:x>/b` as a comparable template `/a/{}/b` (OpenAPI names parameters freely)."""
    return re.sub(r"<(?:[^:>]+:)?[^>]+>", "{}", rule)


def test_the_document_is_valid_openapi_3_1() -> None:
    document = openapi.document()
    assert document["openapi"].startswith("3.1")
    validate(document)  # raises on any violation of the OpenAPI 3.1 schema


def test_every_api_route_is_documented(app: Flask) -> None:
    documented = {
        (re.sub(r"\{[^}]+\}", "{}", path), method.upper())
        for path, item in openapi.document()["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(API_PREFIXES):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if (_template(rule.rule), method) not in documented:
                missing.append(f"{method} {rule.rule}")
    assert missing == [], f"routes missing from the OpenAPI document: {missing}"


class _Resources(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.scripts = 0
        self.anchors: set[str] = set()
        self.fragments: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script":
            self.scripts += 1
        for name in ("src", "href"):
            value = values.get(name)
            if value and tag in ("link", "script", "img"):
                self.urls.append(value)
            if name == "href" and value and value.startswith("#"):
                self.fragments.add(value[1:])
        if values.get("id"):
            self.anchors.add(str(values["id"]))


def test_the_reference_page_shows_every_operation_and_loads_nothing_from_elsewhere(
    client: FlaskClient,
) -> None:
    response = client.get("/api/docs")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    for path, item in openapi.document()["paths"].items():
        for method in item:
            if method in ("get", "post", "put", "patch", "delete"):
                assert f"{method.upper()}</span> <code>{path}</code>" in page, (method, path)
    parsed = _Resources()
    parsed.feed(page)
    assert parsed.scripts == 0
    assert parsed.urls and all(url.startswith("/") and not url.startswith("//") for url in parsed.urls)
    assert parsed.fragments - parsed.anchors == set(), "links to sections that do not exist"
    for name in openapi.document()["components"]["schemas"]:
        assert f'id="schema-{name}"' in page
    assert client.get(parsed.urls[0]).status_code == 200  # the stylesheet is served locally
