"""integrations: Standard Webhooks, Coral, reader reasons, per-site limits

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 01:00:00.000000

- `sites.webhook_secret` becomes a Standard Webhooks secret (`whsec_` + base64 of the key). An existing
  secret keeps signing with the same key bytes: `whsec_` + base64(old secret's UTF-8 bytes).
- `sites.webhook_secret_previous` / `_previous_until`: after a rotation the old secret signs too until then.
- `sites.webhook_disabled_at` / `_disabled_reason` / `webhook_failures`: an endpoint that answered 410 or
  failed again and again is switched off until an admin switches it on.
- `sites.coral_secret`, `sites.coral_budget_ms`: Coral Talk's external moderation phase.
- `sites.limits`: the site's own rate limits and waiting budgets (null: the service's defaults).
- `decisions.reader_reason`: a moderator's wording of the reader-facing reason (null: derived from reasons).
- `webhook_deliveries`, `webhook_attempts`: the delivery log.
"""

import base64
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.add_column(sa.Column("webhook_secret_previous", sa.String(length=100), nullable=True))
        batch_op.add_column(
            sa.Column("webhook_secret_previous_until", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("webhook_disabled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("webhook_disabled_reason", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("webhook_failures", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("coral_secret", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("coral_budget_ms", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("limits", sa.JSON(), nullable=True))
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reader_reason", sa.JSON(), nullable=True))

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("site_id", sa.Integer(), sa.ForeignKey("sites.id", ondelete="CASCADE"), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False, unique=True),
        sa.Column("event_type", sa.String(length=50), nullable=False),
        sa.Column(
            "comment_id",
            sa.String(length=32),
            sa.ForeignKey("comments.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("last_response_ms", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_webhook_deliveries_site", "webhook_deliveries", ["site_id", "id"])
    op.create_index("ix_webhook_deliveries_state_next", "webhook_deliveries", ["state", "next_attempt_at"])
    op.create_index("ix_webhook_deliveries_comment", "webhook_deliveries", ["comment_id"])
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "delivery_id",
            sa.Integer(),
            sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response_ms", sa.Float(), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
    )
    op.create_index("ix_webhook_attempts_delivery", "webhook_attempts", ["delivery_id", "id"])

    bind = op.get_bind()
    sites = sa.table("sites", sa.column("id", sa.Integer()), sa.column("webhook_secret", sa.String()))
    for site_id, secret in bind.execute(sa.select(sites.c.id, sites.c.webhook_secret)).all():
        if isinstance(secret, str) and secret and not secret.startswith("whsec_"):
            migrated = "whsec_" + base64.b64encode(secret.encode("utf-8")).decode("ascii")
            bind.execute(sites.update().where(sites.c.id == site_id).values(webhook_secret=migrated))


def downgrade() -> None:
    op.drop_index("ix_webhook_attempts_delivery", table_name="webhook_attempts")
    op.drop_table("webhook_attempts")
    op.drop_index("ix_webhook_deliveries_comment", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_state_next", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_site", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    columns = [
        "limits",
        "coral_budget_ms",
        "coral_secret",
        "webhook_failures",
        "webhook_disabled_reason",
        "webhook_disabled_at",
        "webhook_secret_previous_until",
        "webhook_secret_previous",
    ]
    bind = op.get_bind()
    sites = sa.table("sites", sa.column("id", sa.Integer()), sa.column("webhook_secret", sa.String()))
    for site_id, secret in bind.execute(sa.select(sites.c.id, sites.c.webhook_secret)).all():
        if isinstance(secret, str) and secret.startswith("whsec_"):
            try:
                old = base64.b64decode(secret[len("whsec_") :]).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                continue
            bind.execute(sites.update().where(sites.c.id == site_id).values(webhook_secret=old))
    if bind.dialect.name == "sqlite":
        for column in columns:
            op.execute(f"ALTER TABLE sites DROP COLUMN {column}")
        op.execute("ALTER TABLE decisions DROP COLUMN reader_reason")
        return
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_column("reader_reason")
    with op.batch_alter_table("sites", schema=None) as batch_op:
        for column in columns:
            batch_op.drop_column(column)
