"""The hand-off of an interactive analysis (Perspective's `comments:analyze`) to the workers and back.

The API process holds no model. It writes the request under its own key (expiring after the caller's
time budget), pushes the request id onto a list, makes sure one drain job is queued (at the front of the
comment queue: a caller is waiting), and blocks on the request's reply key with one BLPOP. A worker pops
a batch of ids, scores them in one model call and pushes each reply, which expires within seconds if no
one takes it. A text sent with `doNotStore` therefore lives only in Redis memory, for at most the time
budget, and is deleted as the worker takes it (or as the API gives up).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import redis
from rq import Queue

from moderation.store.queue import QUEUE_NAME

PENDING_KEY = "moderation:analyze:pending"
JOB_KEY = "moderation:analyze:job:{id}"
REPLY_KEY = "moderation:analyze:reply:{id}"
DRAIN_FLAG_KEY = "moderation:analyze:drain-scheduled"
DRAIN_JOB = "workers.analyze.drain"
DRAIN_FLAG_TTL_S = 60
# A reply no one takes (the caller gave up) is gone after this.
REPLY_TTL_S = 5
# A failed drain job (its traceback) is kept this long: it names no text, but there is no use for more.
FAILURE_TTL_S = 3600


@dataclass(frozen=True)
class AnalysisJob:
    """One request as a worker reads it: the text (or the stored comment that holds it), the sentences
    to score apart for span scores, and whether the site's own model should score it."""

    request_id: str
    site_id: int
    text: str | None
    comment_id: str | None
    sentences: tuple[str, ...]
    site_reject: bool

    @classmethod
    def from_json(cls, request_id: str, raw: bytes | str) -> AnalysisJob:
        data = json.loads(raw)
        return cls(
            request_id=request_id,
            site_id=int(data["site_id"]),
            text=data.get("text"),
            comment_id=data.get("comment_id"),
            sentences=tuple(data.get("sentences") or ()),
            site_reject=bool(data.get("site_reject")),
        )


def new_request_id() -> str:
    return uuid.uuid4().hex


def _decoded(item: bytes | str) -> str:
    return item.decode() if isinstance(item, bytes) else str(item)


class AnalysisQueue:
    def __init__(self, connection: redis.Redis, queue_name: str = QUEUE_NAME) -> None:
        self.redis = connection
        self.rq = Queue(queue_name, connection=connection)

    def submit(
        self,
        request_id: str,
        *,
        site_id: int,
        ttl_ms: int,
        text: str | None = None,
        comment_id: str | None = None,
        sentences: tuple[str, ...] = (),
        site_reject: bool = False,
    ) -> None:
        """Hands one request to the workers; it expires unread after `ttl_ms`."""
        payload = {
            "site_id": site_id,
            "text": text,
            "comment_id": comment_id,
            "sentences": list(sentences),
            "site_reject": site_reject,
        }
        pipe = self.redis.pipeline(transaction=False)
        pipe.set(JOB_KEY.format(id=request_id), json.dumps(payload), px=max(1, ttl_ms))
        pipe.rpush(PENDING_KEY, request_id)
        pipe.execute()
        self.ensure_drain()

    def ensure_drain(self) -> bool:
        """Queues a drain job unless one waits already (as `PendingQueue.ensure_drain` does)."""
        if not self.redis.set(DRAIN_FLAG_KEY, "1", nx=True, ex=DRAIN_FLAG_TTL_S):
            return False
        self.rq.enqueue(
            DRAIN_JOB,
            job_timeout=DRAIN_FLAG_TTL_S * 5,
            result_ttl=0,
            failure_ttl=FAILURE_TTL_S,
            at_front=True,
        )
        return True

    def drain_started(self) -> None:
        self.redis.delete(DRAIN_FLAG_KEY)

    def take(self, count: int) -> list[AnalysisJob]:
        """Pops up to `count` requests; one whose caller has given up (its key expired) is skipped. The
        request's key is deleted as it is read."""
        popped = self.redis.lpop(PENDING_KEY, count)
        if not popped:
            return []
        ids = [_decoded(item) for item in popped]
        pipe = self.redis.pipeline(transaction=True)
        for request_id in ids:
            pipe.get(JOB_KEY.format(id=request_id))
            pipe.delete(JOB_KEY.format(id=request_id))
        answers = pipe.execute()
        jobs = []
        for index, request_id in enumerate(ids):
            raw = answers[2 * index]
            if raw is not None:
                jobs.append(AnalysisJob.from_json(request_id, raw))
        return jobs

    def reply(self, replies: Mapping[str, Mapping[str, Any]]) -> None:
        pipe = self.redis.pipeline(transaction=False)
        for request_id, payload in replies.items():
            key = REPLY_KEY.format(id=request_id)
            pipe.rpush(key, json.dumps(payload))
            pipe.expire(key, REPLY_TTL_S)
        pipe.execute()

    def withdraw(self, request_id: str) -> None:
        """The caller gives up: its request is deleted if no worker has taken it yet."""
        self.redis.delete(JOB_KEY.format(id=request_id), REPLY_KEY.format(id=request_id))


def wait_reply(blocking: redis.Redis, request_id: str, timeout_s: float) -> dict[str, Any] | None:
    """The worker's reply, or None when none came within `timeout_s` (one BLPOP, no polling)."""
    if timeout_s <= 0:
        return None
    answer = blocking.blpop([REPLY_KEY.format(id=request_id)], timeout=timeout_s)
    if answer is None:
        return None
    reply: dict[str, Any] = json.loads(answer[1])
    return reply
