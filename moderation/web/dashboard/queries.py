"""Queue queries: filters, keyset pagination and the context a comment card shows.

Pages are keyset-paged (`WHERE (key, id) < (last key, last id)`) so page 500 costs what page 1 costs;
offsets would make the database count past every earlier row.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from sqlalchemy import Select, String, and_, case, cast, column, func, or_, select, table, text, tuple_
from sqlalchemy.orm import Session, selectinload

from moderation.domain.attributes import NAMES
from moderation.domain.enums import Status
from moderation.domain.timestamps import as_utc
from moderation.store.db import pairs_in
from moderation.store.tables import Comment, Scores, Site
from moderation.web.context import get_resources
from moderation.web.dashboard.numbers import parse_day

Q = TypeVar("Q", bound=Select)  # type: ignore[type-arg]

QUEUES = ("held", "rejected", "approved", "all")
SORTS = ("risk", "oldest", "newest")
FILTER_ATTRIBUTES = NAMES
PAGE_SIZE = 25
MAX_CURSOR = 200  # our cursors are about 60 characters
ATTRIBUTE_MIN = 0.5
MIN_INDEXED_QUERY = 3  # the trigram index cannot answer shorter queries
SEARCH_TABLE = table("comments_search", column("comment_id"))
MAX_ROW_ID = 2**31 - 1  # PostgreSQL's INTEGER; ids beyond it name no row
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _float(raw: str | None, low: float = 0.0, high: float = 1.0) -> float | None:
    try:
        value = float(raw) if raw else None
    except ValueError:
        return None
    return None if value is None else min(high, max(low, value))


def _date(raw: str | None) -> date | None:
    return parse_day(raw)


def day_end(day: date) -> datetime | None:
    """The first instant after `day` (UTC), or None for the last day a date can name (no upper bound)."""
    if day >= date.max:
        return None
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)


def row_id(raw: str | None) -> int | None:
    """A database id from a query parameter: ASCII digits within the range every database stores, or
    None (a filter that cannot match anything real is ignored like any other bad value)."""
    if not raw or not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        return None
    value = int(raw)
    return value if value <= MAX_ROW_ID else None


def clean(raw: str | None, limit: int) -> str:
    """A free-text filter: trimmed, cut to `limit`, without control characters (no comment or name
    contains them, and PostgreSQL refuses a NUL in a query parameter)."""
    return _CONTROL.sub("", raw or "").strip()[:limit]


@dataclass(frozen=True)
class Filters:
    """What the moderator narrowed the queue to; parsed leniently (a bad value is ignored, not a 400)."""

    queue: str = "held"
    sort: str = "risk"
    site: int | None = None
    article: str = ""
    band_min: float | None = None
    band_max: float | None = None
    attribute: str = ""
    technique: str = ""
    narrative: str = ""
    lang: str = ""
    date_from: date | None = None
    date_to: date | None = None
    q: str = ""
    cursor: str = ""

    @classmethod
    def from_args(cls, queue: str, args: Mapping[str, str]) -> Filters:
        queue = queue if queue in QUEUES else "held"
        default_sort = "risk" if queue == "held" else "newest"
        sort = args.get("sort") or default_sort
        attribute = args.get("attribute") or ""
        return cls(
            queue=queue,
            sort=sort if sort in SORTS else default_sort,
            site=row_id(args.get("site")),
            article=clean(args.get("article"), 500),
            band_min=_float(args.get("band_min")),
            band_max=_float(args.get("band_max")),
            attribute=attribute if attribute in FILTER_ATTRIBUTES else "",
            technique=clean(args.get("technique"), 100),
            narrative=clean(args.get("narrative"), 100),
            lang=clean(args.get("lang"), 16),
            date_from=_date(args.get("date_from")),
            date_to=_date(args.get("date_to")),
            q=clean(args.get("q"), 200),
            cursor=(args.get("cursor") or "")[:MAX_CURSOR],
        )

    def args(self, **changes: Any) -> dict[str, str]:
        """The query string for links that keep these filters (empty values left out)."""
        current = replace(self, **changes)
        raw = {
            "sort": current.sort,
            "site": current.site,
            "article": current.article,
            "band_min": current.band_min,
            "band_max": current.band_max,
            "attribute": current.attribute,
            "technique": current.technique,
            "narrative": current.narrative,
            "lang": current.lang,
            "date_from": current.date_from,
            "date_to": current.date_to,
            "q": current.q,
            "cursor": current.cursor,
        }
        return {k: str(v) for k, v in raw.items() if v not in (None, "")}

    @property
    def needs_scores(self) -> bool:
        return bool(
            self.band_min is not None
            or self.band_max is not None
            or self.attribute
            or self.technique
            or self.narrative
        )


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def apply_filters(query: Q, filters: Filters, *, with_queue: bool = True) -> Q:
    conditions: list[Any] = []
    if with_queue and filters.queue != "all":
        conditions.append(Comment.status == filters.queue)
    if filters.site is not None:
        conditions.append(Comment.site_id == filters.site)
    if filters.article:
        conditions.append(Comment.article_id == filters.article)
    if filters.lang:
        conditions.append(Comment.lang == filters.lang)
    if filters.date_from:
        conditions.append(Comment.created_at >= datetime.combine(filters.date_from, time.min, tzinfo=UTC))
    if filters.date_to and (end := day_end(filters.date_to)) is not None:
        conditions.append(Comment.created_at < end)
    if filters.q:
        conditions.append(search_condition(filters.q))
    if filters.band_min is not None:
        conditions.append(Scores.risk >= filters.band_min)
    if filters.band_max is not None:
        conditions.append(Scores.risk <= filters.band_max)
    if filters.attribute:
        conditions.append(Scores.column(filters.attribute) >= ATTRIBUTE_MIN)
    if filters.technique:
        conditions.append(Scores.techniques[filters.technique].as_float() >= ATTRIBUTE_MIN)
    if filters.narrative:
        # Narratives are a JSON list of {"id", "score"}; matching the quoted id in its text works the
        # same on SQLite and PostgreSQL, where a JSON path query would not.
        quoted = _like_escape(json.dumps(filters.narrative))
        conditions.append(cast(Scores.narratives, String).like(f"%{quoted}%", escape="\\"))
    return query.where(and_(*conditions)) if conditions else query


def search_condition(q: str) -> Any:
    """Case-insensitive substring search in comment texts, answered from an index (migration 0003).

    PostgreSQL: ILIKE through a pg_trgm GIN index. SQLite: the FTS5 trigram table `comments_search`,
    which needs three characters; shorter queries scan, as they would on PostgreSQL too.
    """
    pattern = Comment.text.ilike(f"%{_like_escape(q)}%", escape="\\")
    if _dialect_is_sqlite() and len(q) >= MIN_INDEXED_QUERY:
        phrase = '"' + q.replace('"', '""') + '"'
        match = text("comments_search MATCH :phrase").bindparams(phrase=phrase)
        return Comment.id.in_(select(SEARCH_TABLE.c.comment_id).where(match))
    return pattern


def _dialect_is_sqlite() -> bool:
    return get_resources().engine.dialect.name == "sqlite"


def _sort_key(filters: Filters) -> tuple[Any, Any, bool]:
    """(key column, tie-breaker, descending). Risk is `Comment.priority`, never NULL, so the held queue
    walks the (status, priority, id) index instead of sorting every held comment."""
    if filters.sort == "risk":
        return Comment.priority, Comment.id, True
    if filters.sort == "oldest":
        return Comment.created_at, Comment.id, False
    return Comment.created_at, Comment.id, True


def encode_cursor(filters: Filters, comment: Comment) -> str:
    if filters.sort == "risk":
        key: Any = comment.priority
    else:
        key = (as_utc(comment.created_at) or datetime.now(UTC)).isoformat()
    raw = json.dumps([key, comment.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(filters: Filters) -> tuple[Any, str] | None:
    if not filters.cursor:
        return None
    try:
        padded = filters.cursor + "=" * (-len(filters.cursor) % 4)
        decoded = json.loads(base64.urlsafe_b64decode(padded))
        if not isinstance(decoded, list) or len(decoded) != 2:
            return None
        key, last_id = decoded
        if not isinstance(last_id, str) or _CONTROL.search(last_id) or len(last_id) > 64:
            return None
        if filters.sort == "risk":
            if not isinstance(key, int | float) or not math.isfinite(key):
                return None
            return float(key), last_id
        parsed = datetime.fromisoformat(str(key))
        # SQLite stores datetimes without zone (and ignores a bound one); PostgreSQL needs it.
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)), last_id
    except (ValueError, TypeError, OverflowError, RecursionError):
        # A cursor is only ever one we made; anything else (edited, truncated, hostile) starts over.
        return None


def base_query(filters: Filters, *, with_queue: bool = True) -> Select[Any]:
    query = select(Comment).outerjoin(Scores, Scores.comment_id == Comment.id)
    return apply_filters(query, filters, with_queue=with_queue)


@dataclass
class Page:
    comments: list[Comment]
    next_cursor: str | None
    authors: dict[tuple[int, str], AuthorHistory] = field(default_factory=dict)
    parents: dict[tuple[int, str], Comment] = field(default_factory=dict)


@dataclass(frozen=True)
class AuthorHistory:
    total: int
    rejected: int
    decided: int

    @property
    def rejection_rate(self) -> float | None:
        return None if self.decided == 0 else self.rejected / self.decided


def fetch_page(session: Session, filters: Filters, size: int = PAGE_SIZE) -> Page:
    key, tie, descending = _sort_key(filters)
    query = base_query(filters).options(selectinload(Comment.scores), selectinload(Comment.decisions))
    after = _decode_cursor(filters)
    if after is not None:
        bound = tuple_(key, tie)
        query = query.where(bound < tuple_(*after) if descending else bound > tuple_(*after))
    order = (key.desc(), tie.desc()) if descending else (key.asc(), tie.asc())
    rows = list(session.scalars(query.order_by(*order).limit(size + 1)))
    more = len(rows) > size
    rows = rows[:size]
    page = Page(rows, encode_cursor(filters, rows[-1]) if more and rows else None)
    page.authors = author_histories(session, rows)
    page.parents = parents_of(session, rows)
    return page


def counts(session: Session, filters: Filters) -> dict[str, int]:
    """Comments per queue under the current filters (the tabs show them)."""
    query = select(Comment.status, func.count()).select_from(Comment)
    if filters.needs_scores:
        query = query.join(Scores, Scores.comment_id == Comment.id)
    query = apply_filters(query, filters, with_queue=False).group_by(Comment.status)
    grouped: Any = session.execute(query)
    by_status: dict[str, int] = {str(status): int(n) for status, n in grouped}
    out = {queue: by_status.get(queue, 0) for queue in QUEUES if queue != "all"}
    out["all"] = sum(by_status.values())
    out["pending"] = by_status.get(Status.PENDING.value, 0)
    return out


def author_histories(session: Session, comments: Sequence[Comment]) -> dict[tuple[int, str], AuthorHistory]:
    keys = list({(c.site_id, c.author_id) for c in comments})
    if not keys:
        return {}
    rejected = func.sum(case((Comment.status == Status.REJECTED.value, 1), else_=0))
    decided = func.sum(case((Comment.status.in_([Status.REJECTED.value, Status.APPROVED.value]), 1), else_=0))
    rows: Any = session.execute(
        select(Comment.site_id, Comment.author_id, func.count(), rejected, decided)
        .where(pairs_in(Comment.site_id, Comment.author_id, keys))
        .group_by(Comment.site_id, Comment.author_id)
    )
    return {(s, a): AuthorHistory(int(n), int(r or 0), int(d or 0)) for s, a, n, r, d in rows}


def parents_of(session: Session, comments: Sequence[Comment]) -> dict[tuple[int, str], Comment]:
    """Parent comments by (site, parent_id); a site may name the parent by its own id or by ours."""
    wanted = {(c.site_id, c.parent_id) for c in comments if c.parent_id}
    if not wanted:
        return {}
    ids = [p for _, p in wanted]
    rows = session.scalars(
        select(Comment).where(
            Comment.site_id.in_({s for s, _ in wanted}),
            or_(Comment.external_id.in_(ids), Comment.id.in_(ids)),
        )
    )
    out: dict[tuple[int, str], Comment] = {}
    for row in rows:
        for name in (row.external_id, row.id):
            if name is not None and (row.site_id, name) in wanted:
                out[(row.site_id, name)] = row
    return out


def sites(session: Session) -> list[Site]:
    return list(session.scalars(select(Site).order_by(Site.name)))


def held_since(session: Session, filters: Filters, since: datetime, limit: int = 20) -> list[Comment]:
    """Comments that entered the held queue after `since` (for the live update)."""
    query = (
        base_query(replace(filters, queue="held"))
        .where(Comment.decided_at > since)
        .options(selectinload(Comment.scores), selectinload(Comment.decisions))
        .order_by(Comment.decided_at.desc())
        .limit(limit)
    )
    return list(session.scalars(query))
