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
_QUOTED = re.compile(r"'([^']*)'")
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
    quoted = _QUOTED.search(detail)
    if code in ("banned_word", "suspect_word") and quoted:
        return {"word": quoted[1]}
    if code == "unsupported_language" and quoted:
        return {"lang": quoted[1]}
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


def upgrade() -> None:
    op.rename_table("moderators", "users")
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("facts", sa.JSON(), nullable=True))
    bind = op.get_bind()
    _rewrite(bind, _decisions, "reasons", _structured)
    _rewrite(
        bind,
        _events,
        "data",
        lambda data: _event_data(dict(data or {})),
        _events.c.event == "comment.decided",
    )


def downgrade() -> None:
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_column("facts")
    op.rename_table("users", "moderators")
