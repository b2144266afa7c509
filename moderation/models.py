"""SQL tables. The database is the source of truth; Redis only holds queues and counters."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    Update,
    bindparam,
    event,
    select,
    update,
)
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, UOWTransaction, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Status(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    HELD = "held"
    REJECTED = "rejected"


class Action(enum.StrEnum):
    APPROVE = "approve"
    HOLD = "hold"
    REJECT = "reject"

    @property
    def status(self) -> Status:
        return {Action.APPROVE: Status.APPROVED, Action.HOLD: Status.HELD, Action.REJECT: Status.REJECTED}[
            self
        ]


class Source(enum.StrEnum):
    MODEL = "model"
    RULE = "rule"
    MODERATOR = "moderator"


class Role(enum.StrEnum):
    ADMIN = "admin"
    MODERATOR = "moderator"


class Site(Base):
    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    api_key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    api_key_prefix: Mapped[str] = mapped_column(String(16))
    publishable_key: Mapped[str] = mapped_column(String(64), unique=True)
    allowed_origins: Mapped[list[Any]] = mapped_column(default=list)
    policy: Mapped[dict[str, Any]] = mapped_column(default=dict)
    webhook_url: Mapped[str | None] = mapped_column(String(2000), default=None)
    webhook_secret: Mapped[str | None] = mapped_column(String(100), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Comment(Base):
    __tablename__ = "comments"
    __table_args__ = (
        UniqueConstraint("site_id", "external_id", name="uq_comments_site_external"),
        Index("ix_comments_site_status_created", "site_id", "status", "created_at"),
        Index("ix_comments_status_created", "status", "created_at"),
        Index("ix_comments_site_author", "site_id", "author_id"),
        Index("ix_comments_status_decided", "status", "decided_at"),
        Index("ix_comments_status_priority", "status", "priority", "id"),
        Index("ix_comments_article_status", "article_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    external_id: Mapped[str | None] = mapped_column(String(200), default=None)
    article_id: Mapped[str] = mapped_column(String(500))
    author_id: Mapped[str] = mapped_column(String(200))
    author_name: Mapped[str | None] = mapped_column(String(200), default=None)
    author_ip_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    parent_id: Mapped[str | None] = mapped_column(String(200), default=None)
    text: Mapped[str] = mapped_column(Text)
    lang_hint: Mapped[str | None] = mapped_column(String(16), default=None)
    lang: Mapped[str | None] = mapped_column(String(16), default=None)
    extra: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=Status.PENDING.value)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    # The held queue's sort key (see `review_priority`); kept on the comment so that queue is one index range.
    priority: Mapped[float] = mapped_column(Float, default=1.0, server_default="1")

    site: Mapped[Site] = relationship()
    scores: Mapped[Scores | None] = relationship(back_populates="comment", uselist=False)
    decisions: Mapped[list[Decision]] = relationship(
        back_populates="comment", order_by="Decision.id", cascade="all, delete-orphan"
    )


RISK_ATTRIBUTES = ("toxicity", "propaganda", "spam", "insult", "profanity", "threat", "identity_attack")


def risk_of_row(context: DefaultExecutionContext) -> float:
    """The highest harm score of a row being inserted.

    Kept as a column (set on insert, whoever inserts) so the held queue can be sorted and paged by risk
    through an index instead of computing a maximum over every held comment per page.
    """
    params = context.get_current_parameters()
    return max(float(params.get(name) or 0.0) for name in RISK_ATTRIBUTES)


class Scores(Base):
    __tablename__ = "scores"
    __table_args__ = (Index("ix_scores_risk", "risk", "comment_id"),)

    comment_id: Mapped[str] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"), primary_key=True)
    model_version: Mapped[str] = mapped_column(String(100))
    toxicity: Mapped[float] = mapped_column(Float)
    propaganda: Mapped[float] = mapped_column(Float)
    spam: Mapped[float] = mapped_column(Float)
    insult: Mapped[float] = mapped_column(Float)
    profanity: Mapped[float] = mapped_column(Float)
    threat: Mapped[float] = mapped_column(Float)
    identity_attack: Mapped[float] = mapped_column(Float)
    techniques: Mapped[dict[str, Any]] = mapped_column(default=dict)
    narratives: Mapped[list[Any]] = mapped_column(default=list)
    spans: Mapped[list[Any]] = mapped_column(default=list)
    risk: Mapped[float] = mapped_column(Float, default=risk_of_row, server_default="0")
    scored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    comment: Mapped[Comment] = relationship(back_populates="scores")


class Decision(Base):
    __tablename__ = "decisions"
    __table_args__ = (Index("ix_decisions_comment", "comment_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    comment_id: Mapped[str] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    model_version: Mapped[str | None] = mapped_column(String(100), default=None)
    moderator_id: Mapped[int | None] = mapped_column(ForeignKey("moderators.id"), default=None)
    reason_code: Mapped[str | None] = mapped_column(String(50), default=None)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    comment: Mapped[Comment] = relationship(back_populates="decisions")


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_created", "created_at"),
        Index("ix_audit_comment", "comment_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    event: Mapped[str] = mapped_column(String(100))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="SET NULL"), default=None)
    comment_id: Mapped[str | None] = mapped_column(
        ForeignKey("comments.id", ondelete="SET NULL"), default=None
    )
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Moderator(Base):
    __tablename__ = "moderators"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(16), default=Role.MODERATOR.value)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ModelVersion(Base):
    """A model version known to the registry; exactly one row has `active` set."""

    __tablename__ = "model_versions"

    version: Mapped[str] = mapped_column(String(100), primary_key=True)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    card: Mapped[dict[str, Any]] = mapped_column(default=dict)
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class LoginFailure(Base):
    """A failed dashboard login, kept briefly so repeated guessing is throttled per account and per IP."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_email_created", "email", "created_at"),
        Index("ix_login_failures_ip_created", "ip_hash", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    ip_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ModeratorAction(Base):
    """One dashboard action (a single decision or a bulk one), remembered so it can be undone briefly.

    `entries` lists, per comment, the decision written and the status it replaced.
    """

    __tablename__ = "moderator_actions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    moderator_id: Mapped[int] = mapped_column(ForeignKey("moderators.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(16))
    entries: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


