"""`moderation score`: decides a JSONL file of comments with the active model, no server needed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any

from tqdm import tqdm

from classifiers.scoring import Scorer
from moderation.comments import iso
from moderation.models import utcnow
from moderation.policy import CommentFacts, SitePolicy, decide
from workers.pipeline import flat_scores

BATCH = 512


class InputError(ValueError):
    pass


def _read(lines: IO[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise InputError(f"line {number}: not valid JSON ({exc})") from exc
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise InputError(f"line {number}: each line must be an object with a string 'text'")
        yield number, record


def score_lines(
    scorer: Scorer, policy: SitePolicy, source: IO[str], sink: IO[str], *, total: int | None = None
) -> int:
    """Writes each input object plus `scores`, `spans` and `decision` as the HTTP API returns them.

    Offline there is no author history, so the links-from-new-authors rule is not applied.
    """
    written = 0
    batch: list[dict[str, Any]] = []
    with tqdm(total=total, unit="comments", desc="scoring", disable=None) as bar:
        for _, record in _read(source):
            batch.append(record)
            if len(batch) >= BATCH:
                written += _flush(scorer, policy, batch, sink)
                bar.update(len(batch))
                batch = []
        if batch:
            written += _flush(scorer, policy, batch, sink)
            bar.update(len(batch))
    return written


def _flush(scorer: Scorer, policy: SitePolicy, batch: list[dict[str, Any]], sink: IO[str]) -> int:
    results = scorer.score([record["text"] for record in batch])
    decided_at = iso(utcnow())
    for record, result in zip(batch, results, strict=True):
        facts = CommentFacts(text=record["text"], author_has_history=True, lang=result.lang)
        verdict = decide(flat_scores(result), facts, policy)
        out = dict(record)
        out["scores"] = result.scores_dict()
        out["spans"] = [span.to_dict() for span in result.spans]
        out["lang"] = result.lang
        out["decision"] = {
            "action": verdict.action.value,
            "reasons": verdict.reasons_dicts(),
            "source": verdict.source.value,
            "model_version": scorer.version,
            "decided_at": decided_at,
        }
        sink.write(json.dumps(out, ensure_ascii=False) + "\n")
    return len(batch)
