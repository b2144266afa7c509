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

from classifiers.catalogue import extensions_fingerprint, load_catalogue
from classifiers.errors import CatalogueError
from classifiers.model import load_model
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
    _refused_catalogue: tuple | None = None  # extension files as they were when they failed to load

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
                self._scorer = self._load(wanted)
            elif self._catalogue_changed():
                # An editor saved a narrative catalogue extension: same model, new narratives.
                self._scorer = self._load(wanted)
            return self._scorer

    def _catalogue_changed(self) -> bool:
        assert self._scorer is not None
        current = extensions_fingerprint(self.registry.catalogue_dir)
        return current not in (self._scorer.catalogue.fingerprint, self._refused_catalogue)

    def _load(self, version: str) -> Scorer:
        """Load `version` with the current catalogue extensions, or, if an extension file is broken,
        with the catalogue that worked before (the shipped one at first): a bad edit never stops scoring."""
        try:
            scorer = self.registry.load(version)
        except CatalogueError as exc:
            self._refused_catalogue = extensions_fingerprint(self.registry.catalogue_dir)
            catalogue = self._scorer.catalogue if self._scorer is not None else load_catalogue(None)
            log.error("narrative catalogue extension refused, using catalogue %s: %s", catalogue.version, exc)
            return Scorer(*load_model(self.registry.path(version)), catalogue)
        if scorer.catalogue.extensions is not None and scorer.catalogue.fingerprint:
            log.info("narrative catalogue %s", scorer.catalogue.version)
        return scorer


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
