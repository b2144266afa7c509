"""scoring profile: which profile (`full` or `fast`) scored the comment a model decision was made on

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 20:00:00.000000

- `decisions.scoring_profile`: null for decisions made by moderators and rules without scores, and for
  decisions from before this revision.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scoring_profile", sa.String(length=10), nullable=True))


def downgrade() -> None:
    # SQLite drops a plain column in place (a batch table copy would cascade through foreign keys).
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE decisions DROP COLUMN scoring_profile")
        return
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_column("scoring_profile")