UNSCORED_PRIORITY = 1.0


def review_priority(
    scores: Mapping[str, float], thresholds: Mapping[str, Mapping[str, float | None]]
) -> float:
    """How urgently a held comment needs a moderator, in [0, 1]; the held queue shows the highest first.

    Per attribute the score counts as it is, except above the site's reject threshold, where it is mirrored
    (`2 * reject - score`): there the policy is already sure, so the further past the threshold, the less a
    human adds. The maximum over attributes wins, so the peak sits at the hold/reject boundary, where the
    model is least sure and a wrong call does the most harm. Attributes without a reject threshold count as
    scored: the policy can never reject them, so a high score always needs a human.
    A comment without scores keeps `UNSCORED_PRIORITY` (nothing has looked at it yet).
    """
    need = 0.0
    for attribute in RISK_ATTRIBUTES:
        value = float(scores.get(attribute) or 0.0)
        reject = (thresholds.get(attribute) or {}).get("reject")
        if reject is not None and value > reject:
            value = max(0.0, 2 * reject - value)
        need = max(need, value)
    return round(need, 4)


def site_thresholds(raw_policy: Mapping[str, Any] | None) -> Mapping[str, Mapping[str, float | None]]:
    from moderation.policy import SitePolicy  # the policy module imports this one

    try:
        return SitePolicy.from_dict(raw_policy).thresholds
    except ValueError:
        return SitePolicy().thresholds


@event.listens_for(Session, "after_flush")
def _store_review_priority(session: Session, _flush: UOWTransaction) -> None:
    """Sets `Comment.priority` for every Scores row just inserted, whoever inserted it (workers, seeds).

    One SELECT and one executemany UPDATE per flush, in the flush's transaction, so a comment is never
    visible with scores but without its priority.
    """
    fresh = [row for row in session.new if isinstance(row, Scores)]
    if not fresh:
        return
    connection = session.connection()
    ids = [row.comment_id for row in fresh]
    policy_of = (
        select(Comment.id, Site.policy).join(Site, Site.id == Comment.site_id).where(Comment.id.in_(ids))
    )
    sites: dict[str, Any] = {row[0]: row[1] for row in connection.execute(policy_of)}
    changes = [
        {
            "cid": row.comment_id,
            "priority": review_priority(
                {name: getattr(row, name) for name in RISK_ATTRIBUTES},
                site_thresholds(sites.get(row.comment_id)),
            ),
        }
        for row in fresh
    ]
    connection.execute(priority_update(), changes)


def priority_update() -> Update:
    """UPDATE comments SET priority = :priority WHERE id = :cid, for executemany."""
    table = cast(Table, Comment.__table__)
    return update(table).where(table.c.id == bindparam("cid")).values(priority=bindparam("priority"))
