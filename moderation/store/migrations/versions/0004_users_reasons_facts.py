"""one writer of decisions: users table, structured reasons, recorded facts, one decision event shape

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 00:30:00.000000

- `moderators` becomes `users` (one name for a dashboard account).
- `decisions.facts`: the facts the policy decided on (author history, copies), so the what-if preview
  replays a decision exactly as the workers made it.
- Reasons gain `params` (structured values); the dashboard renders them instead of parsing sentences.
  Stored sentences are parsed here, once; a sentence this revision cannot read keeps its `detail`.
- `comment.decided` audit events get one shape whoever decided.
- SQLite: decision ids are never reused (AUTOINCREMENT), so an undone decision's id stays its own.
"""

import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 2000
_STATUS_OF = {"approve": "approved", "hold": "held", "reject": "rejected"}
_BAND = re.compile(
    r"^(?P<attribute>\w+) (?P<score>[0-9.]+) >= (?P<band>hold|reject) threshold (?P<threshold>[0-9.]+)$"
)
_BELOW = re.compile(r"(\w+) ([0-9.]+) < ([0-9.]+)")
_WORD = re.compile(r"^matched (?:banned|suspect) word '(.*)'$", re.S)
_LANGUAGE = re.compile(r"^language '(.*)' is not one our models cover$", re.S)
_COPIES = re.compile(r"at least (\d+) recent comments by (\d+) other authors")
_LINK = re.compile(r"contains a link: (\S+)$")
_FALLBACK = re.compile(r"fallback is (\w+)$")

_decisions = sa.table(
    "decisions", sa.column("id", sa.Integer), sa.column("reasons", sa.JSON), sa.column("facts", sa.JSON)
)
_events = sa.table(
    "audit_events",
    sa.column("id", sa.Integer),
    sa.column("event", sa.String),
    sa.column("comment_id", sa.String),
    sa.column("data", sa.JSON),
)


def _params(code: str, detail: str) -> dict[str, Any] | None:
    band = _BAND.match(detail)
    if band is not None and code == f"{band['attribute']}_{band['band']}":
        return {
            "attribute": band["attribute"],
            "score": float(band["score"]),
            "threshold": float(band["threshold"]),
        }
    if code == "below_thresholds":
        return {
            "scores": [
                {"attribute": a, "score": float(s), "threshold": float(t)}
                for a, s, t in _BELOW.findall(detail)
            ]
        }
    word = _WORD.match(detail)
    if code in ("banned_word", "suspect_word") and word:
        return {"word": word[1]}
    language = _LANGUAGE.match(detail)
    if code == "unsupported_language" and language:
        return {"lang": language[1]}
    copies = _COPIES.search(detail)
    if code == "coordinated_posting" and copies:
        return {"copies": int(copies[1]), "authors": int(copies[2])}
    link = _LINK.search(detail)
    if code == "link_from_new_author" and link:
        return {"link": link[1]}
    fallback = _FALLBACK.search(detail)
    if code == "scoring_failed" and fallback:
        return {"fallback": fallback[1]}
    return None


def _structured(reasons: Any) -> list[Any]:
    out = []
    for reason in reasons or []:
        if not isinstance(reason, dict) or "params" in reason:
            out.append(reason)
            continue
        params = _params(str(reason.get("code", "")), str(reason.get("detail", "")))
        out.append({"code": reason.get("code"), "params": params} if params is not None else reason)
    return out


def _event_data(data: dict[str, Any]) -> dict[str, Any]:
    source = data.get("decision_source") or data.get("source")
    action = data.get("action")
    return {
        "decision_id": data.get("decision_id"),
        "action": action,
        "source": source,
        "status": data.get("status") or _STATUS_OF.get(str(action)),
        "reasons": _structured(data.get("reasons")),
        "model_version": data.get("model_version"),
        "reason_code": data.get("reason_code"),
        "note": data.get("note"),
        "undo_of": data.get("undo_of"),
    }


