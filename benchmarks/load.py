"""Load generators and the decision clock of the load benchmark.

Open loop: comment i is due at t0 + i / rate whatever happened to earlier ones; latencies count from
the time a comment was due, so a generator thread that fell behind (or a server that stalled it) shows
up in the figures instead of hiding them (no coordinated omission).

When a comment is decided: each worker announces a decision on the comment's own Redis key right after
the transaction that wrote it commits (`PendingQueue.announce_decided`, what `?wait` blocks on). The
benchmark's Redis publishes keyspace notifications for those keys (`notify-keyspace-events Kl`), and
`DecisionClock` takes the arrival time of each: no polling, and nothing extra asked of the stack but
one notification per comment. Decision latency = that time - the time the comment was due.
"""

from __future__ import annotations

import http.client
import json
import queue
import statistics
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import redis

DECIDED_CHANNEL = "__keyspace@0__:moderation:decided:*"


class DecisionClock:
    """Records when each comment's decision was announced (wall clock, `time.time()`)."""

    def __init__(self, port: int) -> None:
        self.client = redis.Redis(port=port)
        self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
        self.pubsub.psubscribe(DECIDED_CHANNEL)
        self.decided: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, daemon=True, name="decision-clock")
        self._thread.start()

    def _listen(self) -> None:
        prefix = len(DECIDED_CHANNEL) - 1
        while not self._stop.is_set():
            message = self.pubsub.get_message(timeout=0.2)
            if message is None or message.get("data") != b"rpush":
                continue
            comment_id = message["channel"][prefix:].decode()
            self.decided.setdefault(comment_id, time.time())

    def wait_for(self, ids: Sequence[str], timeout_s: float) -> int:
        """Waits until every id was announced (or the time is up); returns how many were not."""
        deadline = time.monotonic() + timeout_s
        while True:
            missing = sum(1 for i in ids if i not in self.decided)
            if not missing or time.monotonic() > deadline:
                return missing
            time.sleep(0.2)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.pubsub.close()
        self.client.close()


@dataclass
class Sent:
    due: float  # wall clock (time.time()) when the comment was due
    status: int = 0
    accept_s: float = 0.0  # answer - due
    comment_id: str | None = None
    decided_in_answer: bool = False


@dataclass
class OpenLoopResult:
    rate: float
    seconds: float
    sent: list[Sent] = field(default_factory=list)


def comment_body(text: str, index: int, run: str) -> dict[str, Any]:
    return {
        "text": text,
        "article_id": f"bench-{index % 20}",
        "author": {"id": f"leser-{index % 997}", "ip": f"10.0.{index % 250}.{index % 200 + 1}"},
        "external_id": f"{run}-{index}",
    }


class Client:
    """One keep-alive HTTP connection (as a site's server would hold), reopened after an error."""

    def __init__(self, port: int, key: str) -> None:
        self.port = port
        self.headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        self.conn: http.client.HTTPConnection | None = None

    def post(self, path: str, body: bytes, timeout_s: float = 30.0) -> tuple[int, Any]:
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout_s)
            try:
                self.conn.request("POST", path, body=body, headers=self.headers)
                response = self.conn.getresponse()
                raw = response.read()
                return response.status, (json.loads(raw) if raw else None)
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    return 0, None
        return 0, None


def open_loop(
    port: int,
    key: str,
    texts: Sequence[str],
    rate: float,
    seconds: float,
    run: str,
    *,
    wait_ms: int = 0,
    threads: int = 48,
) -> OpenLoopResult:
    """POSTs one comment per request at `rate` a second for `seconds`, each at its scheduled time."""
    count = max(1, int(rate * seconds))
    result = OpenLoopResult(rate, seconds)
    result.sent = [Sent(0.0) for _ in range(count)]
    path = "/api/v1/comments" + (f"?wait={wait_ms}" if wait_ms else "")
    todo: queue.SimpleQueue[int | None] = queue.SimpleQueue()
    t0 = time.time() + 0.2
    for index in range(count):
        todo.put(index)
    for _ in range(threads):
        todo.put(None)

    def work() -> None:
        client = Client(port, key)
        while (index := todo.get()) is not None:
            due = t0 + index / rate
            delay = due - time.time()
            if delay > 0:
                time.sleep(delay)
            body = json.dumps(comment_body(texts[index % len(texts)], index, run)).encode()
            status, payload = client.post(path, body)
            sent = result.sent[index]
            sent.due, sent.status, sent.accept_s = due, status, time.time() - due
            if isinstance(payload, dict) and 200 <= status < 300:
                sent.comment_id = str(payload.get("id"))
                sent.decided_in_answer = payload.get("status") != "pending"

    workers = [threading.Thread(target=work, daemon=True) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return result


def post_batches(
    port: int, key: str, texts: Sequence[str], count: int, run: str, *, size: int = 1000, threads: int = 2
) -> tuple[float, float, list[str], int]:
    """POSTs `count` comments through `/api/v1/comments:batch` as fast as the API takes them; returns
    (start, end) wall times, the accepted ids and the number of refused batches."""
    bodies: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
    for offset in range(0, count, size):
        items = [
            comment_body(texts[i % len(texts)], i, run) for i in range(offset, min(count, offset + size))
        ]
        bodies.put(json.dumps({"comments": items}).encode())
    for _ in range(threads):
        bodies.put(None)
    ids: list[str] = []
    refused = 0
    lock = threading.Lock()

    def work() -> None:
        nonlocal refused
        client = Client(port, key)
        while (body := bodies.get()) is not None:
            status, payload = client.post("/api/v1/comments:batch", body, timeout_s=120)
            with lock:
                if status == 202 and isinstance(payload, dict):
                    ids.extend(str(c["id"]) for c in payload["comments"])
                else:
                    refused += 1

    started = time.time()
    workers = [threading.Thread(target=work, daemon=True) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return started, time.time(), ids, refused


def percentiles(values: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99 in milliseconds (nearest rank); NaN-free: empty gives zeros."""
    if not values:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0}
    ordered = sorted(values)

    def rank(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, int(round(q * len(ordered))) - 1))] * 1000

    return {"p50": round(rank(0.50), 1), "p95": round(rank(0.95), 1), "p99": round(rank(0.99), 1)}


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0
