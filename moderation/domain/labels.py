"""A site's training labels, and reading an archive of moderator decisions into them.

An archive is JSONL (one object per line: `{"text", "action": "approve"|"reject", "reason"?,
"external_id"?, "article_id"?, "author_id"?, "decided_at"?}`) or CSV/TSV with a header row, where
`text_col` holds the text and `label_col` the decision (`positive` values mean rejected, as in
`moderation evaluate`; columns named like the JSONL keys are read too). Every line is checked before
anything is stored: the errors name their line numbers.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from moderation.domain.enums import Action
from moderation.domain.timestamps import as_utc

MAX_TEXT_CHARS = 10_000
MAX_ERRORS_SHOWN = 20
_LIMITS = {"external_id": 200, "article_id": 500, "author_id": 200, "reason": 200}
LABEL_ACTIONS = (Action.APPROVE.value, Action.REJECT.value)


@dataclass(frozen=True)
class LabelIn:
    """One decision of a site's archive, checked."""

    line: int
    text: str
    action: str
    reason: str | None = None
    external_id: str | None = None
    article_id: str | None = None
    author_id: str | None = None
    decided_at: datetime | None = None


class ArchiveError(ValueError):
    """Lines of an archive that cannot be imported; nothing of the file was stored."""

    def __init__(self, errors: Sequence[str], total: int) -> None:
        shown = list(errors[:MAX_ERRORS_SHOWN])
        more = total - len(shown)
        super().__init__("\n".join(shown + ([f"... and {more} more"] if more > 0 else [])))
        self.errors = list(errors)
        self.total = total


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("'text' must be a non-empty string")
    value = value.strip()
    if len(value) > MAX_TEXT_CHARS:
        raise ValueError(f"'text' has {len(value)} characters; at most {MAX_TEXT_CHARS} are allowed")
    return value


def _optional(name: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f"'{name}' must be a string")
    text = str(value).strip()
    if len(text) > _LIMITS[name]:
        raise ValueError(f"'{name}' is longer than {_LIMITS[name]} characters")
    return text or None


def _when(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError("'decided_at' must be an ISO 8601 date and time, e.g. 2024-03-01T12:00:00Z")
    try:
        return as_utc(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
    except ValueError as exc:
        raise ValueError(f"'decided_at' is not an ISO 8601 date and time: {value!r}") from exc


def _label(line: int, record: dict[str, Any], action: Any) -> LabelIn:
    if action not in LABEL_ACTIONS:
        raise ValueError(f"'action' must be 'approve' or 'reject', got {action!r}")
    return LabelIn(
        line=line,
        text=_text(record.get("text")),
        action=str(action),
        reason=_optional("reason", record.get("reason")),
        external_id=_optional("external_id", record.get("external_id")),
        article_id=_optional("article_id", record.get("article_id")),
        author_id=_optional("author_id", record.get("author_id")),
        decided_at=_when(record.get("decided_at")),
    )


def _collect(rows: Iterable[tuple[int, Any]]) -> list[LabelIn]:
    labels, errors = [], []
    for line, parse in rows:
        try:
            labels.append(parse())
        except ValueError as exc:
            errors.append(f"line {line}: {exc}")
    if errors:
        raise ArchiveError(errors, len(errors))
    return labels


def read_jsonl(lines: Iterable[str]) -> list[LabelIn]:
    """Checks every line; raises `ArchiveError` listing the bad ones (blank lines are skipped)."""

    def parsed(number: int, raw: str) -> Any:
        def parse() -> LabelIn:
            try:
                record = json.loads(raw)
            except ValueError as exc:
                raise ValueError(f"not valid JSON ({exc})") from exc
            if not isinstance(record, dict):
                raise ValueError("each line must be a JSON object")
            unknown = set(record) - {"text", "action", *_LIMITS, "decided_at"}
            if unknown:
                raise ValueError(f"unknown keys {sorted(unknown)}")
            return _label(number, record, record.get("action"))

        return parse

    return _collect((n, parsed(n, raw)) for n, raw in enumerate(lines, start=1) if raw.strip())


def read_table(
    source: IO[str], *, delimiter: str, text_col: str, label_col: str, positive: Sequence[str]
) -> list[LabelIn]:
    """A CSV/TSV archive: `label_col` values in `positive` mean rejected, any other value approved."""
    reader = csv.DictReader(source, delimiter=delimiter)
    header = reader.fieldnames or []
    missing = [c for c in (text_col, label_col) if c not in header]
    if missing:
        raise ArchiveError([f"line 1: no column {c!r} (columns: {', '.join(header)})" for c in missing], 1)
    wanted = {_value(p) for p in positive}

    def parsed(number: int, row: dict[str, Any]) -> Any:
        def parse() -> LabelIn:
            raw = row.get(label_col)
            if raw is None or str(raw).strip() == "":
                raise ValueError(f"no value in column {label_col!r}")
            action = Action.REJECT.value if _value(str(raw)) in wanted else Action.APPROVE.value
            record = {k: row.get(k) for k in (*_LIMITS, "decided_at") if k in row}
            record["text"] = row.get(text_col)
            return _label(number, record, action)

        return parse

    # Line numbers count the header as line 1, as an editor shows them.
    return _collect((reader.line_num, parsed(reader.line_num, row)) for row in reader)


def _value(raw: str) -> str:
    """`1`, `1.0` and ` 1 ` are the same label value; other values compare as trimmed, case-folded text."""
    text = raw.strip().casefold()
    try:
        number = float(text)
    except ValueError:
        return text
    return repr(number)


def read_archive(
    source: IO[str],
    *,
    kind: str,
    text_col: str = "text",
    label_col: str = "label",
    positive: Sequence[str] = ("1",),
) -> list[LabelIn]:
    """`kind` is jsonl, csv or tsv."""
    if kind == "jsonl":
        return read_jsonl(source)
    if kind in ("csv", "tsv"):
        delimiter = "," if kind == "csv" else "\t"
        return read_table(
            io.StringIO(source.read()),
            delimiter=delimiter,
            text_col=text_col,
            label_col=label_col,
            positive=positive,
        )
    raise ValueError(f"unknown archive kind {kind!r}: use jsonl, csv or tsv")
