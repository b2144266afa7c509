"""Alembic environment: runs on the connection that `moderation.store.db.migrate` hands in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from moderation.store.tables import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        url = config.get_main_option("sqlalchemy.url") or "sqlite:///var/moderation.store.db"
        with create_engine(url).begin() as own:
            context.configure(connection=own, target_metadata=target_metadata, render_as_batch=True)
            with context.begin_transaction():
                context.run_migrations()
        return
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run()
