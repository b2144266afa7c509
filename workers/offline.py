"""`moderation score`: decides a JSONL file of comments with the active model, no server needed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any

from tqdm import tqdm

from classifiers.scoring import Scorer
from moderation.domain import reader_reasons, reasons
from moderation.domain.policy import SitePolicy, decide
from moderation.domain.timestamps import iso, utcnow
from moderation.store.facts import offline_facts
from workers.errors import InputError
from workers.pipeline import LoadedSiteModel, score_set

BATCH = 512


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
    scorer: Scorer,
    policy: SitePolicy,
    source: IO[str],
    sink: IO[str],
    *,
    total: int | None = None,
    site_model: LoadedSiteModel | None = None,
) -> int:
    """Writes each input object plus `scores`, `spans` and `decision` as the HTTP API returns them, and
    `unknown_facts`: offline there is no author history and no stream of recent comments, so the rules
    on links from new authors and on coordinated posting do not apply (`moderation.store.facts`).
    """
    written = 0
    batch: list[dict[str, Any]] = []
    with tqdm(total=total, unit="comments", desc="scoring", disable=None) as bar:
        for _, record in _read(source):
            batch.append(record)
            if len(batch) >= BATCH:
                written += _flush(scorer, policy, batch, sink, site_model)
                bar.update(len(batch))
                batch = []
        if batch:
            written += _flush(scorer, policy, batch, sink, site_model)
            bar.update(len(batch))
    return written


def _flush(
    scorer: Scorer,
    policy: SitePolicy,
    batch: list[dict[str, Any]],
    sink: IO[str],
    site_model: LoadedSiteModel | None,
) -> int:
    texts = [record["text"] for record in batch]
    results = scorer.score(texts)
    site_reject = site_model.model.predict(texts, results, scorer) if site_model is not None else None
    decided_at = iso(utcnow())
    for index, (record, result) in enumerate(zip(batch, results, strict=True)):
        facts = offline_facts(record["text"], result.lang, scorer.read_languages)
        scores = score_set(result, float(site_reject[index]) if site_reject is not None else None)
        verdict = decide(scores.values, facts, policy)
        out = dict(record)
        out["scores"] = scores.to_api()
        out["spans"] = [dict(span) for span in scores.spans]
        out["lang"] = result.lang
        out["decision"] = {
            "action": verdict.action.value,
            "reasons": [reasons.for_api(r) for r in verdict.reasons_dicts()],
            "source": verdict.source.value,
            "model_version": scorer.version,
            "site_model_version": site_model.version if site_model is not None else None,
            "scoring_profile": result.profile,
            "reader_reason": reader_reasons.derive(
                verdict.action.value, verdict.source.value, verdict.reasons_dicts()
            ),
            "decided_at": decided_at,
        }
        # Rules that need these facts (links from new authors, coordinated posting) could not apply.
        out["unknown_facts"] = list(facts.unknown())
        sink.write(json.dumps(out, ensure_ascii=False) + "\n")
    return len(batch)
