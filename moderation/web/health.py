"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

from flask import Blueprint, Response, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select, text

from moderation.resources import Resources
from moderation.store.model_versions import active_version
from moderation.store.queue import PendingQueue
from moderation.store.tables import Comment, Decision
from moderation.web import ratelimit
from moderation.web.context import get_resources
from moderation.web.process_metrics import counters_exposition

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


# `/readyz` answers within this budget, whatever hangs: a check that has not answered by then counts as
# failed (a load balancer must learn fast that this instance cannot serve).
READY_BUDGET_S = 0.4


def _check_database(resources: Resources, checks: dict[str, str]) -> None:
    try:
        with resources.sessions() as session:
            session.execute(text("SELECT 1"))
            version = active_version(session)
        checks["database"] = "ok"
        checks["model"] = version or "none active"
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"


def _check_redis(resources: Resources, checks: dict[str, str]) -> None:
    try:
        resources.require_redis().ping()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"error: {type(exc).__name__}"


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    resources = get_resources()
    checks: dict[str, str] = {}
    # Both checks run side by side in threads of their own, so a hung database or Redis cannot hold
    # this request past READY_BUDGET_S (the thread finishes, or times out, on its own).
    threads = [
        threading.Thread(target=check, args=(resources, checks), daemon=True, name=f"readyz-{name}")
        for name, check in (("database", _check_database), ("redis", _check_redis))
    ]
    deadline = time.monotonic() + READY_BUDGET_S
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    result = dict(checks)
    for name in ("database", "redis"):
        result.setdefault(name, "error: no answer within the time budget")
    if result["redis"] != "ok":
        result["rate_limits"] = "failing open: comments are not rate limited while Redis is unavailable"
    ready = result.get("database") == "ok" and result.get("redis") == "ok"
    if ready:
        return jsonify({"status": "ready", "checks": result}), 200
    body = {"error": {"code": "unavailable", "message": "not ready", "details": result}}
    return jsonify(body), 503


class QueueCollector(Collector):
    """Reads queue depth from SQL and Redis at scrape time, so every API process reports the same."""

    def __init__(self, resources: Resources) -> None:
        self.resources = resources

    def collect(self) -> Iterator[GaugeMetricFamily]:
        comments = GaugeMetricFamily("moderation_comments", "Stored comments by status", labels=["status"])
        try:
            with self.resources.sessions() as session:
                rows = session.execute(select(Comment.status, func.count()).group_by(Comment.status)).all()
            for status, count in rows:
                comments.add_metric([status], count)
        except Exception:
            log.warning("metrics: database unavailable", exc_info=True)
        yield comments
        decisions = GaugeMetricFamily(
            "moderation_decisions", "Decisions made, by action and source", labels=["action", "source"]
        )
        try:
            with self.resources.sessions() as session:
                counted = session.execute(
                    select(Decision.action, Decision.source, func.count()).group_by(
                        Decision.action, Decision.source
                    )
                ).all()
            for action, source, count in counted:
                decisions.add_metric([action, source], count)
        except Exception:
            log.warning("metrics: database unavailable", exc_info=True)
        yield decisions
        backlog = GaugeMetricFamily("moderation_queue_backlog", "Comment ids waiting in Redis for a worker")
        try:
            backlog.add_metric([], PendingQueue(self.resources.require_redis()).backlog())
        except Exception:
            log.warning("metrics: redis unavailable", exc_info=True)
        yield backlog


@bp.get("/metrics")
def metrics() -> Response:
    registry = CollectorRegistry()
    registry.register(QueueCollector(get_resources()))
    body = generate_latest(registry) + counters_exposition(ratelimit.METRICS)
    return Response(body, mimetype=CONTENT_TYPE_LATEST)