def _rewrite(bind: sa.Connection, table: sa.TableClause, column: str, change: Any, *where: Any) -> None:
    last = 0
    while True:
        rows = bind.execute(
            sa.select(table.c.id, table.c[column])
            .where(table.c.id > last, *where)
            .order_by(table.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        updates = [{"rid": rid, "value": change(value)} for rid, value in rows]
        bind.execute(
            sa.update(table).where(table.c.id == sa.bindparam("rid")).values({column: sa.bindparam("value")}),
            updates,
        )
        last = rows[-1][0]


def _sentence(code: str, p: dict[str, Any]) -> str:
    """The English sentence of a structured reason, as revision 0003 stored it (for downgrades)."""
    for band in ("hold", "reject"):
        if code.endswith(f"_{band}") and "threshold" in p:
            return f"{p['attribute']} {float(p['score']):.2f} >= {band} threshold {float(p['threshold']):.2f}"
    if code == "below_thresholds":
        parts = [
            f"{s['attribute']} {float(s['score']):.2f} < {float(s['threshold']):.2f}" for s in p["scores"]
        ]
        return "all scores below hold thresholds: " + ", ".join(parts)
    sentences = {
        "banned_word": "matched banned word '{word}'",
        "suspect_word": "matched suspect word '{word}'",
        "link_from_new_author": "first comment of this author contains a link: {link}",
        "coordinated_posting": (
            "nearly the same text as at least {copies} recent comments by {authors} other authors"
        ),
        "unsupported_language": "language '{lang}' is not one our models cover",
        "scoring_failed": "the model could not score this comment; fallback is {fallback}",
    }
    return sentences[code].format(**p)


def _with_sentences(reasons: Any) -> list[Any]:
    out = []
    for reason in reasons or []:
        if isinstance(reason, dict) and isinstance(reason.get("params"), dict):
            try:
                reason = {
                    "code": reason.get("code"),
                    "detail": _sentence(str(reason.get("code")), reason["params"]),
                }
            except (KeyError, TypeError, ValueError):
                reason = {
                    "code": reason.get("code"),
                    "detail": str(reason.get("detail") or reason.get("code")),
                }
        out.append(reason)
    return out


_POSTGRES_NAMES = [
    ("SEQUENCE", "moderators_id_seq", "users_id_seq"),
    ("INDEX", "moderators_pkey", "users_pkey"),
    ("INDEX", "moderators_email_key", "users_email_key"),
]


def _rename_postgres_objects(forward: bool) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for kind, old, new in _POSTGRES_NAMES:
        before, after = (old, new) if forward else (new, old)
        op.execute(f"ALTER {kind} IF EXISTS {before} RENAME TO {after}")


def _skip_undone_ids(bind: sa.Connection) -> None:
    """Starts new decision ids above every id the audit trail names (undone decisions included)."""
    row = bind.exec_driver_sql(
        "SELECT max(CAST(json_extract(data, '$.decision_id') AS INTEGER)), "
        "max(CAST(json_extract(data, '$.undo_of') AS INTEGER)) FROM audit_events "
        "WHERE event = 'comment.decided'"
    ).one()
    named: list[Any] = list(row)
    stored = bind.exec_driver_sql("SELECT max(id) FROM decisions").scalar()
    top = max(int(value or 0) for value in (*named, stored))
    if top:
        bind.exec_driver_sql("DELETE FROM sqlite_sequence WHERE name = 'decisions'")
        bind.exec_driver_sql("INSERT INTO sqlite_sequence (name, seq) VALUES ('decisions', ?)", (top,))


def upgrade() -> None:
    op.rename_table("moderators", "users")
    _rename_postgres_objects(forward=True)
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    # SQLite reuses the highest rowid after a delete, and undo deletes the decision it reverts: with
    # AUTOINCREMENT an undone decision's id (kept in audit events) never names another decision.
    with op.batch_alter_table(
        "decisions", recreate="always" if sqlite else "auto", table_kwargs={"sqlite_autoincrement": True}
    ) as batch_op:
        batch_op.add_column(sa.Column("facts", sa.JSON(), nullable=True))
    if sqlite:
        _skip_undone_ids(bind)
    _rewrite(bind, _decisions, "reasons", _structured)
    _rewrite(
        bind,
        _events,
        "data",
        lambda data: _event_data(dict(data or {})),
        _events.c.event == "comment.decided",
    )


def downgrade() -> None:
    """Back to 0003: reasons get their sentences again (0003 showed `detail` as stored); events keep the
    one shape otherwise, which 0003's pages read as well."""
    bind = op.get_bind()
    _rewrite(bind, _decisions, "reasons", _with_sentences)
    _rewrite(
        bind,
        _events,
        "data",
        lambda data: {**dict(data or {}), "reasons": _with_sentences(dict(data or {}).get("reasons"))},
        _events.c.event == "comment.decided",
    )
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_column("facts")
    _rename_postgres_objects(forward=False)
    op.rename_table("users", "moderators")
