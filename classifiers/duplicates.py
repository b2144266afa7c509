"""Near-duplicate detection for coordinated posting: MinHash signatures of the normalised text.

The same narrative pasted by several accounts usually differs in mentions, links, case, punctuation,
obfuscation or a few words. A signature is a MinHash over character 5-grams of the normalised text
(mentions dropped, punctuation removed), so two texts' signatures agree in about as many positions as
their shingle sets overlap (Jaccard similarity). Signatures are plain bytes, so the service can store
them next to each comment; `band_keys` gives locality-sensitive-hashing keys for an index lookup
instead of a scan. Pure functions: nothing here stores or fetches anything.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from classifiers.normalize import USER_TOKEN, normalise_text

PERMUTATIONS = 64
SHINGLE = 5
BANDS = 16
DEFAULT_THRESHOLD = 0.7
# Texts with fewer shingles ("Genau so!", "Danke") are said by many people independently.
MIN_SHINGLES = 20
FORMAT = 1
_HEADER = struct.Struct("<BH")
_NON_WORD = re.compile(r"[\W_]+")
# Multiply-shift hashing: odd 64-bit multipliers, fixed so signatures stay comparable across processes,
# hosts and releases (changing them invalidates every stored signature: bump FORMAT then).
_RNG = np.random.default_rng(20261125)
_MULT = _RNG.integers(1, 2**63, size=PERMUTATIONS, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
_ADD = _RNG.integers(0, 2**63, size=PERMUTATIONS, dtype=np.uint64)
_EMPTY = np.full(PERMUTATIONS, np.iinfo(np.uint32).max, dtype=np.uint32)


@dataclass(frozen=True, eq=False)  # numpy arrays have no boolean ==; compare with `similarity`
class Signature:
    """MinHash values of one text plus its shingle count (short texts are not compared)."""

    values: np.ndarray  # (PERMUTATIONS,) uint32
    shingles: int

    def to_bytes(self) -> bytes:
        """Compact storage form: 3 header bytes + 4 bytes per permutation (259 bytes)."""
        return _HEADER.pack(FORMAT, min(self.shingles, 65535)) + self.values.astype("<u4").tobytes()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Signature:
        if len(raw) != _HEADER.size + 4 * PERMUTATIONS:
            raise ValueError(f"a signature has {_HEADER.size + 4 * PERMUTATIONS} bytes, got {len(raw)}")
        fmt, shingles = _HEADER.unpack_from(raw)
        if fmt != FORMAT:
            raise ValueError(f"signature format {fmt} is not {FORMAT}")
        return cls(np.frombuffer(raw, dtype="<u4", offset=_HEADER.size).astype(np.uint32), shingles)

    @property
    def informative(self) -> bool:
        return self.shingles >= MIN_SHINGLES


@dataclass(frozen=True)
class Match:
    key: object
    similarity: float


def canonical_text(text: str) -> str:
    """The normalised text reduced to words: what two coordinated copies still have in common."""
    words = normalise_text(text).replace(USER_TOKEN, " ")
    return _NON_WORD.sub(" ", words).strip()


def signature(text: str) -> Signature:
    canon = canonical_text(text)
    if not canon:
        return Signature(_EMPTY.copy(), 0)
    count = max(len(canon) - SHINGLE + 1, 1)
    hashes = np.fromiter(
        (zlib.crc32(canon[i : i + SHINGLE].encode("utf-8")) for i in range(count)), np.uint64, count
    )
    hashes = np.unique(hashes)
    # (shingles, permutations) in uint64 wrap-around arithmetic; the high 32 bits are the hash value.
    mixed = (hashes[:, None] * _MULT[None, :] + _ADD[None, :]) >> np.uint64(32)
    return Signature(mixed.min(axis=0).astype(np.uint32), len(hashes))


def similarity(a: Signature, b: Signature) -> float:
    """Estimated Jaccard similarity of the two texts' shingle sets (0..1)."""
    return float(np.count_nonzero(a.values == b.values)) / PERMUTATIONS


def band_keys(sig: Signature, bands: int = BANDS) -> list[str]:
    """LSH keys: texts sharing any key are candidates (16 bands of 4 rows find pairs with Jaccard
    >= 0.7 with probability ~0.98 and pairs at 0.3 with ~0.12)."""
    rows = PERMUTATIONS // bands
    return [
        f"{band}:{zlib.crc32(sig.values[band * rows : (band + 1) * rows].tobytes()):08x}"
        for band in range(bands)
    ]


def near_duplicates(
    sig: Signature,
    recent: Iterable[tuple[object, Signature]],
    threshold: float = DEFAULT_THRESHOLD,
) -> list[Match]:
    """The recent signatures (with their caller-chosen keys, e.g. comment ids) whose estimated
    similarity to `sig` is at least `threshold`, most similar first. Uninformative (short) texts match
    nothing."""
    if not sig.informative:
        return []
    keys: list[object] = []
    rows: list[np.ndarray] = []
    for key, other in recent:
        if other.informative:
            keys.append(key)
            rows.append(other.values)
    if not rows:
        return []
    agree = (np.vstack(rows) == sig.values[None, :]).mean(axis=1)
    found = np.flatnonzero(agree >= threshold)
    order = found[np.argsort(-agree[found], kind="stable")]
    return [Match(keys[i], float(agree[i])) for i in order]
