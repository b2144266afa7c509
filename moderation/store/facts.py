"""The one way the policy's facts about a comment (`CommentFacts`) are built from storage.

- `live_facts`: the workers, deciding new comments: author history from SQL, copies from the recent-
  comments index in Redis (recorded with the decision, since that index forgets).
- `replayed_facts`: the what-if preview, re-deciding stored comments: the facts recorded with each
  comment's model decision, so a preview of the unchanged policy gives the workers' actions.
- `offline_facts`: `moderation score`, which has neither history nor a stream of recent comments: those
  facts are unknown (`None`) and the rules needing them do not apply; `CommentFacts.unknown` names them.

Author history means the same everywhere: an approved comment by the same author on the same site,
created before this one. Every fact set reads the text for the word rules as the models do
(`classifiers.normalize.normalise`), so a disguised banned word is found alike in all three.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from classifiers.normalize import normalise
from moderation.domain.enums import Source, Status
from moderation.domain.facts import CommentFacts
from moderation.domain.timestamps import as_utc
from moderation.store.copies import Item, find_copies
from moderation.store.db import pairs_in
from moderation.store.tables import Comment, Decision

CHUNK = 500


@dataclass(frozen=True)
class Subject:
    """A stored comment the policy is asked about."""

    id: str
    site_id: int
    author_id: str
    text: str
    created_at: datetime


def author_histories(session: Session, subjects: Sequence[Subject]) -> set[str]:
    """The ids of the subjects whose author has an approved comment on the site from before them."""
    authors = sorted({(s.site_id, s.author_id) for s in subjects})
    earliest: dict[tuple[int, str], datetime] = {}
    for start in range(0, len(authors), CHUNK):
        rows = session.execute(
            select(Comment.site_id, Comment.author_id, func.min(Comment.created_at))
            .where(
                pairs_in(Comment.site_id, Comment.author_id, authors[start : start + CHUNK]),
                Comment.status == Status.APPROVED.value,
            )
            .group_by(Comment.site_id, Comment.author_id)
        )
        for site_id, author_id, earliest_at in rows:
            when = as_utc(earliest_at)
            if when is not None:
                earliest[(site_id, author_id)] = when
    out = set()
    for subject in subjects:
        first = earliest.get((subject.site_id, subject.author_id))
        created = as_utc(subject.created_at)
        if first is not None and created is not None and first < created:
            out.add(subject.id)
    return out


def live_facts(
    session: Session,
    subjects: Sequence[Subject],
    langs: Mapping[str, str | None],
    connection: redis.Redis | None,
    read_languages: tuple[str, ...] = (),
) -> dict[str, CommentFacts]:
    """Facts for comments being decided now. Adds them to the recent-comments index (copies of later
    comments are found among them); without Redis, copies are unknown and that rule does not apply.
    `read_languages`: the optional languages the scoring model read (`Scorer.read_languages`)."""
    history = author_histories(session, subjects)
    items = [Item(s.id, s.site_id, s.author_id, s.text) for s in subjects]
    found = find_copies(connection, items)
    out = {}
    for subject in subjects:
        copies = found.get(subject.id) if found is not None else None
        out[subject.id] = CommentFacts(
            text=subject.text,
            author_has_history=subject.id in history,
            lang=langs.get(subject.id),
            copies=None if found is None else (copies.count if copies else 0),
            copy_authors=None if found is None else (copies.authors if copies else 0),
            read_languages=read_languages,
            read=normalise,
        )
    return out


def replayed_facts(
    session: Session, subjects: Sequence[Subject], langs: Mapping[str, str | None]
) -> dict[str, CommentFacts]:
    """Facts for stored comments, as their model decision recorded them. A comment decided before facts
    were recorded gets its author history from storage and unknown copies."""
    recorded: dict[str, dict[str, Any]] = {}
    ids = [s.id for s in subjects]
    for start in range(0, len(ids), CHUNK):
        rows: Iterable[tuple[str, dict[str, Any] | None]] = session.execute(  # type: ignore[assignment]
            select(Decision.comment_id, Decision.facts)
            .where(
                Decision.comment_id.in_(ids[start : start + CHUNK]),
                Decision.source != Source.MODERATOR.value,
                Decision.facts.is_not(None),
            )
            .order_by(Decision.id)
        )
        for comment_id, facts in rows:
            recorded[str(comment_id)] = dict(facts or {})
    missing = [s for s in subjects if s.id not in recorded]
    history = author_histories(session, missing) if missing else set()
    out = {}
    for subject in subjects:
        facts = recorded.get(subject.id)
        if facts is None:
            out[subject.id] = CommentFacts(
                text=subject.text,
                author_has_history=subject.id in history,
                lang=langs.get(subject.id),
                copies=None,
                copy_authors=None,
                read=normalise,
            )
            continue
        out[subject.id] = CommentFacts(
            text=subject.text,
            author_has_history=_flag(facts.get("author_has_history")),
            lang=langs.get(subject.id),
            copies=_number(facts.get("copies")),
            copy_authors=_number(facts.get("copy_authors")),
            read_languages=_codes(facts.get("read_languages")),
            read=normalise,
        )
    return out


def offline_facts(text: str, lang: str | None, read_languages: tuple[str, ...] = ()) -> CommentFacts:
    """Facts for a comment scored outside the service: no author history, no recent comments."""
    return CommentFacts(
        text=text,
        author_has_history=None,
        lang=lang,
        copies=None,
        copy_authors=None,
        read_languages=read_languages,
        read=normalise,
    )


def _flag(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _number(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _codes(value: object) -> tuple[str, ...]:
    """Recorded language codes; a decision recorded before they were (or anything else) read none."""
    if not isinstance(value, list):
        return ()
    return tuple(v for v in value if isinstance(v, str))
