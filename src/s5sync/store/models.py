"""The CALENDAREVENT database as SQLAlchemy 2 typed models (DESIGN.md).

Invariants live in the schema (STYLE.md habit 10): the unique constraints on
`event_link` make R16 hold even if code is wrong — one event per (tenant, user, task),
one task per (tenant, user, event), one link per transaction id. Secrets are stored as
MultiFernet tokens (`*_enc` columns, R22). Every tenant-owned table carries `tenant_id`,
which PostgreSQL's row-level security checks (see migrations).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from s5sync.store.types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

TENANT_TABLES = (
    "app_user",
    "event_link",
    "sync_run",
    "activity",
    "event_cache",
    "delta_state",
    "alert_state",
    "mail_outbox",
    "audit_event",
    "graph_subscription",
    "store_watch",
)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


class Tenant(Base):
    """A store (R21): its Microsoft tenant, System Five connection, time zone, options."""

    __tablename__ = "tenant"
    __table_args__ = (
        CheckConstraint("import_window_days BETWEEN 1 AND 60", name="import_window"),
        CheckConstraint("interval_minutes BETWEEN 1 AND 1440", name="interval"),
        CheckConstraint("retention_days BETWEEN 1 AND 3650", name="retention"),
        CheckConstraint("s5_poll_seconds BETWEEN 1 AND 3600", name="s5_poll"),
        CheckConstraint("safety_minutes BETWEEN 1 AND 1440", name="safety"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ms_tenant_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    s5_connection_enc: Mapped[bytes] = mapped_column(LargeBinary)
    time_zone: Mapped[str] = mapped_column(String(64))
    category_name: Mapped[str] = mapped_column(String(255), default="Received From System5")
    category_color: Mapped[str] = mapped_column(String(16), default="preset4")
    sync_tag: Mapped[str] = mapped_column(String(64), default="[sync]")
    import_window_days: Mapped[int] = mapped_column(Integer, default=14)
    interval_minutes: Mapped[int] = mapped_column(Integer, default=10)
    background_sync: Mapped[bool] = mapped_column(Boolean, default=False)
    retention_days: Mapped[int] = mapped_column(Integer, default=30)
    # R21d: a daily digest of every user's state to the administrators (migration 0003).
    alert_digest: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # R14b (migration 0004): the System Five watcher's period, and the safety-net poll
    # while a user's Graph subscription is live.
    s5_poll_seconds: Mapped[int] = mapped_column(Integer, default=15, server_default="15")
    safety_minutes: Mapped[int] = mapped_column(Integer, default=60, server_default="60")
    # R6b (migration 0006): the "Removed from System Five" category.
    removed_category: Mapped[bool] = mapped_column(Boolean, default=True)
    removed_category_name: Mapped[str] = mapped_column(
        String(255), default="Removed from System Five"
    )
    removed_category_color: Mapped[str] = mapped_column(String(16), default="preset0")
    created_at: Mapped[datetime]


class AppUser(Base):
    """A signed-in member of staff: mapping to System Five, token cache, lease, status."""

    __tablename__ = "app_user"
    __table_args__ = (
        UniqueConstraint("tenant_id", "object_id"),
        Index("ix_app_user_due", "next_run_at"),
        Index("ix_app_user_tenant_email", "tenant_id", "email"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"))
    object_id: Mapped[str] = mapped_column(String(64))
    email: Mapped[str] = mapped_column(String(320))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    employee_id: Mapped[int | None] = mapped_column(Integer, default=None)
    onboarded_at: Mapped[datetime | None] = mapped_column(default=None)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    token_cache_enc: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    # active | needs_sign_in | error — R19b
    status: Mapped[str] = mapped_column(String(20), default="active")
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    last_heartbeat_at: Mapped[datetime | None] = mapped_column(default=None)
    next_run_at: Mapped[datetime | None] = mapped_column(default=None)
    last_run_at: Mapped[datetime | None] = mapped_column(default=None)
    last_outcome: Mapped[str | None] = mapped_column(String(20), default=None)
    sync_now_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    # Signed session cookies carry this number; signing out bumps it, so a cookie copied
    # before sign-out is worth nothing after it (OWASP ASVS 3.3.1).
    session_generation: Mapped[int] = mapped_column(Integer, default=0)
    # The master categories ensured in the user's mailbox, with colour and id (R3, R6b,
    # R21b; outlook/categories.py `CategoryMemo`); migration 0006 made it text.
    category_ready: Mapped[str | None] = mapped_column(Text, default=None)
    # R14c: paused by the user, an administrator or the operator (migration 0005).
    paused_at: Mapped[datetime | None] = mapped_column(default=None)
    paused_by: Mapped[str | None] = mapped_column(String(320), default=None)
    # R14c: a resync (repair) asked for and by whom; the next cycle is one (migration 0007).
    resync_requested_at: Mapped[datetime | None] = mapped_column(default=None)
    resync_requested_by: Mapped[str | None] = mapped_column(String(320), default=None)
    # The skips of the last finished cycle as [reason, task id, event id] (R18: a skip
    # that stands is said once); read with the lease (migration 0002).
    last_skip_keys: Mapped[list[Any] | None] = mapped_column(JSON, default=None)
    # The lease serialising one user's cycles; the fence grows with every lease taken.
    lease_holder: Mapped[str | None] = mapped_column(String(100), default=None)
    lease_fence: Mapped[int] = mapped_column(Integer, default=0)
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    # R14b (migration 0004): until when the user's Graph subscription is live and
    # healthy (the periodic cycle is then the safety net), and the last change seen on
    # either side (a notification, or the System Five watcher).
    push_live_until: Mapped[datetime | None] = mapped_column(default=None)
    last_change_at: Mapped[datetime | None] = mapped_column(default=None)
    # Issue 19 (migration 0012): why the subscription could not be made, and when the
    # manager tries again (cleared when one is made).
    push_error: Mapped[str | None] = mapped_column(String(500), default=None)
    push_retry_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime]

    @property
    def has_token_cache(self) -> bool:
        return self.token_cache_enc is not None


class EventLink(Base):
    """The mapping (R16): one task ↔ one event of one user, with per-side hashes."""

    __tablename__ = "event_link"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id", "task_id"),
        UniqueConstraint("tenant_id", "user_id", "event_id"),
        UniqueConstraint("transaction_id"),
        CheckConstraint("origin IN ('s5', 'outlook')", name="origin"),
        CheckConstraint(
            "state IN ('pending', 'active', 'outlook_deleted', 'task_deleted')", name="state"
        ),
        CheckConstraint("task_id IS NOT NULL OR event_id IS NOT NULL", name="one_side"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    task_id: Mapped[int | None] = mapped_column(Integer, default=None)
    event_id: Mapped[str | None] = mapped_column(String(512), default=None)
    origin: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(20))
    transaction_id: Mapped[str | None] = mapped_column(String(64), default=None)
    task_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    event_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    change_key: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SyncRun(Base):
    """One cycle of one user (R18): its `now`, outcome, counts and Graph requests."""

    __tablename__ = "sync_run"
    __table_args__ = (Index("ix_sync_run_user_started", "user_id", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    now: Mapped[datetime]
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    outcome: Mapped[str] = mapped_column(String(20), default="running")
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    graph_requests: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The cycle's skips as [reason, task id, event id]: a skip is logged only when it
    # was not among the previous cycle's, so a standing reason is said once (R18).
    skip_keys: Mapped[list[Any]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    fence: Mapped[int] = mapped_column(Integer, default=0)


class Activity(Base):
    """One decision of one cycle, in words (R18)."""

    __tablename__ = "activity"
    __table_args__ = (Index("ix_activity_user_at", "user_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("sync_run.id", ondelete="CASCADE"), default=None
    )
    at: Mapped[datetime]
    direction: Mapped[str] = mapped_column(String(10))
    action: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(String(40), default=None)
    task_id: Mapped[int | None] = mapped_column(Integer, default=None)
    event_id: Mapped[str | None] = mapped_column(String(512), default=None)
    subject: Mapped[str] = mapped_column(String(120), default="")
    message: Mapped[str] = mapped_column(Text, default="")


class EventCache(Base):
    """The last seen state of each event in the user's delta window (DESIGN.md)."""

    __tablename__ = "event_cache"
    __table_args__ = (UniqueConstraint("tenant_id", "user_id", "event_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(512))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    change_key: Mapped[str] = mapped_column(String(255), default="")
    server_hash: Mapped[str] = mapped_column(String(64), default="")
    # Tagged (under `DeltaState.relevance_tag`) or carrying our identity: what a cycle
    # reads besides the linked events (issue 12; migration 0002).
    relevant: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    updated_at: Mapped[datetime]


class DeltaState(Base):
    """The user's calendarView delta link and the window it was opened on."""

    __tablename__ = "delta_state"
    __table_args__ = (UniqueConstraint("tenant_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    delta_link_enc: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    baselined_at: Mapped[datetime]
    # The sync tag `EventCache.relevant` was judged with; another tag judges again.
    relevance_tag: Mapped[str | None] = mapped_column(String(64), default=None)


class AuthFlow(Base):
    """An MSAL auth-code flow between redirect and callback, keyed by `state` (R19).

    The flow holds the PKCE verifier and nonce, so it is stored encrypted.
    """

    __tablename__ = "auth_flow"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    state: Mapped[str] = mapped_column(String(128), unique=True)
    flow_enc: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime]


class AlertState(Base):
    """A problem that needs someone, open until it recovers (R21d; migration 0003).

    `subject` is `user:<id>` or `store`; `last_alerted_on` the store-local day of the
    last alert e-mail (none while no mail server is configured: the health page alone
    shows it)."""

    __tablename__ = "alert_state"
    __table_args__ = (UniqueConstraint("tenant_id", "subject", "problem"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="CASCADE"), default=None
    )
    subject: Mapped[str] = mapped_column(String(40))
    problem: Mapped[str] = mapped_column(String(40))
    opened_at: Mapped[datetime]
    last_alerted_on: Mapped[str | None] = mapped_column(String(10), default=None)


class MailOutbox(Base):
    """One e-mail to send (R21d): written with the decision that needs it, delivered by
    the scheduler, retried until sent. `dedupe_key` is unique, so a notice is queued
    once however often it is decided (migration 0003)."""

    __tablename__ = "mail_outbox"
    __table_args__ = (
        UniqueConstraint("dedupe_key"),
        Index("ix_mail_outbox_due", "sent_at", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"))
    dedupe_key: Mapped[str] = mapped_column(String(400))
    kind: Mapped[str] = mapped_column(String(20))
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    claimed_until: Mapped[datetime | None] = mapped_column(default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(200), default=None)


class AuditEvent(Base):
    """One administrator's or operator's action (R21d): who, when, what (migration 0003)."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_tenant_at", "tenant_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(320))
    actor_kind: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(320), default="")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class GraphSubscription(Base):
    """A user's Graph change-notification subscription on `me/events` (R14b).

    `client_state_enc` is the subscription's own random secret, sealed (R22); every
    notification is checked against it in constant time. `renew_at` is when the
    manager renews it: well before `expires_at`, spread over users."""

    __tablename__ = "graph_subscription"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id"),
        UniqueConstraint("subscription_id"),
        Index("ix_graph_subscription_renew_at", "renew_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    subscription_id: Mapped[str] = mapped_column(String(128))
    client_state_enc: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime]
    renew_at: Mapped[datetime]
    created_at: Mapped[datetime]
    renewed_at: Mapped[datetime | None] = mapped_column(default=None)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)


class StoreWatch(Base):
    """The System Five watcher's place in one store's `task` table (R14b): the highest
    `updated_at` seen and the (task id, updated_at) pairs already seen at or after the
    overlap before it, so an equal or late `updated_at` is never missed nor counted
    twice. `seen` is JSON {"pairs", "last_id" (the highest task id seen), "wall"} (an
    older s5sync wrote the list of pairs alone: store/watch.py reads both)."""

    __tablename__ = "store_watch"

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenant.id", ondelete="CASCADE"), primary_key=True
    )
    watermark: Mapped[str | None] = mapped_column(String(40), default=None)
    seen: Mapped[Any] = mapped_column(JSON, default=list)
    polled_at: Mapped[datetime | None] = mapped_column(default=None)
