"""The audit trail (R21d): every administrator's and operator's action — who, when, what.

`AuditRepository.record` is called in the same transaction as the action it records, so
an action is never saved without its line nor a line without its action. Lines are kept
as long as the store's activity (its retention, R21b) and read newest first; details are
small JSON (old and new values of changed options, the employee mapped), never a secret:
the System Five connection is recorded as "changed", not by value (R22).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from s5sync.store.models import AuditEvent

OPERATOR = "operator"  # the actor of commands run from a terminal (R21c)


class ActorKind(StrEnum):
    ADMINISTRATOR = "administrator"
    OPERATOR = "operator"


class AuditAction(StrEnum):
    STORE_REGISTERED = "store_registered"
    STORE_CHANGED = "store_changed"
    OPTIONS_CHANGED = "options_changed"
    USER_INVITED = "user_invited"
    USER_MAPPED = "user_mapped"
    USER_UNMAPPED = "user_unmapped"
    USER_REMOVED = "user_removed"
    USER_PAUSED = "user_paused"
    USER_RESUMED = "user_resumed"
    USER_RESYNCED = "user_resynced"
    USER_EXPORTED = "user_exported"
    ADMIN_GRANTED = "admin_granted"
    ADMIN_REVOKED = "admin_revoked"


ACTION_WORDS = {
    AuditAction.STORE_REGISTERED: "registered the store",
    AuditAction.STORE_CHANGED: "changed the store's settings",
    AuditAction.OPTIONS_CHANGED: "changed the store's options",
    AuditAction.USER_INVITED: "named a user before their first sign-in",
    AuditAction.USER_MAPPED: "mapped a user to a System Five employee",
    AuditAction.USER_UNMAPPED: "unmapped a user",
    AuditAction.USER_REMOVED: "removed a user",
    AuditAction.USER_PAUSED: "paused a user's sync",
    AuditAction.USER_RESUMED: "resumed a user's sync",
    AuditAction.USER_RESYNCED: "repaired a user's sync",
    AuditAction.USER_EXPORTED: "exported a user's data",
    AuditAction.ADMIN_GRANTED: "made a user an administrator",
    AuditAction.ADMIN_REVOKED: "took the administrator role away",
}


@dataclass(frozen=True)
class Actor:
    """Who acts: an administrator (by e-mail) or the operator at a terminal."""

    name: str
    kind: ActorKind

    @classmethod
    def operator(cls) -> Actor:
        return cls(OPERATOR, ActorKind.OPERATOR)

    @classmethod
    def administrator(cls, email: str) -> Actor:
        return cls(email, ActorKind.ADMINISTRATOR)


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: datetime
    actor: str
    actor_kind: str
    action: AuditAction
    target: str
    details: dict[str, Any]

    @property
    def words(self) -> str:
        return ACTION_WORDS[self.action]

    @property
    def summary(self) -> str:
        """The details in one line: `name: old → new` for changes."""
        parts = []
        for name, value in sorted(self.details.items()):
            if isinstance(value, Mapping) and set(value) == {"old", "new"}:
                parts.append(f"{name}: {value['old']} → {value['new']}")
            else:
                parts.append(f"{name}: {value}")
        return "; ".join(parts)


def changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The values that differ, as {name: {old, new}}."""
    return {
        name: {"old": old.get(name), "new": value}
        for name, value in new.items()
        if old.get(name) != value
    }


class AuditRepository:
    """One store's audit trail."""

    def __init__(self, session: AsyncSession, tenant_id: int) -> None:
        self.session = session
        self.tenant_id = tenant_id

    async def record(
        self,
        actor: Actor,
        action: AuditAction,
        at: datetime,
        target: str = "",
        details: Mapping[str, Any] | None = None,
    ) -> None:
        self.session.add(
            AuditEvent(
                tenant_id=self.tenant_id,
                at=at,
                actor=actor.name,
                actor_kind=actor.kind.value,
                action=action.value,
                target=target,
                details=dict(details or {}),
            )
        )
        await self.session.flush()

    async def lines(self, limit: int | None = 200, offset: int = 0) -> list[AuditRecord]:
        query = (
            select(AuditEvent)
            .where(AuditEvent.tenant_id == self.tenant_id)
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .offset(offset)
        )
        if limit is not None:
            query = query.limit(limit)
        return [
            AuditRecord(
                r.id, r.at, r.actor, r.actor_kind, AuditAction(r.action), r.target, r.details
            )
            for r in await self.session.scalars(query)
        ]

    async def count(self) -> int:
        query = select(func.count()).where(AuditEvent.tenant_id == self.tenant_id)
        return int(await self.session.scalar(query) or 0)

    async def about(self, target: str) -> list[AuditRecord]:
        """The lines naming one user (`s5sync user export`)."""
        return [line for line in await self.lines(limit=None) if line.target == target]

    async def prune(self, before: datetime) -> int:
        result = await self.session.execute(
            delete(AuditEvent).where(AuditEvent.tenant_id == self.tenant_id, AuditEvent.at < before)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
