"""SQL tables. The database is the source of truth; Redis only holds queues and counters."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
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
    update,
)
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute, Mapped, mapped_column, relationship

from moderation.domain.attributes import NAMES, ScoreSet
from moderation.domain.enums import Role, Status
from moderation.domain.timestamps import utcnow


def new_id() -> str:
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


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
    # A Standard Webhooks secret (`whsec_` + base64 of the signing key).
    webhook_secret: Mapped[str | None] = mapped_column(String(100), default=None)
    # After a rotation the previous secret signs too (a second signature) until `_previous_until`.
    webhook_secret_previous: Mapped[str | None] = mapped_column(String(100), default=None)
    webhook_secret_previous_until: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), default=None
    )
    # Set when the endpoint answered 410 or failed again and again; an admin switches it back on.
    webhook_disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    webhook_disabled_reason: Mapped[str | None] = mapped_column(String(200), default=None)
    webhook_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Coral Talk's external moderation phase: the signing secret and the answer's time budget (None: default).
    coral_secret: Mapped[str | None] = mapped_column(String(100), default=None)
    coral_budget_ms: Mapped[int | None] = mapped_column(Integer, default=None)
    # The site's own rate limits and waiting budgets (None: the service's defaults from the environment).
    limits: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # Retraining settings of the site's own model (`moderation.domain.learning.LearningSettings`).
    learning: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # Key for hashing this site's client addresses (apart from the session key; set when the site is made).
    ip_hash_key: Mapped[str | None] = mapped_column(String(64), default=lambda: secrets.token_hex(32))
    # Personal data of comments older than this many days is deleted by the retention job; None keeps all.
    retention_days: Mapped[int | None] = mapped_column(Integer, default=None)
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


class Scores(Base):
    """A comment's scores. One float column per scored attribute (`moderation.domain.attributes`), added
    below the class from that one list, so adding an attribute needs no change here, only a migration."""

    __tablename__ = "scores"
    __table_args__ = (Index("ix_scores_risk", "risk", "comment_id"),)

    comment_id: Mapped[str] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"), primary_key=True)
    model_version: Mapped[str] = mapped_column(String(100))
    techniques: Mapped[dict[str, Any]] = mapped_column(default=dict)
    narratives: Mapped[list[Any]] = mapped_column(default=list)
    spans: Mapped[list[Any]] = mapped_column(default=list)
    # The highest attribute score, so the queue can filter and sort by it through an index.
    risk: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    scored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    comment: Mapped[Comment] = relationship(back_populates="scores")

    @classmethod
    def column(cls, attribute: str) -> InstrumentedAttribute[float | None]:
        """The mapped column of one scored attribute, for queries."""
        if attribute not in NAMES:
            raise KeyError(attribute)
        return cast("InstrumentedAttribute[float | None]", getattr(cls, attribute))

    @classmethod
    def columns(cls) -> list[InstrumentedAttribute[float | None]]:
        return [cls.column(name) for name in NAMES]

    def values(self) -> dict[str, float | None]:
        return {name: getattr(self, name) for name in NAMES}

    def score_set(self) -> ScoreSet:
        return ScoreSet(
            values={name: value for name, value in self.values().items() if value is not None},
            techniques=dict(self.techniques or {}),
            narratives=tuple((str(n["id"]), float(n["score"])) for n in self.narratives or []),
            spans=tuple(self.spans or []),
        )


for _name in NAMES:
    setattr(Scores, _name, mapped_column(_name, Float, nullable=True))


class Decision(Base):
    """One decision on a comment; the latest one is the comment's. Written only by
    `moderation.store.decisions`, with its `comment.decided` audit event."""

    __tablename__ = "decisions"
    # Undo deletes a decision; AUTOINCREMENT keeps SQLite from giving its id (kept in audit events) away.
    __table_args__ = (Index("ix_decisions_comment", "comment_id", "id"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    comment_id: Mapped[str] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    model_version: Mapped[str | None] = mapped_column(String(100), default=None)
    # The site's own model that scored `site_reject` for this decision (None: the site had none).
    site_model_version: Mapped[str | None] = mapped_column(String(100), default=None)
    # `full` or `fast` (`classifiers.scoring.PROFILES`): how the scores this decision used were computed.
    scoring_profile: Mapped[str | None] = mapped_column(String(10), default=None)
    moderator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    reason_code: Mapped[str | None] = mapped_column(String(50), default=None)
    note: Mapped[str | None] = mapped_column(Text, default=None)
    # The facts the policy decided on (`CommentFacts.recorded`): model and rule decisions only.
    facts: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # A moderator's wording of the reader-facing reason, {"de", "en"}; None: derived from `reasons`.
    reader_reason: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    comment: Mapped[Comment] = relationship(back_populates="decisions")


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_created", "created_at"),
        Index("ix_audit_comment", "comment_id"),
        Index("ix_audit_event_site", "event", "site_id", "id"),
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


class User(Base):
    """A dashboard account (a moderator or an admin); `moderation users create` adds one."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(16), default=Role.MODERATOR.value)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Stored in each login session; raised on logout and password change, which revokes older sessions.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
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
    moderator_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(16))
    entries: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


