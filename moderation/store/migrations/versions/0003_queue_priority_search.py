"""dashboard: comments.priority for the held queue, indexes for article filter and text search

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 09:00:00.000000
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from moderation.domain.priority import UNSCORED_PRIORITY, review_priority, thresholds_of

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The score columns as this revision knows them (later revisions may add attributes it must not read).
RISK_ATTRIBUTES = ("toxicity", "propaganda", "spam", "insult", "profanity", "threat", "identity_attack")

# SQLite: an FTS5 table with the trigram tokenizer keeps substring search (what ILIKE '%q%' did, so
# German compounds and URLs are found by any part) but answers from an index. Triggers keep it in step
# with `comments`, whoever writes. `comment_id` is stored because `comments` has no stable integer rowid
# (VACUUM may renumber it).
_SQLITE_SEARCH = [
    "CREATE VIRTUAL TABLE comments_search USING fts5(comment_id UNINDEXED, text, tokenize='trigram')",
    "CREATE TRIGGER comments_search_insert AFTER INSERT ON comments BEGIN "
    "INSERT INTO comments_search (comment_id, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER comments_search_delete AFTER DELETE ON comments BEGIN "
    "DELETE FROM comments_search WHERE comment_id = old.id; END",
    "CREATE TRIGGER comments_search_update AFTER UPDATE OF text ON comments BEGIN "
    "DELETE FROM comments_search WHERE comment_id = old.id; "
    "INSERT INTO comments_search (comment_id, text) VALUES (new.id, new.text); END",
    "INSERT INTO comments_search (comment_id, text) SELECT id, text FROM comments",
]


def _trigram_schema(bind: sa.Connection) -> str:
    """Where pg_trgm lives, as a quoted identifier (installed into public when missing).

    The operator class is named with its schema because a search path may leave that schema out.
    """
    query = "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'"
    schema = bind.exec_driver_sql(query).scalar()
    if schema is None:
        bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
        schema = "public"
    return str(schema)


def _backfill_priority(bind: sa.Connection) -> None:
    rows = bind.execute(
        # The column names are this module's constants, no input.
        sa.text(
            "SELECT s.comment_id, c.site_id, "  # nosec B608
            + ", ".join(f"s.{name}" for name in RISK_ATTRIBUTES)
            + " FROM scores s JOIN comments c ON c.id = s.comment_id"
        )
    )
    thresholds = {
        int(row[0]): thresholds_of(_json(row[1]))
        for row in bind.execute(sa.text("SELECT id, policy FROM sites"))
    }
    update = sa.text("UPDATE comments SET priority = :priority WHERE id = :cid")
    batch: list[dict[str, object]] = []
    for row in rows:
        scores = {name: float(row[2 + i]) for i, name in enumerate(RISK_ATTRIBUTES)}
        batch.append({"cid": row[0], "priority": review_priority(scores, thresholds[int(row[1])])})
        if len(batch) >= 5000:
            bind.execute(update, batch)
            batch = []
    if batch:
        bind.execute(update, batch)


def _json(raw: object) -> dict[str, object]:
    if isinstance(raw, str):
        return dict(json.loads(raw))
    return dict(raw) if isinstance(raw, dict) else {}


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("priority", sa.Float(), server_default=str(int(UNSCORED_PRIORITY)), nullable=False)
        )
        batch_op.create_index("ix_comments_status_priority", ["status", "priority", "id"], unique=False)
        # Moderators often work one article at a time; without it that filter walks the whole held queue.
        batch_op.create_index("ix_comments_article_status", ["article_id", "status"], unique=False)
    _backfill_priority(bind)
    if bind.dialect.name == "sqlite":
        for statement in _SQLITE_SEARCH:
            op.execute(statement)
    elif bind.dialect.name == "postgresql":
        schema = _trigram_schema(bind)
        op.execute(f"CREATE INDEX ix_comments_text_trgm ON comments USING gin (text {schema}.gin_trgm_ops)")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS comments_search_{name}")
        op.execute("DROP TABLE IF EXISTS comments_search")
    elif bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_comments_text_trgm")
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_index("ix_comments_article_status")
        batch_op.drop_index("ix_comments_status_priority")
        batch_op.drop_column("priority")
