"""Sync state of `GET /me/calendarView/delta` (event-delta.md, delta-query-events.md,
delta-query-overview.md; graph.md §2).

A round starts with startDateTime/endDateTime; the window and everything else live in
server-side sync states named by opaque tokens (`$skiptoken` for the next page of a round,
`$deltatoken` for the next round), as Exchange keeps them. Each mailbox keeps its newest
100 sync states; older tokens answer `syncStateNotFound`, as "older delta tokens are
deleted" says. States are persisted, so tokens survive a restart.

A round after the first reports:
- every instance in the window that is new or whose changeKey differs from what the
  client was last sent, as the full event (chosen: full items, the same properties as
  calendarView; Microsoft says updates *may* be partial, so clients must merge anyway);
- `@removed` {"reason": "deleted"} for instances the client had that are gone from the
  window — deleted, cancelled or moved out;
- `@removed` also for events outside the window that were added, updated or deleted since
  the last round, as event-delta.md documents (clients must filter these by date).

Faults (set with `GraphState.expire_delta`): the next delta call with a token for that
mailbox fails as `gone410` (410 `resyncRequired` with a Location header holding the
window and an empty `$deltatoken`), `syncStateNotFound` (400) or `resyncRequired` (400),
and all the mailbox's sync states are dropped.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from m365emu.graph.events.errors import sync_state_not_found
from m365emu.graph.events.models import EventStore
from m365emu.persistence import Persistence

SYNC_DOC = "graph.syncstate"
MAX_STATES = 100


class DeltaExpiry(StrEnum):
    GONE_410 = "gone410"
    SYNC_STATE_NOT_FOUND = "syncStateNotFound"
    RESYNC_REQUIRED = "resyncRequired"


@dataclass
class SyncState:
    token: str
    window_start: datetime
    window_end: datetime
    known: dict[str, str]  # instance id → changeKey the client holds after this round
    watermark: int  # the store's sequence number when the round began
    pending: list[tuple[str, bool]] = field(default_factory=list)  # (id, removed); skip only
    is_skip: bool = False
    made: int = 0

    def to_doc(self, mailbox_key: str) -> dict[str, Any]:
        return {
            "mailbox": mailbox_key,
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "known": self.known,
            "watermark": self.watermark,
            "pending": self.pending,
            "is_skip": self.is_skip,
            "made": self.made,
        }

    @staticmethod
    def from_doc(token: str, doc: dict[str, Any]) -> SyncState:
        return SyncState(
            token,
            datetime.fromisoformat(doc["window_start"]),
            datetime.fromisoformat(doc["window_end"]),
            dict(doc["known"]),
            int(doc["watermark"]),
            [(str(i), bool(r)) for i, r in doc["pending"]],
            bool(doc["is_skip"]),
            int(doc["made"]),
        )


@dataclass
class DeltaPage:
    entries: list[tuple[str, bool]]
    token: str
    is_final: bool  # True: the token is a $deltatoken
    window_start: datetime
    window_end: datetime


class DeltaBook:
    """The sync states of one mailbox."""

    def __init__(self, mailbox_key: str, persistence: Persistence) -> None:
        self.mailbox_key = mailbox_key
        self._persistence = persistence
        self.states: dict[str, SyncState] = {}
        self._made = 0
        self.armed: DeltaExpiry | None = None

    def load(self, token: str, doc: dict[str, Any]) -> None:
        state = SyncState.from_doc(token, doc)
        self.states[token] = state
        self._made = max(self._made, state.made)

    def drop_all(self) -> None:
        for token in list(self.states):
            self._forget(token)

    def _forget(self, token: str) -> None:
        self.states.pop(token, None)
        self._persistence.delete(SYNC_DOC, token)

    def _keep(self, state: SyncState) -> str:
        self._made += 1
        state.made = self._made
        self.states[state.token] = state
        self._persistence.save(SYNC_DOC, state.token, state.to_doc(self.mailbox_key))
        while len(self.states) > MAX_STATES:
            self._forget(min(self.states.values(), key=lambda s: s.made).token)
        return state.token

    def find(self, token: str, skip: bool) -> SyncState:
        state = self.states.get(token)
        if state is None or state.is_skip != skip:
            raise sync_state_not_found()
        return state

    def start_round(
        self,
        store: EventStore,
        window_start: datetime,
        window_end: datetime,
        previous: SyncState | None,
    ) -> SyncState:
        """Everything the client must hear this round, as an unsent skip state."""
        instances = store.instances(window_start, window_end)
        current = {e.id: e.change_key for e in instances}
        # A series with occurrences in the window is reported through them, not as itself.
        masters = {e.series_master_id for e in instances if e.series_master_id}
        known = previous.known if previous else {}
        entries: list[tuple[str, bool]] = [
            (event_id, False) for event_id, key in current.items() if known.get(event_id) != key
        ]
        entries += [(event_id, True) for event_id in known if event_id not in current]
        if previous is not None:
            reported = {event_id for event_id, _ in entries} | set(current) | masters
            for event in store.events.values():
                # event-delta.md: events outside the window that changed also come as @removed.
                if event.seq > previous.watermark and event.id not in reported:
                    entries.append((event.id, True))
                    reported.add(event.id)
            for event_id, seq in store.tombstones.items():
                if seq > previous.watermark and event_id not in reported:
                    entries.append((event_id, True))
                    reported.add(event_id)
        return SyncState(
            secrets.token_urlsafe(24),
            window_start,
            window_end,
            current,
            store.seq,
            entries,
            is_skip=True,
        )

    def page(self, state: SyncState, size: int) -> DeltaPage:
        """The next page of a round. Used tokens stay valid (a client that lost an answer
        may repeat its request) until the mailbox's oldest states are evicted."""
        sent, rest = state.pending[:size], state.pending[size:]
        final = not rest
        follow = SyncState(
            secrets.token_urlsafe(24),
            state.window_start,
            state.window_end,
            state.known,
            state.watermark,
            rest,
            is_skip=not final,
        )
        token = self._keep(follow)
        return DeltaPage(sent, token, final, state.window_start, state.window_end)
