"""Wake-ups (R14b): "this user changed" becomes that user's next cycle, within ~2 s.

Notifications and the System Five watcher call `note(user_id)`, which only adds the id
to a set: nothing waits on the database, so the notification endpoint answers at once.
A flusher turns each `flush_seconds` worth of ids into one statement
(`SubscriptionRows.note_changes`: Sync now's flag and `last_change_at`, for active users
only — R14) and then nudges the driver with the woken ids (`nudge`): the local
scheduler looks for due users at once, the distributed one defers the users' cycle jobs.

A burst is one cycle: the flag is one bit per user, and a running cycle of the user
leaves exactly one more (the flag is cleared when a cycle takes its lease, as Sync now).
A notification is a hint, never data: the cycle reads the delta (R15–R17).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from s5sync.store.subscriptions import SubscriptionRows

log = logging.getLogger(__name__)

Nudge = Callable[[list[int]], Awaitable[None]]


class WakeUps:
    """Coalesces users' changes into few writes and nudges the scheduler."""

    def __init__(
        self,
        rows: SubscriptionRows,
        nudge: Nudge,
        clock: Callable[[], datetime],
        *,
        flush_seconds: float = 0.05,
    ) -> None:
        self.rows = rows
        self.nudge = nudge
        self.clock = clock
        self.flush_seconds = flush_seconds
        self.pending: set[int] = set()
        self.woken = 0
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def note(self, user_id: int) -> None:
        self.pending.add(user_id)
        self._ready.set()

    async def wake_now(self, user_ids: list[int]) -> None:
        """Several users at once (a new subscription's catch-up cycle)."""
        for user_id in user_ids:
            self.note(user_id)

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._loop(), name="s5sync-wakeups")

    async def stop(self) -> None:
        """Let a flush under way finish, then write what is left."""
        self._stopping = True
        self._ready.set()
        if self._task is not None:
            await self._task
            self._task = None
        await self.flush()

    async def flush(self) -> list[int]:
        """Write the pending users' changes now and nudge the driver; the woken ids."""
        users, self.pending = sorted(self.pending), set()
        if not users:
            return []
        try:
            woken = await self.rows.note_changes(users, self.clock())
        except Exception:
            self.pending.update(users)  # kept for the next flush: a hint is never lost here
            raise
        self.woken += len(woken)
        if woken:
            await self.nudge(woken)
        return woken

    async def _loop(self) -> None:
        while not self._stopping:
            await self._ready.wait()
            self._ready.clear()
            if self._stopping:
                break
            await asyncio.sleep(self.flush_seconds)  # gather the rest of the burst
            try:
                await self.flush()
            except Exception:
                log.exception("wakeups.flush_failed")
                await asyncio.sleep(1.0)
                self._ready.set()
