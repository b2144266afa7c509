"""The Flask application factory."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask

from moderation.config import Config
from moderation.resources import Resources
from moderation.web import api, dashboard, errors, health, openapi
from moderation.web.context import init_app


def create_app(
    config: Config | None = None,
    test_config: dict[str, Any] | None = None,
    resources: Resources | None = None,
) -> Flask:
    """Builds the app: defaults, then the environment (`Config.from_env`), then a test's overrides."""
    if resources is None:
        resources = Resources.from_config(config or Config.from_env())
    config = resources.config
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=config.secret_key,
        MAX_CONTENT_LENGTH=config.max_batch_body_bytes,
        JSON_SORT_KEYS=False,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    if test_config:
        app.config.update(test_config)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    init_app(app, resources)
    errors.register(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(openapi.bp)
    dashboard.init_app(app)
    return app
