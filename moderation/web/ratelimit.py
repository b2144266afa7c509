"""A per-site, per-minute counter in Redis. It fails open: a Redis outage must not refuse comments."""

from __future__ import annotations

import logging
import time

import redis

log = logging.getLogger(__name__)


def check_rate(connection: redis.Redis | None, site_id: int, cost: int, per_minute: int) -> bool:
    """Counts `cost` comments against the site's budget for this minute; False once it is spent."""
    if connection is None or per_minute <= 0:
        return True
    key = f"moderation:rate:{site_id}:{int(time.time() // 60)}"
    try:
        pipe = connection.pipeline()
        pipe.incrby(key, cost)
        pipe.expire(key, 120)
        used, _ = pipe.execute()
    except redis.RedisError:
        log.warning("rate limiter unavailable; letting the request through", exc_info=True)
        return True
    return int(used) <= per_minute
