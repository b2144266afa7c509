"""What a worker process holds for its whole life: its `Resources` and the loaded model.

RQ calls job functions by name, so a job cannot be handed its resources; the worker bootstrap builds
one `WorkerContext` per process and installs it here, and jobs fetch it with `current()`.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

import redis

from classifiers.catalogue import Catalogue
from classifiers.model import load_model
from classifiers.scoring import Scorer
from moderation.config import Config
from moderation.resources import Resources
from moderation.store.model_versions import active_version

log = logging.getLogger(__name__)

MODEL_CHECK_INTERVAL_S = 5.0


@dataclass
class WorkerContext:
    resources: Resources
    _scorer: Scorer | None = None
    _checked_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

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
                self._scorer = Scorer(current.vectorizer, current.heads, current.card, catalogue)
            return self._scorer

    def _load(self, version: str, catalogue: Catalogue) -> Scorer:
        return Scorer(*load_model(self.resources.registry.path(version)), catalogue)


_context: WorkerContext | None = None


def build_context(config: Config) -> WorkerContext:
    if not config.redis_url:
        raise RuntimeError("a worker needs REDIS_URL")
    return WorkerContext(Resources.from_config(config))


def install(context: WorkerContext | None) -> None:
    global _context
    _context = context


def current() -> WorkerContext:
    """The installed context; a worker started by plain `rq worker` builds one from the environment."""
    global _context
    if _context is None:
        _context = build_context(Config.from_env())
    return _context
