"""The job that answers interactive analyses (Perspective's `comments:analyze`, see
`moderation.store.analysis`): a batch of requests, one model call, one reply each.

A request with a stored comment is decided as every comment is, by `decide_batch` (the one path to the
decision writer), and answered with the scores it was decided on; a request sent with `doNotStore`
is scored from the text in the request and nothing of it is written to the database.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select

from classifiers.scoring import Scorer, ScoreResult
from moderation.store.analysis import AnalysisJob, AnalysisQueue
from moderation.store.queue import PendingQueue
from moderation.store.tables import Comment
from workers import runtime
from workers.pipeline import LoadedSiteModel, decide_batch, score_set

log = logging.getLogger(__name__)

Values = dict[str, float | None]


def drain() -> int:
    """Answers waiting requests batch by batch until none is left; returns how many it answered."""
    context = runtime.current()
    queue = AnalysisQueue(context.redis)
    queue.drain_started()
    total = 0
    while jobs := queue.take(context.config.batch_size):
        try:
            replies = answer(context, jobs)
        except Exception:
            log.exception("answering %d analysis requests failed", len(jobs))
            replies = {job.request_id: {"error": "scoring failed"} for job in jobs}
        queue.reply(replies)
        total += len(jobs)
    log.info("analysis drain answered %d requests", total)
    return total


def answer(context: runtime.WorkerContext, jobs: Sequence[AnalysisJob]) -> dict[str, dict[str, Any]]:
    """Each request's reply: `{"values", "lang", "sentences"}` (our attribute names), or `{"error"}`."""
    scorer = context.scorer()
    if scorer is None:
        return {job.request_id: {"error": "no active model"} for job in jobs}
    active, shadows = context.site_models()
    replies: dict[str, dict[str, Any]] = {}
    stored = [job for job in jobs if job.comment_id]
    if stored:
        replies.update(_decide_stored(context, scorer, stored, active, shadows))
    transient = [job for job in jobs if not job.comment_id and job.text]
    if transient:
        results = scorer.score([job.text or "" for job in transient])
        for job, result in zip(transient, results, strict=True):
            values = _values(scorer, active, job, [job.text or ""], [result])[0]
            replies[job.request_id] = {"values": values, "lang": result.lang}
    _add_sentences(
        scorer, active, [job for job in jobs if job.sentences and job.request_id in replies], replies
    )
    return replies


def _decide_stored(
    context: runtime.WorkerContext,
    scorer: Scorer,
    jobs: Sequence[AnalysisJob],
    active: Mapping[int, LoadedSiteModel],
    shadows: Mapping[int, LoadedSiteModel],
) -> dict[str, dict[str, Any]]:
    """Decides the stored comments as the drain job does, then answers with the scores they were
    decided on (also when another worker decided one first)."""
    ids = [job.comment_id or "" for job in jobs]
    sessions = context.resources.sessions
    events = decide_batch(sessions, scorer, ids, context.redis, active, shadows)
    PendingQueue(context.redis).announce_decided([event.comment_id for event in events])
    with sessions() as session:
        comments = {c.id: c for c in session.scalars(select(Comment).where(Comment.id.in_(ids)))}
        replies: dict[str, dict[str, Any]] = {}
        for job in jobs:
            comment = comments.get(job.comment_id or "")
            if comment is None or comment.scores is None:
                replies[job.request_id] = {"error": "the comment was not scored"}
                continue
            values: Values = dict(comment.scores.values())
            replies[job.request_id] = {"values": values, "lang": comment.lang}
    return replies


def _values(
    scorer: Scorer,
    active: Mapping[int, LoadedSiteModel],
    job: AnalysisJob,
    texts: list[str],
    results: list[ScoreResult],
) -> list[Values]:
    """Our scores of `texts` (the job's text or its sentences), `site_reject` from the site's own model
    when the request asks for it and the site has one."""
    site_reject: list[float | None] = [None] * len(texts)
    loaded = active.get(job.site_id) if job.site_reject else None
    if loaded is not None:
        try:
            site_reject = [float(v) for v in loaded.model.predict(texts, results, scorer)]
        except Exception:
            log.exception("site model %s of site %d failed", loaded.version, job.site_id)
    out: list[Values] = []
    for result, reject in zip(results, site_reject, strict=True):
        values: Values = dict(score_set(result, reject).values)
        values.setdefault("site_reject", None)
        out.append(values)
    return out


def _add_sentences(
    scorer: Scorer,
    active: Mapping[int, LoadedSiteModel],
    jobs: Sequence[AnalysisJob],
    replies: dict[str, dict[str, Any]],
) -> None:
    """Scores every sentence of the jobs that asked for span scores, all in one model call."""
    texts = [sentence for job in jobs for sentence in job.sentences]
    if not texts:
        return
    results = scorer.score(texts)
    start = 0
    for job in jobs:
        part = results[start : start + len(job.sentences)]
        start += len(job.sentences)
        if "error" not in replies[job.request_id]:
            replies[job.request_id]["sentences"] = _values(scorer, active, job, list(job.sentences), part)
