"""Budgets for comments on a sliding one-minute window in Redis, and the cap on requests held by `?wait`.

A request names every budget it draws from (the site's key, one author, one client address); one Lua
script checks them all and takes from all of them only if every one has room, so a refused request uses up
nothing. The window slides: what counts is what was taken in the last 60 seconds, not since the minute
began. When Redis cannot be reached the limiter lets requests through (refusing comments would close
every comment section), logs it, and counts it in `moderation_rate_limit_fail_open_total`.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import redis
from prometheus_client import CollectorRegistry, Counter

log = logging.getLogger(__name__)

WINDOW_S = 60
PREFIX = "moderation:rl:"

# Counters of this process, served by /metrics next to the queue figures.
METRICS = CollectorRegistry(auto_describe=True)
FAIL_OPEN = Counter(
    "moderation_rate_limit_fail_open",
    "Requests let through unchecked because the rate limiter could not reach Redis",
    registry=METRICS,
)
REFUSED = Counter(
    "moderation_rate_limited", "Requests refused with 429, by budget", ["budget"], registry=METRICS
)
WAIT_DEGRADED = Counter(
    "moderation_wait_degraded",
    "Requests that asked for ?wait but were answered at once because every waiting slot was taken",
    registry=METRICS,
)

# KEYS: per budget a sorted set of what was taken ("<request id>:<cost>", scored by the time in ms).
# ARGV: window in ms, request id, then per budget its limit and cost.
# Returns {1} when taken, else {0, index of the first full budget (1-based), ms until it has room}.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local id = ARGV[2]
local cutoff = now - window
local n = #KEYS
local function cost_of(member)
  return tonumber(string.match(member, ':(%d+)$')) or 0
end
for i = 1, n do
  local entries = KEYS[i]
  local limit = tonumber(ARGV[1 + 2 * i])
  local cost = tonumber(ARGV[2 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', entries, '-inf', cutoff)
  local live = redis.call('ZRANGE', entries, 0, -1, 'WITHSCORES')
  local used = 0
  for j = 1, #live, 2 do used = used + cost_of(live[j]) end
  if used + cost > limit then
    if cost > limit then return {0, i, window} end
    local freed = 0
    for j = 1, #live, 2 do
      freed = freed + cost_of(live[j])
      if used - freed + cost <= limit then
        return {0, i, math.max(1, tonumber(live[j + 1]) + window - now)}
      end
    end
    return {0, i, window}
  end
end
for i = 1, n do
  local entries = KEYS[i]
  redis.call('ZADD', entries, now, id .. ':' .. ARGV[2 + 2 * i])
  redis.call('PEXPIRE', entries, window + 1000)
end
return {1}
"""


@dataclass(frozen=True)
class Budget:
    """One budget a request draws from: `name` for messages and metrics, `key` its Redis key."""

    name: str
    key: str
    limit: int
    cost: int


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    budget: Budget | None = None
    retry_after_s: int = 0


def opaque(value: str) -> str:
    """A fixed-length part of a Redis key for a caller-chosen value (author ids can be long or odd)."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class SlidingWindowLimiter:
    """Takes from several budgets at once, all or nothing; fails open when Redis is unavailable."""

    _last_warning = 0.0

    def __init__(self, connection: redis.Redis | None, window_s: int = WINDOW_S) -> None:
        self.connection = connection
        self.window_ms = window_s * 1000

    def take(self, budgets: Sequence[Budget]) -> Verdict:
        active = [b for b in budgets if b.limit > 0 and b.cost > 0]
        if not active or self.connection is None:
            return Verdict(True)
        keys: list[str] = []
        args: list[int | str] = [self.window_ms, uuid.uuid4().hex]
        for budget in active:
            keys.append(PREFIX + budget.key)
            args += [budget.limit, budget.cost]
        try:
            result = self.connection.eval(_TAKE, len(keys), *keys, *args)
        except (redis.RedisError, OSError):
            self._fail_open()
            return Verdict(True)
        if int(result[0]) == 1:
            return Verdict(True)
        refused = active[int(result[1]) - 1]
        REFUSED.labels(refused.name).inc()
        return Verdict(False, refused, max(1, -(-int(result[2]) // 1000)))

    @classmethod
    def _fail_open(cls) -> None:
        FAIL_OPEN.inc()
        now = time.monotonic()
        if now - cls._last_warning >= 10:  # one line per 10 s, not one per request, during an outage
            cls._last_warning = now
            log.warning("rate limiter cannot reach Redis; letting requests through unchecked", exc_info=True)


class WaitSlots:
    """How many requests of this process may hold a thread with `?wait`: overall and per site.

    Non-blocking: a request that finds no free slot does not queue for one, it is answered at once (202).
    A request may bring its site's own caps (`sites.limits`) instead of the process's; 0 means no cap.
    """

    def __init__(self, overall: int, per_site: int) -> None:
        self.overall = overall
        self.per_site = per_site
        self._lock = threading.Lock()
        self._total = 0
        self._by_site: dict[int, int] = {}

    def try_acquire(self, site_id: int, overall: int | None = None, per_site: int | None = None) -> bool:
        overall = self.overall if overall is None else overall
        per_site = self.per_site if per_site is None else per_site
        with self._lock:
            if (overall and self._total >= overall) or (
                per_site and self._by_site.get(site_id, 0) >= per_site
            ):
                return False
            self._total += 1
            self._by_site[site_id] = self._by_site.get(site_id, 0) + 1
            return True

    def release(self, site_id: int) -> None:
        with self._lock:
            self._total -= 1
            left = self._by_site.get(site_id, 1) - 1
            if left > 0:
                self._by_site[site_id] = left
            else:
                self._by_site.pop(site_id, None)

    @contextmanager
    def slot(self, site_id: int, overall: int | None = None, per_site: int | None = None) -> Iterator[bool]:
        """Yields whether this request may wait; the slot is given back however the wait ends."""
        acquired = self.try_acquire(site_id, overall, per_site)
        if not acquired:
            WAIT_DEGRADED.inc()
        try:
            yield acquired
        finally:
            if acquired:
                self.release(site_id)
