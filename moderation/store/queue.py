"""The hand-off from the API to the workers.

The API pushes comment ids onto one Redis list and makes sure a single drain job is queued; a drain job
pops up to a batch of ids at a time, so a burst of comments costs a few RQ jobs and a few model calls,
not one of each per comment. Losing this list loses nothing: the reconciler re-pushes every comment
still pending in SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import redis
from redis.connection import ConnectionPool
from redis.sentinel import SentinelConnectionPool
from rq import Queue

QUEUE_NAME = "moderation"
PENDING_KEY = "moderation:pending"
DRAIN_FLAG_KEY = "moderation:drain-scheduled"
DECIDED_KEY = "moderation:decided:{id}"
DRAIN_FLAG_TTL_S = 300
DECIDED_TTL_S = 30
DRAIN_JOB = "workers.jobs.drain"

# `PendingQueue.push` in one round trip: append the ids (ARGV[2...], in slices that stay within Lua's
# argument limit) to the list KEYS[1], then set the drain flag KEYS[2] unless it is set (ARGV[1]: its
# lifetime in seconds). Answers OK when the flag was free (a drain job must be queued), else nil.
PUSH_SCRIPT = """
for first = 2, #ARGV, 1000 do
  redis.call('RPUSH', KEYS[1], unpack(ARGV, first, math.min(first + 999, #ARGV)))
end
return redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1])
"""


def _sentinel_of(pool: ConnectionPool) -> Any:
    """What tells `pool`'s connections where the primary is when Redis Sentinel names it (redis-py keeps
    it in the connection arguments, a proxy of the Sentinel pool), else None."""
    source = pool.connection_kwargs.get("connection_pool")
    return source if getattr(source, "sentinel_manager", None) is not None else None


def copy_pool(pool: ConnectionPool, **changes: Any) -> ConnectionPool:
    """A new, empty pool to the same Redis as `pool`, with some connection arguments changed.

    A pool that finds the primary through Redis Sentinel (`REDIS_URL=redis+sentinel://...`) is copied
    as a Sentinel pool: a plain pool would keep connections to a primary that Sentinel has demoted, and
    the copy must follow a failover as the original does. This also turns a plain pool that was rebuilt
    from a Sentinel pool's arguments (RQ's scheduler does that) back into a Sentinel pool.
    """
    kwargs = dict(pool.connection_kwargs, **changes)
    sentinel = _sentinel_of(pool)
    if sentinel is None:
        return type(pool)(connection_class=pool.connection_class, **kwargs)
    del kwargs["connection_pool"]  # the new pool puts a proxy of itself here
    return SentinelConnectionPool(
        sentinel.service_name,
        sentinel.sentinel_manager,
        connection_class=pool.connection_class,
        is_master=sentinel.is_master,
        check_connection=sentinel.check_connection,
        **kwargs,
    )


def follows_sentinel(pool: ConnectionPool) -> bool:
    """Whether `pool`'s connections ask Redis Sentinel for the primary."""
    return _sentinel_of(pool) is not None


def waiting_connection(connection: redis.Redis, socket_timeout_s: float) -> redis.Redis:
    """A client to the same server as `connection` (the same Sentinel service, with a Sentinel URL), on a
    pool of its own whose socket timeout outlasts a blocking pop of up to `socket_timeout_s` (the API's
    own client times out far sooner)."""
    pool = copy_pool(connection.connection_pool, socket_timeout=socket_timeout_s)
    return redis.Redis(connection_pool=pool)


class PendingQueue:
    def __init__(self, connection: redis.Redis, queue_name: str = QUEUE_NAME) -> None:
        self.redis = connection
        self.rq = Queue(queue_name, connection=connection)

    def push(self, ids: Iterable[str]) -> None:
        """Hands ids to the workers: the list push and the drain flag in one round trip, and a new drain
        job only when no drain job was waiting."""
        ids = list(ids)
        if not ids:
            return
        push = self.redis.register_script(PUSH_SCRIPT)
        if push(keys=[PENDING_KEY, DRAIN_FLAG_KEY], args=[DRAIN_FLAG_TTL_S, *ids]) is not None:
            self._enqueue_drain()

    def ensure_drain(self) -> bool:
        """Queues a drain job unless one is already waiting; returns whether it queued one.

        The flag means "a drain job is queued and not yet started". A job clears it as it starts, so
        the next push queues another job for the next idle worker: under load every worker drains
        batches side by side, and at most one job waits in the queue.
        """
        if not self.redis.set(DRAIN_FLAG_KEY, "1", nx=True, ex=DRAIN_FLAG_TTL_S):
            return False
        self._enqueue_drain()
        return True

    def _enqueue_drain(self) -> None:
        self.rq.enqueue(DRAIN_JOB, job_timeout=DRAIN_FLAG_TTL_S, result_ttl=0, failure_ttl=86400)

    def drain_started(self) -> None:
        self.redis.delete(DRAIN_FLAG_KEY)

    def pop(self, count: int, wait_s: float = 0.0) -> list[str]:
        """Up to `count` ids; when there are none, waits up to `wait_s` for the next one (a blocking pop:
        it wakes the moment an id is pushed)."""
        popped = self.redis.lpop(PENDING_KEY, count)
        if not popped and wait_s > 0:
            first = self.redis.blpop([PENDING_KEY], timeout=wait_s)
            if first is None:
                return []
            rest = self.redis.lpop(PENDING_KEY, count - 1) if count > 1 else None
            popped = [first[1], *(rest or [])]
        if not popped:
            return []
        return [item.decode() if isinstance(item, bytes) else str(item) for item in popped]

    def repair(self) -> None:
        """Clears a flag whose job is gone (e.g. Redis lost the queue), then queues a job if work waits."""
        if self.redis.exists(DRAIN_FLAG_KEY) and self.rq.count == 0:
            self.redis.delete(DRAIN_FLAG_KEY)
        if self.backlog():
            self.ensure_drain()

    def queued_ids(self, limit: int = 200_000) -> set[str]:
        """The ids now waiting in the list (empty if the backlog is larger than `limit`)."""
        if self.backlog() > limit:
            return set()
        return {
            item.decode() if isinstance(item, bytes) else str(item)
            for item in self.redis.lrange(PENDING_KEY, 0, -1)
        }

    def backlog(self) -> int:
        return int(self.redis.llen(PENDING_KEY))

    def announce_decided(self, ids: Sequence[str]) -> None:
        """Wakes API requests that wait (`?wait=MS`) for these comments."""
        if not ids:
            return
        pipe = self.redis.pipeline(transaction=False)
        for comment_id in ids:
            key = DECIDED_KEY.format(id=comment_id)
            pipe.rpush(key, "1")
            pipe.expire(key, DECIDED_TTL_S)
        pipe.execute()

    def wait_decided(self, comment_id: str, timeout_s: float) -> bool:
        if timeout_s <= 0:
            return False
        key = DECIDED_KEY.format(id=comment_id)
        return self.redis.blpop([key], timeout=max(0.01, timeout_s)) is not None