def priority_update() -> Update:
    """UPDATE comments SET priority = :priority WHERE id = :cid, for executemany."""
    table = cast(Table, Comment.__table__)
    return update(table).where(table.c.id == bindparam("cid")).values(priority=bindparam("priority"))


class SiteLabel(Base):
    """A training label of one site: a moderator's standing decision on one of its comments (kept in step
    by `moderation.store.decisions`), or a decision imported from the site's archive (`source` imported).
    `author_id` is kept so that erasing an author reaches their labels too."""

    __tablename__ = "site_labels"
    __table_args__ = (
        Index("ix_site_labels_site_decided", "site_id", "decided_at", "id"),
        Index("ix_site_labels_site_external", "site_id", "external_id"),
        Index("ix_site_labels_site_author", "site_id", "author_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(16))
    comment_id: Mapped[str | None] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), unique=True, default=None
    )
    external_id: Mapped[str | None] = mapped_column(String(200), default=None)
    article_id: Mapped[str | None] = mapped_column(String(500), default=None)
    author_id: Mapped[str | None] = mapped_column(String(200), default=None)
    text: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(200), default=None)
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SiteModel(Base):
    """One version of a site's own model: `state` is candidate, active (at most one per site), shadow,
    retired or refused; `verdict` is what the promotion guard decided and why."""

    __tablename__ = "site_models"
    __table_args__ = (
        UniqueConstraint("site_id", "version", name="uq_site_models_site_version"),
        Index("ix_site_models_state", "state", "site_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(16))
    card: Mapped[dict[str, Any]] = mapped_column(default=dict)
    verdict: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class ShadowScore(Base):
    """What a site model running in shadow said about a comment it did not decide."""

    __tablename__ = "shadow_scores"
    __table_args__ = (Index("ix_shadow_scores_model", "site_model_id", "scored_at"),)

    comment_id: Mapped[str] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"), primary_key=True)
    site_model_id: Mapped[int] = mapped_column(
        ForeignKey("site_models.id", ondelete="CASCADE"), primary_key=True
    )
    site_reject: Mapped[float] = mapped_column(Float)
    scored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WebhookDelivery(Base):
    """One event for one site's webhook endpoint: the exact body sent (so a retry carries the same bytes
    and message id), its state (pending, delivered, failed: given up, disabled: endpoint switched off)
    and the last attempt's outcome. Deleted with its comment (erasure, retention)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_site", "site_id", "id"),
        Index("ix_webhook_deliveries_state_next", "state", "next_attempt_at"),
        Index("ix_webhook_deliveries_comment", "comment_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(String(64), unique=True)
    event_type: Mapped[str] = mapped_column(String(50))
    comment_id: Mapped[str | None] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), default=None
    )
    url: Mapped[str] = mapped_column(String(2000))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    last_status: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str | None] = mapped_column(String(500), default=None)
    last_response_ms: Mapped[float | None] = mapped_column(Float, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class WebhookAttempt(Base):
    """One HTTP attempt of a delivery: when, the status code (None: no answer), how long, what failed."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery", "delivery_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"))
    attempted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    response_ms: Mapped[float | None] = mapped_column(Float, default=None)
    error: Mapped[str | None] = mapped_column(String(500), default=None)
