"""dashboard: scores.risk, login throttling, undoable moderator actions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 05:24:29.427804
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RISK_COLUMNS = "toxicity, propaganda, spam, insult, profanity, threat, identity_attack"


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("ip_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.create_index("ix_login_failures_email_created", ["email", "created_at"], unique=False)
        batch_op.create_index("ix_login_failures_ip_created", ["ip_hash", "created_at"], unique=False)

    op.create_table(
        "moderator_actions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("moderator_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("entries", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["moderator_id"], ["moderators.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.create_index("ix_comments_status_decided", ["status", "decided_at"], unique=False)

    with op.batch_alter_table("scores", schema=None) as batch_op:
        batch_op.add_column(sa.Column("risk", sa.Float(), server_default="0", nullable=False))
        batch_op.create_index("ix_scores_risk", ["risk", "comment_id"], unique=False)

    # Scores stored before this revision get their risk too; SQLite's many-argument max() is GREATEST.
    greatest = "max" if op.get_bind().dialect.name == "sqlite" else "greatest"
    # Function and column names are this module's constants, no input.
    op.execute(f"UPDATE scores SET risk = {greatest}({_RISK_COLUMNS})")  # nosec B608


def downgrade() -> None:
    with op.batch_alter_table("scores", schema=None) as batch_op:
        batch_op.drop_index("ix_scores_risk")
        batch_op.drop_column("risk")

    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_index("ix_comments_status_decided")

    op.drop_table("moderator_actions")
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_login_failures_ip_created")
        batch_op.drop_index("ix_login_failures_email_created")
    op.drop_table("login_failures")
