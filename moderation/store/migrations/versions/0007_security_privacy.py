"""security and privacy: session revocation, per-site IP hashing keys, retention

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 00:00:00.000000

- `users.session_generation`: a counter stored in every login session; logging out or changing the
  password raises it, so every earlier session cookie of that user stops working.
- `sites.ip_hash_key`: a random key per site for hashing client addresses, apart from the session key
  (existing sites get a fresh one; their stored hashes keep working as opaque values).
- `sites.retention_days`: personal data of comments older than this many days is deleted by the
  retention job; null keeps everything.
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_generation", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ip_hash_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("retention_days", sa.Integer(), nullable=True))
    bind = op.get_bind()
    sites = sa.table("sites", sa.column("id", sa.Integer()), sa.column("ip_hash_key", sa.String()))
    for (site_id,) in bind.execute(sa.select(sites.c.id)).all():
        bind.execute(sites.update().where(sites.c.id == site_id).values(ip_hash_key=secrets.token_hex(32)))


def downgrade() -> None:
    # SQLite drops plain columns in place (a batch table copy would cascade through foreign keys).
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE sites DROP COLUMN retention_days")
        op.execute("ALTER TABLE sites DROP COLUMN ip_hash_key")
        op.execute("ALTER TABLE users DROP COLUMN session_generation")
        return
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.drop_column("retention_days")
        batch_op.drop_column("ip_hash_key")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("session_generation")
