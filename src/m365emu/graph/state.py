"""All Graph-side state of the emulator: mailboxes keyed "<tenant id>/<object id>", each
with its calendar, master categories and delta sync states, written through `Persistence`
(issue 4 item 3: a demo killed with -9 restarts with every event). Also the runtime knobs
the control plane turns: latency and the delta-expiry faults.

A mailbox comes into being the first time a token for its user calls Graph (or the Outlook
page opens it); the identity side owns users, this side only remembers the address and name
to write as the organizer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from m365emu.graph.common.http import mailbox_key
from m365emu.graph.events.delta import SYNC_DOC, DeltaBook, DeltaExpiry
from m365emu.graph.events.models import EVENT_DOC, TOMBSTONE_DOC, EventStore
from m365emu.graph.master_categories.models import CATEGORY_DOC, CategoryStore
from m365emu.persistence import Persistence

MAILBOX_DOC = "graph.mailbox"


@dataclass
class GraphRuntime:
    """Knobs of the running Graph API (`POST /_emulator/latency` sets `latency_ms`)."""

    latency_ms: int = 0
    # Tests set this so that an unexpected exception fails the test instead of becoming
    # a Graph-shaped 500 (issue 5: fuzzing must never find a 500).
    reraise_unexpected: bool = False


@dataclass
class Mailbox:
    key: str
    tid: str
    oid: str
    email: str
    name: str
    events: EventStore
    categories: CategoryStore
    delta: DeltaBook
    # mailboxSettings.timeZone (mailboxsettings.md); None: never set, the emulator's
    # default zone is shown. The Outlook page shows times in it.
    time_zone: str | None = None
    saver: Callable[[Mailbox], None] | None = None  # persists the mailbox's own document
    # One writer at a time per mailbox. Handlers are synchronous and run on the event loop,
    # so they never interleave there; the lock guards callers from other threads (a
    # control plane or a sync endpoint run in FastAPI's thread pool).
    lock: threading.RLock = field(default_factory=threading.RLock)


class GraphState:
    def __init__(self, persistence: Persistence | None = None) -> None:
        self.persistence = persistence or Persistence(None)
        self._mailboxes: dict[str, Mailbox] = {}
        self._lock = threading.Lock()
        self._reset_hooks: list[Callable[[], None]] = []
        # Told of every event change: (mailbox key, changeType, event id, changeKey).
        self.change_listeners: list[Callable[[str, str, str, str | None], None]] = []
        self._load()

    def _new(self, tid: str, oid: str, email: str, name: str) -> Mailbox:
        key = mailbox_key(tid, oid)
        events = EventStore(key, self.persistence)

        def changed(change_type: str, event_id: str, change_key: str | None) -> None:
            for listener in self.change_listeners:
                listener(key, change_type, event_id, change_key)

        events.on_change = changed
        return Mailbox(
            key,
            tid,
            oid,
            email,
            name,
            events,
            CategoryStore(key, self.persistence),
            DeltaBook(key, self.persistence),
            saver=self.save,
        )

    def _load(self) -> None:
        for doc in self.persistence.load_all(MAILBOX_DOC).values():
            box = self._new(doc["tid"], doc["oid"], doc.get("email", ""), doc.get("name", ""))
            box.time_zone = doc.get("timeZone")
            self._mailboxes[box.key] = box
        events: dict[str, list[dict[str, Any]]] = {}
        for key, doc in self.persistence.load_all(EVENT_DOC).items():
            events.setdefault(key.split("|", 1)[0], []).append(doc)
        tombstones: dict[str, dict[str, int]] = {}
        for key, doc in self.persistence.load_all(TOMBSTONE_DOC).items():
            box_key, _, event_id = key.partition("|")
            tombstones.setdefault(box_key, {})[event_id] = int(doc["seq"])
        for box in self._mailboxes.values():
            box.events.load(events.get(box.key, []), tombstones.get(box.key, {}))
        for key, doc in self.persistence.load_all(CATEGORY_DOC).items():
            box_or_none = self._mailboxes.get(key.split("|", 1)[0])
            if box_or_none is not None:
                box_or_none.categories.load(doc)
        for token, doc in self.persistence.load_all(SYNC_DOC).items():
            box_or_none = self._mailboxes.get(str(doc.get("mailbox")))
            if box_or_none is not None:
                box_or_none.delta.load(token, doc)

    def mailbox(self, tid: str, oid: str, email: str = "", name: str = "") -> Mailbox:
        """The user's mailbox, made on first use; a known address or name is kept fresh."""
        key = mailbox_key(tid, oid)
        with self._lock:
            box = self._mailboxes.get(key)
            if box is None:
                box = self._new(tid, oid, email, name)
                self._mailboxes[key] = box
            elif (email and email != box.email) or (name and name != box.name):
                box.email, box.name = email or box.email, name or box.name
            else:
                return box
            self.save(box)
            return box

    def save(self, box: Mailbox) -> None:
        """The mailbox's own document: who it is and its settings."""
        doc: dict[str, Any] = {"tid": box.tid, "oid": box.oid, "email": box.email}
        doc["name"] = box.name
        if box.time_zone is not None:
            doc["timeZone"] = box.time_zone
        self.persistence.save(MAILBOX_DOC, box.key, doc)

    def find(self, key: str) -> Mailbox | None:
        return self._mailboxes.get(key)

    def find_by_email(self, email: str) -> Mailbox | None:
        """The mailbox whose address is `email` (case-insensitive), for the control plane."""
        for box in self._mailboxes.values():
            if box.email.lower() == email.lower():
                return box
        return None

    def mailboxes(self) -> list[Mailbox]:
        return list(self._mailboxes.values())

    def public_id(self, key: str, event_id: str, immutable: bool) -> str:
        """An event's id in the form a client asked for (outlook-immutable-id.md): change
        notifications use the form of the request that created the subscription."""
        box = self._mailboxes.get(key)
        return box.events.public_id(event_id, immutable) if box is not None else event_id

    def expire_delta(self, key: str, kind: DeltaExpiry | str) -> None:
        """Arm a delta-expiry fault: the mailbox's next delta call with a token fails as
        `kind` ("gone410", "syncStateNotFound" or "resyncRequired"); `key` is
        "<tid>/<oid>" or "*" for every mailbox known now."""
        expiry = DeltaExpiry(kind)
        targets = self.mailboxes() if key == "*" else [self.find(key)]
        for box in targets:
            if box is None:
                raise KeyError(key)
            box.delta.armed = expiry

    def on_reset(self, hook: Callable[[], None]) -> None:
        """Run `hook` on every reset (the router's throttling windows register here)."""
        self._reset_hooks.append(hook)

    def reset(self) -> None:
        """Forget every mailbox and throttling window (`POST /_emulator/reset`)."""
        with self._lock:
            self._mailboxes.clear()
        for hook in self._reset_hooks:
            hook()
        for kind in (MAILBOX_DOC, EVENT_DOC, TOMBSTONE_DOC, CATEGORY_DOC, SYNC_DOC):
            for key in self.persistence.load_all(kind):
                self.persistence.delete(kind, key)
