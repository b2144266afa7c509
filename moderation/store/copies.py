"""Coordinated posting: the same text from several authors within a few days.

A recent-comments index in Redis (a cache: losing it only forgets older comments) maps each MinHash band
key to the comments that have it, per site. A new comment's band keys give candidates; their signatures
give the similarity; matches by *other* authors are what counts. One author repeating himself is a
different problem (spam), and many people writing "Danke!" is none: short texts are never compared.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import redis

from classifiers.duplicates import Signature, band_keys, near_duplicates, signature

log = logging.getLogger(__name__)

WINDOW_S = 3 * 24 * 3600
SAMPLE_PER_BAND = 10
_BAND = "moderation:dup:{site}:{band}"
_SIG = "moderation:dupsig:{id}"


@dataclass(frozen=True)
class Item:
    comment_id: str
    site_id: int
    author_id: str
    text: str


@dataclass(frozen=True)
class Copies:
    """Recent comments by other authors with (nearly) the same text."""

    authors: int
    count: int
    comment_ids: tuple[str, ...]  # the most similar ten


# Per comment, in one server-side step: sample each band's recent members, then add the comment to its
# bands and store its signature. One round trip per batch, and earlier comments of the batch are seen by
# later ones exactly as if they had come in separate batches.
_CHECK_AND_ADD = """
local ttl, sample, n = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local i, out = 4, {}
for _ = 1, n do
  local id, sig_key, sig, bands = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])
  i = i + 4
  local seen, candidates = {}, {}
  for _ = 1, bands do
    local key = ARGV[i]
    i = i + 1
    for _, member in ipairs(redis.call('SRANDMEMBER', key, sample)) do
      if not seen[member] then
        seen[member] = true
        candidates[#candidates + 1] = member
      end
    end
    redis.call('SADD', key, id)
    redis.call('EXPIRE', key, ttl)
  end
  redis.call('SET', sig_key, sig, 'EX', ttl)
  out[#out + 1] = candidates
end
return out
"""


class RecentIndex:
    def __init__(self, connection: redis.Redis, window_s: int = WINDOW_S) -> None:
        self.redis = connection
        self.window_s = window_s
        self._script = connection.register_script(_CHECK_AND_ADD)

    def check_and_add(self, items: Sequence[Item]) -> dict[str, Copies]:
        """Finds copies of each item among recent comments of its site (earlier items of the batch
        included), and records the items. Items without copies by other authors are absent."""
        signed = [(item, sig) for item in items if (sig := signature(item.text)).informative]
        if not signed:
            return {}
        args: list[object] = [self.window_s, SAMPLE_PER_BAND, len(signed)]
        for item, sig in signed:
            bands = [_BAND.format(site=item.site_id, band=b) for b in band_keys(sig)]
            stored = item.author_id.encode() + b"\x00" + sig.to_bytes()
            args += [item.comment_id, _SIG.format(id=item.comment_id), stored, len(bands), *bands]
        candidate_lists = self._script(args=args)
        known = self._load(sorted({c.decode() for found in candidate_lists for c in found}))
        result: dict[str, Copies] = {}
        for (item, sig), candidates in zip(signed, candidate_lists, strict=True):
            pool = [(cid, known[cid]) for cid in (c.decode() for c in candidates) if cid in known]
            others = {cid: author for cid, (author, _) in pool if author != item.author_id}
            matches = near_duplicates(sig, [(cid, other) for cid, (_, other) in pool if cid in others])
            if matches:
                authors = {others[str(m.key)] for m in matches}
                nearest = tuple(str(m.key) for m in matches[:10])
                result[item.comment_id] = Copies(len(authors), len(matches), nearest)
        return result

    def _load(self, ids: list[str]) -> dict[str, tuple[str, Signature]]:
        if not ids:
            return {}
        out: dict[str, tuple[str, Signature]] = {}
        for cid, raw in zip(ids, self.redis.mget([_SIG.format(id=i) for i in ids]), strict=True):
            if raw is None:
                continue
            author, _, sig = raw.partition(b"\x00")
            try:
                out[cid] = (author.decode(), Signature.from_bytes(sig))
            except ValueError:
                log.warning("ignoring an unreadable signature for comment %s", cid)
        return out


def find_copies(connection: redis.Redis | None, items: Sequence[Item]) -> dict[str, Copies] | None:
    """Copies per item (items without any are absent). Fails open: without Redis the answer is None
    (unknown), and comments are decided without the coordination signal."""
    if connection is None:
        return None
    if not items:
        return {}
    try:
        return RecentIndex(connection).check_and_add(items)
    except redis.RedisError:
        log.warning(
            "recent-comments index unavailable; deciding without the coordination signal", exc_info=True
        )
        return None
