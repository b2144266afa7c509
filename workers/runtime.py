"""What a worker process holds for its whole life: database, Redis and the loaded model.

RQ calls job functions by name, so a job cannot be handed its resources; the worker bootstrap builds
one `WorkerContext` per process and installs it here, and jobs fetch it with `current()`.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

import redis
from sqlalchemy.orm import Session, sessionmaker

from classifiers.catalogue import extensions_fingerprint
from classifiers.errors import CatalogueError
from classifiers.registry import Registry
from classifiers.scoring import Scorer
from moderation.config import Config
from moderation.db import make_engine, make_session_factory
from moderation.modelstore import active_version
from moderation.resources import connect_redis

log = logging.getLogger(__name__)

MODEL_CHECK_INTERVAL_S = 5.0


@dataclass
class WorkerContext:
    config: Config
    sessions: sessionmaker[Session]
    redis: redis.Redis
    registry: Registry
    _scorer: Scorer | None = None
    _checked_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def scorer(self) -> Scorer | None:
        """The active model, loaded once and swapped when the database names a new active version."""
        with self._lock:
            now = time.monotonic()
            if self._scorer is not None and now - self._checked_at < MODEL_CHECK_INTERVAL_S:
                return self._scorer
            self._checked_at = now
            with self.sessions() as session:
                wanted = active_version(session)
            if wanted is None:
                if self._scorer is None:
                    log.error("no active model version; comments get the fallback decision")
                return self._scorer
            if self._scorer is None or self._scorer.version != wanted:
                log.info("loading model %s", wanted)
                self._scorer = self.registry.load(wanted)
            elif not self._scorer.catalogue.is_current():
                # An editor saved a narrative catalogue extension: same model, new narratives.
                try:
                    self._scorer = self.registry.load(wanted)
                    log.info("narrative catalogue reloaded: %s", self._scorer.catalogue.version)
                except CatalogueError as exc:
                    # A broken edit must not stop scoring: keep the catalogue that worked, say why.
                    log.error("narrative catalogue extension refused, keeping the previous one: %s", exc)
                    self._scorer.catalogue.fingerprint = extensions_fingerprint(self.registry.catalogue_dir)
            return self._scorer


_context: WorkerContext | None = None


def build_context(config: Config) -> WorkerContext:
    engine = make_engine(config.database_url)
    connection = connect_redis(config.redis_url)
    if connection is None:
        raise RuntimeError("a worker needs REDIS_URL")
    return WorkerContext(
        config, make_session_factory(engine), connection, Registry(config.models_dir, config.catalogue_dir)
    )


def install(context: WorkerContext | None) -> None:
    global _context
    _context = context


def current() -> WorkerContext:
    """The installed context; a worker started by plain `rq worker` builds one from the environment."""
    global _context
    if _context is None:
        _context = build_context(Config.from_env())
    return _context
