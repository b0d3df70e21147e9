"""The implementations the CalendarGateway contract runs on, each behind one harness:
the in-memory fake, the Graph adapter on the emulator in-process (ASGITransport), the Graph
adapter on the emulator over a real TLS socket with MSAL sign-in, and the Graph adapter
on a real Microsoft 365 mailbox (S5SYNC_TEST_GRAPH_ACCESS_TOKEN, or an MSAL cache file
with S5SYNC_TEST_GRAPH_TOKEN_CACHE, _CLIENT_ID, _CLIENT_SECRET, _AUTHORITY)."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from m365emu.app import Emulator
from s5sync.outlook.graph import GraphCalendar
from s5sync.outlook.identity import IdentityConfig, MsalIdentity
from s5sync.outlook.metering import RequestCounter
from s5sync.outlook.tokens import UserTokens
from s5sync.outlook.transport import GraphTransport
from s5sync.sync.ports import CalendarGateway
from s5sync.testing.calendar import FakeCalendarGateway
from s5sync.testing.graph_emulator import GraphParts, UserActions, expire_delta, graph_calendar

REAL_TOKEN_ENV = "S5SYNC_TEST_GRAPH_ACCESS_TOKEN"
REAL_BASE_ENV = "S5SYNC_TEST_GRAPH_BASE_URL"
# Or, to refresh through MSAL: an Entra app and a serialized MSAL cache from one sign-in.
REAL_CACHE_ENV = "S5SYNC_TEST_GRAPH_TOKEN_CACHE"  # a file; refreshed tokens are written back
REAL_CLIENT_ENV = "S5SYNC_TEST_GRAPH_CLIENT_ID"
REAL_SECRET_ENV = "S5SYNC_TEST_GRAPH_CLIENT_SECRET"
REAL_AUTHORITY_ENV = "S5SYNC_TEST_GRAPH_AUTHORITY"


class CalendarHarness(ABC):
    """What the contract needs besides the gateway: act as the user, count, expire."""

    gateway: CalendarGateway
    counter: RequestCounter

    @abstractmethod
    def new_cycle(self) -> CalendarGateway:
        """A new gateway object for the same mailbox (a later cycle)."""
        ...

    @abstractmethod
    async def user_creates(self, subject: str, start: datetime, end: datetime) -> str: ...

    @abstractmethod
    async def user_edits(self, event_id: str, subject: str) -> None: ...

    @abstractmethod
    async def user_deletes(self, event_id: str) -> None: ...

    @abstractmethod
    def expire_delta(self, kind: str) -> None: ...


class FakeHarness(CalendarHarness):
    def __init__(self) -> None:
        self.fake = FakeCalendarGateway()
        self.gateway = self.fake
        self.counter = self.fake.counter

    def new_cycle(self) -> CalendarGateway:
        return self.fake

    async def user_creates(self, subject: str, start: datetime, end: datetime) -> str:
        return self.fake.user_creates(subject, start, end)

    async def user_edits(self, event_id: str, subject: str) -> None:
        self.fake.user_edits(event_id, subject=subject)

    async def user_deletes(self, event_id: str) -> None:
        self.fake.user_deletes(event_id)

    def expire_delta(self, kind: str) -> None:
        self.fake.expire_delta()


@dataclass
class GraphHarness(CalendarHarness):
    """The Graph adapter on an httpx client (in-process), or on `graph`, production's
    transport (aiohttp: over a socket or to real Graph); the user acts over `http`."""

    http: httpx.AsyncClient
    tokens: Any
    user: UserActions
    parts: GraphParts | None = None
    mailbox_key: str = ""
    emulator: Emulator | None = None
    counter: RequestCounter = field(default_factory=RequestCounter)
    made: list[str] = field(default_factory=list)
    graph: GraphTransport | None = None

    def __post_init__(self) -> None:
        self.gateway = self.new_cycle()

    def new_cycle(self) -> GraphCalendar:
        return graph_calendar(self.graph or self.http, self.tokens, counter=self.counter)

    async def user_creates(self, subject: str, start: datetime, end: datetime) -> str:
        event_id = await self.user.creates(subject, start, end)
        self.made.append(event_id)
        return event_id

    async def user_edits(self, event_id: str, subject: str) -> None:
        await self.user.edits(event_id, subject=subject)

    async def user_deletes(self, event_id: str) -> None:
        await self.user.deletes(event_id)

    def expire_delta(self, kind: str) -> None:
        if self.parts is None:
            pytest.skip("a real mailbox's delta token cannot be expired on demand")
        expire_delta(self.parts, self.mailbox_key, kind)


class StaticTokens:
    """A delegated access token given from outside (the real-tenant run)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "StaticTokens(…)"

    async def token(self, *, force_refresh: bool = False) -> str:
        return self._token


class FileCache:
    """A serialized MSAL cache in a file (the real-tenant run only)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    async def load(self) -> str | None:
        return self.path.read_text() if self.path.exists() else None

    async def save(self, serialized: str) -> None:
        self.path.write_text(serialized)


def real_tenant_tokens() -> Any:
    """MSAL over a cache file when one is configured, else a given access token, else skip."""
    cache = os.environ.get(REAL_CACHE_ENV, "")
    if cache:
        identity = MsalIdentity(
            IdentityConfig(
                os.environ[REAL_CLIENT_ENV],
                os.environ[REAL_SECRET_ENV],
                os.environ.get(
                    REAL_AUTHORITY_ENV, "https://login.microsoftonline.com/organizations"
                ),
            )
        )
        return UserTokens(identity, FileCache(Path(cache)))
    token = os.environ.get(REAL_TOKEN_ENV, "")
    if not token:
        pytest.skip(
            f"no real Microsoft 365 mailbox: set {REAL_TOKEN_ENV} to a delegated access token "
            f"(Calendars.ReadWrite, MailboxSettings.ReadWrite), or {REAL_CACHE_ENV} with "
            f"{REAL_CLIENT_ENV}/{REAL_SECRET_ENV}/{REAL_AUTHORITY_ENV}, to run the contract "
            "against Microsoft Graph"
        )
    return StaticTokens(token)


Factory = Callable[[], CalendarHarness]
