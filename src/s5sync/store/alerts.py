"""The rows behind alerts by e-mail (R21d): open problems, the mail outbox, and the
cycles the alert rules read.

`AlertRepository` is one store's (built by `TenantScope`, R22): it reads the facts,
saves an `AlertPlan` and queues its mails in the same transaction — a mail is queued
exactly when its decision is saved. `MailOutbox` is the scheduler's cross-store view:
it claims due mails (so two workers never send one twice), records what was sent and
schedules retries with a growing delay, so a mail server that is down loses nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from s5sync.core.alerts import AlertPlan, OpenAlert, Problem, RunFact
from s5sync.store.database import Database
from s5sync.store.models import AlertState, AppUser, MailOutbox, SyncRun

CLAIM_FOR = timedelta(minutes=5)
RETRY_FIRST = timedelta(minutes=1)
RETRY_LONGEST = timedelta(hours=1)


@dataclass(frozen=True)
class QueuedMail:
    """A mail to put in the outbox."""

    dedupe_key: str
    kind: str
    recipient: str
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class DueMail:
    id: int
    tenant_id: int
    dedupe_key: str
    recipient: str
    subject: str
    text: str
    html: str
    attempts: int


def retry_delay(attempts: int) -> timedelta:
    """1, 2, 4 … minutes, at most an hour between tries."""
    delay: timedelta = RETRY_FIRST * (2 ** min(max(attempts - 1, 0), 10))
    return min(delay, RETRY_LONGEST)


class AlertRepository:
    """One store's alert rows."""

    def __init__(self, session: AsyncSession, tenant_id: int) -> None:
        self.session = session
        self.tenant_id = tenant_id

    async def open_alerts(self) -> tuple[OpenAlert, ...]:
        rows = await self.session.scalars(
            select(AlertState).where(AlertState.tenant_id == self.tenant_id)
        )
        return tuple(
            OpenAlert(
                r.subject,
                Problem(r.problem),
                r.opened_at,
                date.fromisoformat(r.last_alerted_on) if r.last_alerted_on else None,
                r.user_id,
            )
            for r in rows
        )

    async def created_at(self) -> dict[int, datetime]:
        rows = await self.session.execute(
            select(AppUser.id, AppUser.created_at).where(AppUser.tenant_id == self.tenant_id)
        )
        return {user_id: at for user_id, at in rows}

    async def runs(self, user_ids: Iterable[int], limit: int) -> dict[int, tuple[RunFact, ...]]:
        """Each user's latest finished cycles, newest first."""
        found: dict[int, tuple[RunFact, ...]] = {}
        for user_id in user_ids:
            found[user_id] = await self._runs(SyncRun.user_id == user_id, limit)
        return found

    async def store_runs(self, limit: int) -> tuple[RunFact, ...]:
        return await self._runs(None, limit)

    async def _runs(self, condition: object, limit: int) -> tuple[RunFact, ...]:
        query = select(SyncRun.started_at, SyncRun.outcome, SyncRun.error).where(
            SyncRun.tenant_id == self.tenant_id,
            SyncRun.finished_at.is_not(None),
            SyncRun.outcome.not_in(("busy", "not_onboarded")),
        )
        if condition is not None:
            query = query.where(condition)  # type: ignore[arg-type]
        query = query.order_by(SyncRun.started_at.desc(), SyncRun.id.desc()).limit(limit)
        return tuple(
            RunFact(at, outcome, error) for at, outcome, error in await self.session.execute(query)
        )

    async def save(self, plan: AlertPlan, mails: Sequence[QueuedMail], now: datetime) -> int:
        """The plan's rows and its mails, together; returns how many mails were queued
        (a mail whose key is already in the outbox is not queued again)."""
        for alert in plan.opened:
            self.session.add(
                AlertState(
                    tenant_id=self.tenant_id,
                    user_id=alert.user_id,
                    subject=alert.subject,
                    problem=alert.problem.value,
                    opened_at=alert.opened_at,
                )
            )
        await self.session.flush()
        for alert in plan.alerted:
            await self.session.execute(
                update(AlertState)
                .where(*self._key(alert))
                .values(
                    last_alerted_on=alert.last_alerted_on.isoformat()
                    if alert.last_alerted_on
                    else None
                )
            )
        for alert in plan.closed:
            await self.session.execute(delete(AlertState).where(*self._key(alert)))
        keys = [m.dedupe_key for m in mails]
        existing = (
            set(
                await self.session.scalars(
                    select(MailOutbox.dedupe_key).where(MailOutbox.dedupe_key.in_(keys))
                )
            )
            if keys
            else set()
        )
        queued = 0
        for mail in mails:
            if mail.dedupe_key in existing:
                continue
            existing.add(mail.dedupe_key)
            self.session.add(
                MailOutbox(
                    tenant_id=self.tenant_id,
                    dedupe_key=mail.dedupe_key,
                    kind=mail.kind,
                    recipient=mail.recipient,
                    subject=mail.subject,
                    text_body=mail.text,
                    html_body=mail.html,
                    created_at=now,
                    next_attempt_at=now,
                )
            )
            queued += 1
        await self.session.flush()
        return queued

    def _key(self, alert: OpenAlert) -> tuple[ColumnElement[bool], ...]:
        return (
            AlertState.tenant_id == self.tenant_id,
            AlertState.subject == alert.subject,
            AlertState.problem == alert.problem.value,
        )

    async def prune_outbox(self, before: datetime) -> int:
        """R21b: sent mails (and unsent ones older than the retention) go."""
        result = await self.session.execute(
            delete(MailOutbox).where(
                MailOutbox.tenant_id == self.tenant_id, MailOutbox.created_at < before
            )
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


class Outbox:
    """The outbox across stores, for the scheduler's delivery (owner's engine)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def claim(self, now: datetime, limit: int = 50) -> list[DueMail]:
        """Due, unsent mails, claimed for `CLAIM_FOR` so no other worker sends them."""
        async with self.db.transaction() as session:
            query = (
                select(MailOutbox)
                .where(
                    MailOutbox.sent_at.is_(None),
                    MailOutbox.next_attempt_at <= now,
                    or_(MailOutbox.claimed_until.is_(None), MailOutbox.claimed_until < now),
                )
                .order_by(MailOutbox.next_attempt_at, MailOutbox.id)
                .limit(limit)
            )
            if not self.db.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            rows = list(await session.scalars(query))
            for row in rows:
                row.claimed_until = now + CLAIM_FOR
            return [
                DueMail(
                    r.id, r.tenant_id, r.dedupe_key, r.recipient, r.subject, r.text_body,
                    r.html_body, r.attempts,
                )
                for r in rows
            ]  # fmt: skip

    async def sent(self, mail_id: int, now: datetime) -> None:
        async with self.db.transaction() as session:
            await session.execute(
                update(MailOutbox)
                .where(MailOutbox.id == mail_id)
                .values(sent_at=now, claimed_until=None, attempts=MailOutbox.attempts + 1)
            )

    async def failed(self, mail: DueMail, now: datetime, error: str) -> None:
        attempts = mail.attempts + 1
        async with self.db.transaction() as session:
            await session.execute(
                update(MailOutbox)
                .where(MailOutbox.id == mail.id)
                .values(
                    attempts=attempts,
                    claimed_until=None,
                    next_attempt_at=now + retry_delay(attempts),
                    last_error=error[:200],
                )
            )

    async def release(self, mail_ids: Sequence[int]) -> None:
        if not mail_ids:
            return
        async with self.db.transaction() as session:
            await session.execute(
                update(MailOutbox).where(MailOutbox.id.in_(mail_ids)).values(claimed_until=None)
            )

    async def pending(self, tenant_id: int | None = None) -> int:
        """Unsent mails (of one store), for the health page and tests."""
        async with self.db.transaction(write=False) as session:
            query = select(MailOutbox.id).where(MailOutbox.sent_at.is_(None))
            if tenant_id is not None:
                query = query.where(MailOutbox.tenant_id == tenant_id)
            return len(list(await session.scalars(query)))
