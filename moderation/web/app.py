"""The Flask application factory."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from moderation.config import Config
from moderation.resources import Resources
from moderation.store.db import api_engine
from moderation.web import (
    api,
    api_docs,
    coral,
    dashboard,
    demo,
    errors,
    health,
    openapi,
    perspective,
    perspective_discovery,
    privacy_api,
    security,
)
from moderation.web.context import init_app


def create_app(
    config: Config | None = None,
    test_config: dict[str, Any] | None = None,
    resources: Resources | None = None,
) -> Flask:
    """Builds the app: defaults, then the environment (`Config.from_env`), then a test's overrides."""
    if resources is None:
        config = config or Config.from_env()
        resources = Resources.from_config(config, engine=api_engine(config.database_url))
    config = resources.config
    app = Flask(__name__)
    if config.trusted_proxies:
        # Behind N reverse proxies: the client address and scheme are the ones the outermost proxy saw
        # (login throttling and rate limits per address, Secure cookies). Never set without a proxy: any
        # client could then claim any address.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=config.trusted_proxies, x_proto=config.trusted_proxies
        )
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
    security.install_converters(app)
    errors.register(app)
    security.init_app(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(privacy_api.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(api_docs.bp)
    app.register_blueprint(coral.bp)
    app.register_blueprint(demo.bp)
    app.register_blueprint(perspective.bp)
    app.register_blueprint(perspective_discovery.bp)
    dashboard.init_app(app)
    return app
