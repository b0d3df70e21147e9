"""The Graph adapter wired to the Microsoft 365 emulator, for tests of any package.

- `install_graph_api(emulator)`: handles on the emulator's Graph calendar API (its state
  for delta expiry, its latency), installing it if it is not yet;
- `in_process_client(emulator)`: an `httpx.AsyncClient` reaching the emulator's TLS app
  through `httpx.ASGITransport` (the transport is the seam, STYLE.md habit 7);
- `EmulatorTokens(emulator, email)`: access tokens minted by the emulator's identity
  platform for one user, no sign-in needed;
- `graph_calendar(http, tokens, …)`: a `GraphCalendar` with its session, over an
  `httpx.AsyncClient` (the in-process one) or any `GraphTransport` (production's aiohttp
  pools, for tests over a real socket);
- `UserActions`: the user in Outlook, creating, editing and deleting events over Graph
  outside the adapter's request count.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from m365emu.app import Emulator, create_tls_app
from m365emu.control import CONTROL_CLIENT_ID
from m365emu.graph import DeltaExpiry, GraphState
from m365emu.identity.models import AppRegistration
from m365emu.parts import install_graph
from s5sync.outlook.graph import GraphCalendar
from s5sync.outlook.metering import MailboxSlots, RequestCounter
from s5sync.outlook.session import GraphSession, Pacing, RetryPolicy
from s5sync.outlook.transport import GraphTransport, HttpxTransport

GRAPH_BASE = "https://graph.emu.test/v1.0"
SCOPES = ["Calendars.ReadWrite", "MailboxSettings.ReadWrite", "User.Read"]


@dataclass(frozen=True)
class GraphParts:
    """Handles on the emulator's Graph calendar API that tests turn."""

    emulator: Emulator
    state: GraphState

    def set_latency(self, ms: int) -> None:
        """A fixed delay on every Graph answer (what `POST /_emulator/latency` sets)."""
        self.emulator.latency_ms = ms


def install_graph_api(emulator: Emulator) -> GraphParts:
    """The emulator's Graph calendar API (m365emu.parts), installed if it is not yet."""
    if emulator.graph_state is None:
        install_graph(emulator)
    return GraphParts(emulator, emulator.graph_state)


class EmulatorTokens:
    """Access tokens minted by the emulator's identity platform (no sign-in needed)."""

    def __init__(self, emulator: Emulator, email: str) -> None:
        self.emulator = emulator
        self.email = email
        self.minted = 0
        self._token: str | None = None

    def __repr__(self) -> str:
        return f"EmulatorTokens({self.email!r})"

    def mailbox_key(self) -> str:
        user = self._user()
        return f"{user.tenant_id}/{user.id}"

    def _user(self) -> Any:
        user = self.emulator.directory.user_by_email(self.email)
        if user is None:
            raise LookupError(f"no user {self.email} in the emulator")
        return user

    async def token(self, *, force_refresh: bool = False) -> str:
        if self._token is None or force_refresh:
            user = self._user()
            client = AppRegistration(user.tenant_id, CONTROL_CLIENT_ID, "s5sync tests", None)
            self._token = str(
                self.emulator.identity.test_token(user, SCOPES, client)["access_token"]
            )
            self.minted += 1
        return self._token


def graph_calendar(
    http: httpx.AsyncClient | GraphTransport,
    tokens: Any,
    *,
    counter: RequestCounter | None = None,
    slots: MailboxSlots | None = None,
    policy: RetryPolicy | None = None,
    pacing: Pacing | None = None,
    page_size: int = 100,
) -> GraphCalendar:
    session = GraphSession(
        HttpxTransport(http) if isinstance(http, httpx.AsyncClient) else http,
        tokens,
        counter=counter or RequestCounter(),
        slots=slots or MailboxSlots(),
        policy=policy or RetryPolicy(),
        pacing=pacing or Pacing(),
    )
    return GraphCalendar(session, page_size=page_size)


@asynccontextmanager
async def in_process_client(emulator: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_tls_app(emulator))
    async with httpx.AsyncClient(transport=transport, base_url=GRAPH_BASE) as http:
        yield http


class UserActions:
    """The user, in Outlook: changes the calendar over Graph, outside the adapter's count."""

    def __init__(self, http: httpx.AsyncClient, tokens: Any) -> None:
        self.http = http
        self.tokens = tokens

    async def _call(self, method: str, url: str, body: Any = None) -> httpx.Response:
        token = await self.tokens.token()
        response = await self.http.request(
            method,
            url,
            json=body,
            headers={"Authorization": f"Bearer {token}", "Prefer": 'IdType="ImmutableId"'},
        )
        if response.status_code >= 400:
            raise AssertionError(f"{method} {url}: {response.status_code} {response.text[:300]}")
        return response

    async def creates(self, subject: str, start: datetime, end: datetime, **extra: Any) -> str:
        body = {
            "subject": subject,
            "start": _when(start),
            "end": _when(end),
            "body": {"contentType": "text", "content": extra.pop("body", "")},
            **extra,
        }
        answer = await self._call("POST", "/me/events", body)
        return str(answer.json()["id"])

    async def edits(self, event_id: str, **fields: Any) -> None:
        await self._call("PATCH", f"/me/events/{quote(event_id, safe='')}", fields)

    async def deletes(self, event_id: str) -> None:
        await self._call("DELETE", f"/me/events/{quote(event_id, safe='')}")


def _when(moment: datetime) -> dict[str, str]:
    utc = moment.astimezone(UTC).replace(tzinfo=None)
    return {"dateTime": utc.isoformat(timespec="seconds"), "timeZone": "UTC"}


def expire_delta(parts: GraphParts, mailbox_key: str, kind: str) -> None:
    """Make the mailbox's next delta call fail as `kind` (410 Gone, syncStateNotFound,
    resyncRequired)."""
    parts.state.expire_delta(mailbox_key, DeltaExpiry(kind))
