"""Runs the Flask app under gunicorn."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication


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


def serve(host: str, port: int, processes: int, threads: int) -> None:
    _Gunicorn(
        {
            "bind": f"{host}:{port}",
            "workers": processes,
            "threads": threads,
            "worker_class": "gthread",
            "timeout": 30,
            "graceful_timeout": 10,
            "accesslog": "-",
            "limit_request_line": 8190,
        }
    ).run()
