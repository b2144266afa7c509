"""site learning: labels per site, site models, the site_reject score

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 01:00:00.000000

- `site_labels`: a site's training labels: its moderators' standing decisions (kept in step by the
  decision writer) and decisions imported from the site's archive.
- `site_models`: each site model version with its state (candidate, active, shadow, retired, refused),
  its card and the promotion guard's verdict.
- `shadow_scores`: what a candidate running in shadow said about new comments, beside the active model.
- `scores.site_reject`, `decisions.site_model_version` (also in every `comment.decided` event's data);
  `sites.learning` (retraining settings).
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


BATCH = 2000
_events = sa.table(
    "audit_events", sa.column("id", sa.Integer), sa.column("event", sa.String), sa.column("data", sa.JSON)
)


def _event_data(change: Any) -> None:
    """Rewrites the data of every `comment.decided` event with `change`, in batches."""
    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(
            sa.select(_events.c.id, _events.c.data)
            .where(_events.c.id > last, _events.c.event == "comment.decided")
            .order_by(_events.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        bind.execute(
            sa.update(_events).where(_events.c.id == sa.bindparam("rid")).values(data=sa.bindparam("value")),
            [{"rid": rid, "value": change(dict(data or {}))} for rid, data in rows],  # type: ignore[call-overload]
        )
        last = rows[-1][0]


def _with_site_model(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "site_model_version": data.get("site_model_version")}


def _without_site_model(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "site_model_version"}


def upgrade() -> None:
    op.create_table(
        "site_labels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("comment_id", sa.String(length=32), nullable=True),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("article_id", sa.String(length=500), nullable=True),
        sa.Column("author_id", sa.String(length=200), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["comment_id"], ["comments.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("comment_id", name="uq_site_labels_comment"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("site_labels", schema=None) as batch_op:
        batch_op.create_index("ix_site_labels_site_decided", ["site_id", "decided_at", "id"], unique=False)
        batch_op.create_index("ix_site_labels_site_external", ["site_id", "external_id"], unique=False)
        batch_op.create_index("ix_site_labels_site_author", ["site_id", "author_id"], unique=False)

    op.create_table(
        "site_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("card", sa.JSON(), nullable=False),
        sa.Column("verdict", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("site_id", "version", name="uq_site_models_site_version"),
    )
    with op.batch_alter_table("site_models", schema=None) as batch_op:
        batch_op.create_index("ix_site_models_state", ["state", "site_id"], unique=False)

    op.create_table(
        "shadow_scores",
        sa.Column("comment_id", sa.String(length=32), nullable=False),
        sa.Column("site_model_id", sa.Integer(), nullable=False),
        sa.Column("site_reject", sa.Float(), nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["comment_id"], ["comments.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["site_model_id"], ["site_models.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("comment_id", "site_model_id"),
    )
    with op.batch_alter_table("shadow_scores", schema=None) as batch_op:
        batch_op.create_index("ix_shadow_scores_model", ["site_model_id", "scored_at"], unique=False)

    with op.batch_alter_table("scores", schema=None) as batch_op:
        batch_op.add_column(sa.Column("site_reject", sa.Float(), nullable=True))
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("site_model_version", sa.String(length=100), nullable=True))
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.add_column(sa.Column("learning", sa.JSON(), nullable=True))
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        # Latest verdict of a site, previous active version: read by event name, newest first.
        batch_op.create_index("ix_audit_event_site", ["event", "site_id", "id"], unique=False)
    _event_data(_with_site_model)


def _drop_column(table: str, column: str) -> None:
    """SQLite drops a plain column in place; the batch mode's table copy would drop and recreate the table,
    and dropping `sites` cascades (foreign keys are on) to every comment and decision."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        return
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_column(column)


def downgrade() -> None:
    _event_data(_without_site_model)
    op.drop_index("ix_audit_event_site", table_name="audit_events")
    _drop_column("sites", "learning")
    _drop_column("decisions", "site_model_version")
    _drop_column("scores", "site_reject")
    op.drop_table("shadow_scores")
    op.drop_table("site_models")
    op.drop_table("site_labels")
