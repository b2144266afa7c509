"""What a worker process holds for its whole life: its `Resources` and the loaded model.

RQ calls job functions by name, so a job cannot be handed its resources; the worker bootstrap builds
one `WorkerContext` per process and installs it here, and jobs fetch it with `current()`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import redis

from classifiers.catalogue import Catalogue
from classifiers.model import load_model
from classifiers.scoring import Scorer
from classifiers.site import load_site_model
from moderation.config import Config
from moderation.resources import WORKER_REDIS_TIMEOUT_S, Resources, connect_redis
from moderation.store import site_models
from moderation.store.model_versions import active_version
from workers.pipeline import LoadedSiteModel

log = logging.getLogger(__name__)

MODEL_CHECK_INTERVAL_S = 5.0


class SiteModelCache:
    """Each site's active model, loaded once per version and swapped when the database names another.
    Versions no longer active are dropped, so memory follows the number of sites with a model."""

    def __init__(self, resources: Resources) -> None:
        self.resources = resources
        self._active: dict[int, LoadedSiteModel] = {}
        self._shadow: dict[int, LoadedSiteModel] = {}
        self._checked_at = float("-inf")
        self._lock = threading.Lock()

    def current(self) -> tuple[dict[int, LoadedSiteModel], dict[int, LoadedSiteModel]]:
        """A snapshot for one batch, active and shadow models by site: the batch finishes on these
        versions whatever is promoted meanwhile."""
        with self._lock:
            now = time.monotonic()
            if now - self._checked_at >= MODEL_CHECK_INTERVAL_S:
                self._checked_at = now
                with self.resources.sessions() as session:
                    active = {k: (v, 0) for k, v in site_models.active_versions(session).items()}
                    shadow = site_models.shadow_versions(session)
                self._refresh(self._active, active)
                self._refresh(self._shadow, shadow)
            return dict(self._active), dict(self._shadow)

    def _refresh(self, loaded: dict[int, LoadedSiteModel], wanted: dict[int, tuple[str, int]]) -> None:
        for site_id in set(loaded) - set(wanted):
            del loaded[site_id]
        for site_id, (version, record_id) in wanted.items():
            held = loaded.get(site_id)
            if held is not None and held.version == version:
                continue
            try:
                model = load_site_model(self.resources.registry.site(site_id).path(version))
            except Exception:
                # Keep scoring with what this worker has (or without site_reject) rather than stop.
                log.exception("cannot load site model %s of site %d", version, site_id)
                continue
            log.info("site %d: loaded site model %s", site_id, version)
            loaded[site_id] = LoadedSiteModel(version, model, record_id)


@dataclass
class WorkerContext:
    resources: Resources
    _scorer: Scorer | None = None
    _checked_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _site_models: SiteModelCache | None = None
    # The RQ worker running this process's jobs (`workers.worker.run_worker`), so a long drain can see
    # that the worker was asked to stop.
    rq_worker: Any = None

    def loaded_version(self) -> str | None:
        """The model version this process holds now (None before the first `scorer()`)."""
        return self._scorer.version if self._scorer is not None else None

    def stop_requested(self) -> bool:
        """Whether this process's RQ worker was asked to stop (SIGTERM) while a job runs: it stops after
        the job, so a job that loops should end soon."""
        return bool(getattr(self.rq_worker, "_stop_requested", False))

    def site_models(self) -> tuple[dict[int, LoadedSiteModel], dict[int, LoadedSiteModel]]:
        """The active and the shadow model of every site that has one (checked against the database
        every few seconds)."""
        if self._site_models is None:
            self._site_models = SiteModelCache(self.resources)
        return self._site_models.current()

    @property
    def config(self) -> Config:
        return self.resources.config

    @property
    def redis(self) -> redis.Redis:
        return self.resources.require_redis()

    def scorer(self) -> Scorer | None:
        """The active model with the current catalogue: loaded once, swapped when the database names a
        new active version, and given the new catalogue when an editor saved an extension."""
        with self._lock:
            now = time.monotonic()
            if self._scorer is not None and now - self._checked_at < MODEL_CHECK_INTERVAL_S:
                return self._scorer
            self._checked_at = now
            with self.resources.sessions() as session:
                wanted = active_version(session)
            if wanted is None:
                if self._scorer is None:
                    log.error("no active model version; comments get the fallback decision")
                return self._scorer
            catalogue = self.resources.catalogue.current()
            if self._scorer is None or self._scorer.version != wanted:
                log.info("loading model %s", wanted)
                self._scorer = self._load(wanted, catalogue)
            elif self._scorer.catalogue is not catalogue:
                # Same model, new narratives: nothing to read from disk.
                current = self._scorer
                self._scorer = current.with_catalogue(catalogue)
            return self._scorer

    def _load(self, version: str, catalogue: Catalogue) -> Scorer:
        return Scorer(*load_model(self.resources.registry.path(version)), catalogue)


_context: WorkerContext | None = None


def lower_priority(nice: int) -> None:
    """Run this process (and what it forks) at CPU niceness `nice` (`MODERATION_WORKER_NICE`), never at a
    higher priority than it runs now."""
    if nice > os.getpriority(os.PRIO_PROCESS, 0):
        os.setpriority(os.PRIO_PROCESS, 0, nice)
        log.info("worker runs at CPU niceness %d", nice)


def build_context(config: Config) -> WorkerContext:
    if not config.redis_url:
        raise RuntimeError("a worker needs REDIS_URL")
    # Workers block on Redis (RQ raises the socket timeout for its own waits) and are not answering a
    # request: a longer connect timeout than the API's suits a Redis on another host.
    connection = connect_redis(config.redis_url, timeout_s=WORKER_REDIS_TIMEOUT_S)
    return WorkerContext(Resources.from_config(config, redis=connection))


def install(context: WorkerContext | None) -> None:
    global _context
    _context = context


def current() -> WorkerContext:
    """The installed context; a worker started by plain `rq worker` builds one from the environment."""
    global _context
    if _context is None:
        _context = build_context(Config.from_env())
    return _context
