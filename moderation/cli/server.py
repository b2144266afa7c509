"""Runs the Flask app under gunicorn."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

from moderation.config import Config
from moderation.web.accesslog import access_logger
from moderation.web.process_metrics import prepare_directory


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        # Imported here so each gunicorn worker builds its own app (and its own connections) after fork.
        from moderation.web.app import create_app

        return create_app()


def serve(host: str, port: int, processes: int, threads: int, config: Config | None = None) -> None:
    config = config or Config.from_env()
    prepare_directory()  # counters shared by all gunicorn processes (moderation.web.process_metrics)
    # No client addresses, user agents or query strings in the access log unless configured.
    logger_class, access_format = access_logger(
        log_ips=config.access_log_ips, trusted_proxies=config.trusted_proxies
    )
    _Gunicorn(
        {
            "bind": f"{host}:{port}",
            "workers": processes,
            "threads": threads,
            "worker_class": "gthread",
            "timeout": 30,
            "graceful_timeout": 10,
            "accesslog": "-",
            "logger_class": logger_class,
            "access_log_format": access_format,
            "limit_request_line": 8190,
        }
    ).run()
