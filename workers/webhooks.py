"""Sending webhook deliveries (Standard Webhooks). One job, `deliver_due`, posts every delivery that is
due, whoever queued it: a commit that wrote deliveries (`moderation.store.webhooks.kick`), RQ's
scheduler at the next retry time, or the workers' sweep after Redis lost its queue.

Each delivery is claimed before it is posted, so racing jobs never post it twice at once. A failed
attempt is retried on the spec's schedule; an endpoint that fails has the rest of this job's deliveries
postponed, so a dead endpoint costs a job one timeout, not one per delivery.
"""

from __future__ import annotations

import http.client
import logging
import socket
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import redis

from moderation.domain import webhooks as spec
from moderation.domain.timestamps import utcnow
from moderation.resources import Resources
from moderation.store import webhooks
from moderation.store.db import transaction
from workers import runtime

log = logging.getLogger(__name__)

USER_AGENT = "comment-moderation-webhooks/1 (+https://www.standardwebhooks.com)"
TIMEOUT_S = 10.0
CLAIM_BATCH = 20
# Long enough for a whole claimed batch to time out one by one; a job that dies frees them after it.
LEASE = timedelta(seconds=CLAIM_BATCH * TIMEOUT_S + 60)
MAX_RESPONSE_BYTES = 64 * 1024
SWEEP_LOCK_KEY = "moderation:webhooks:sweep-lock"


def deliver_due() -> int:
    """The RQ job: posts every due delivery; returns how many attempts it made."""
    context = runtime.current()
    webhooks.kicked(context.redis)
    return run_due(context.resources, connection=context.redis)


def run_due(
    resources: Resources,
    *,
    now: datetime | None = None,
    connection: redis.Redis | None = None,
) -> int:
    """Attempts every delivery due now, then makes sure a job runs when the next one is due.

    `now` is the schedule's clock (None: the real one); the `webhook-timestamp` of each request is
    always the real time of the attempt, as receivers check it against theirs.
    """
    allow_private = resources.config.webhook_allow_private
    attempts = 0
    failing: dict[int, datetime] = {}  # endpoint (site) that failed in this run -> its next retry
    while True:
        with transaction(resources.sessions) as session:
            claimed = webhooks.claim_due(session, now or utcnow(), CLAIM_BATCH, LEASE)
        if not claimed:
            break
        for delivery_id in claimed:
            at = now or utcnow()
            with transaction(resources.sessions) as session:
                item = webhooks.prepare(session, delivery_id, at)
                if item is None:
                    continue
                if item.site_id in failing:
                    webhooks.postpone(session, [item.id], failing[item.site_id])
                    continue
                if not (item.allow and item.url and item.secrets):
                    webhooks.set_aside(session, item, at)
                    continue
            outcome = post(item, allow_private)
            attempts += 1
            with transaction(resources.sessions) as session:
                state = webhooks.record_outcome(session, item, outcome, at)
                delay = spec.retry_delay(item.attempts + 1)
            if state == webhooks.State.PENDING.value and delay is not None:
                failing[item.site_id] = at + delay
                log.info(
                    "webhook %s to site %d failed (%s); retry in %s",
                    item.message_id,
                    item.site_id,
                    outcome.error or outcome.status,
                    delay,
                )
    if connection is not None:
        _schedule_next(resources, connection, now)
    return attempts


def _schedule_next(resources: Resources, connection: redis.Redis, now: datetime | None) -> None:
    with resources.sessions() as session:
        due = webhooks.next_due(session)
    if due is None:
        return
    try:
        if due <= (now or utcnow()):
            webhooks.kick(connection)
        else:
            webhooks.schedule_at(connection, due)
    except redis.RedisError:
        log.warning("cannot schedule the next webhook retry; the workers' sweep will", exc_info=True)


def sweep(resources: Resources, connection: redis.Redis, now: datetime | None = None) -> bool:
    """Queues a delivery job if a delivery is due (its job lost with Redis's data, a claim whose job
    died): run by the workers' reconcile loop. Returns whether a job was queued."""
    with resources.sessions() as session:
        due = webhooks.next_due(session)
    if due is None or due > (now or utcnow()):
        return False
    return webhooks.kick(connection)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a new address to post to: it counts as a failed attempt."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _refused_address(url: str) -> str | None:
    """Why this endpoint may not be posted to now (its name resolves to a private address), or None."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError) as exc:
        return f"cannot resolve {host}: {exc}"
    for info in infos:
        address = str(info[4][0])
        if not spec.is_public_address(address):
            return f"{host} resolves to {address}, a local or private address"
    return None


def post(
    item: webhooks.Claimed, allow_private: bool = False, timeout_s: float = TIMEOUT_S
) -> webhooks.Outcome:
    """One signed POST of a delivery's stored body; never raises for what the endpoint does."""
    url = item.url or ""
    if not allow_private:
        refused = _refused_address(url)
        if refused is not None:
            return webhooks.Outcome(None, None, refused)
    body = item.body.encode("utf-8")
    timestamp = int(time.time())
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "webhook-id": item.message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": spec.signature_header(item.secrets, item.message_id, timestamp, body),
        },
    )
    opener = urllib.request.build_opener(_NoRedirects())
    started = time.perf_counter()
    status: int | None = None
    error: str | None = None
    try:
        with opener.open(request, timeout=timeout_s) as response:  # nosec B310 - http(s) only (check_url)
            response.read(MAX_RESPONSE_BYTES)
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        status, error = exc.code, f"HTTP {exc.code} {exc.reason}"
        exc.close()
    except urllib.error.URLError as exc:
        error = f"no answer: {exc.reason}"
    except (OSError, http.client.HTTPException, ValueError) as exc:
        error = f"no answer: {type(exc).__name__}: {exc}"
    elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
    return webhooks.Outcome(status, elapsed_ms, error)
