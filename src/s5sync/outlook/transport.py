"""The one seam between `GraphSession` and an HTTP library (STYLE.md habit 7).

`GraphTransport` sends one request and hands back the raw answer (`Reply`), or raises
`TransportFailed` (the connection failed, dropped or timed out: maybe applied) — nothing
of the library leaks past it, so retries, timeouts, throttling and error mapping stay
in `session.py`, the same whichever transport runs under them.

- `AiohttpTransport` is production's (`clients.GraphClients` pools them): one
  `aiohttp.ClientSession` per pool, built on first use inside the running event loop
  (aiohttp binds a session to its loop; a pool reached from another loop — a test's
  portal — starts a session of its own there). aiohttp was chosen by measurement: the
  same idle delta read costs about half of httpx's client CPU (issue 25,
  docs/performance.md "Issue 25" section 4).
- `HttpxTransport` wraps an `httpx.AsyncClient`: tests mount the emulator in process
  through `httpx.ASGITransport` (or rewrite answers with a transport of their own), which
  aiohttp has no equivalent of — its test utilities serve a real socket, not an ASGI app.

Links are sent exactly as Graph gave them (no re-quoting: delta links carry encoded
state tokens); a relative URL (`/me/events`) is appended to the base URL (…/v1.0).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import aiohttp
import httpx
from yarl import URL

from s5sync.logs import hold_at_warning

# httpx logs every URL at INFO, and delta and next links carry sync-state tokens (R22):
# these loggers stay at WARNING whatever the process's level.
HTTP_LOGGERS = ("httpx", "httpcore", "aiohttp")
# How long an idle connection is kept for the next request (aiohttp's default is 15 s):
# a new TLS connection costs ≈ 2 ms of client CPU, and with push sync a worker's requests
# come seconds apart. Below the idle time after which servers commonly drop a keep-alive
# connection; one dropped meanwhile is seen closed and skipped, or fails as
# `TransportFailed` and is retried (R17b).
KEEPALIVE_SECONDS = 50.0


def keep_http_logs_quiet() -> None:
    hold_at_warning(HTTP_LOGGERS)


class TransportFailed(Exception):
    """No answer: the connection failed, dropped or timed out (`reason` "timeout" or
    "error"). The request may have been applied (R16)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Reply:
    """One HTTP answer as it came: `headers` is case-insensitive."""

    status: int
    headers: Mapping[str, str]
    payload: bytes


class GraphTransport(Protocol):
    """Sends one request to Graph (`url` relative to `base_url`, or absolute)."""

    @property
    def origin(self) -> tuple[str, str]:
        """(scheme, host[:port]) of the base URL: the only origin that gets a token."""
        ...

    async def send(
        self, method: str, url: str, content: bytes | None, headers: Mapping[str, str]
    ) -> Reply: ...

    async def aclose(self) -> None: ...


def _origin(base_url: str) -> tuple[str, str]:
    parts = urlsplit(base_url)
    return parts.scheme, parts.netloc


class AiohttpTransport:
    """A pool of up to `connections` keep-alive connections to one Graph base URL."""

    def __init__(
        self,
        base_url: str,
        verify: ssl.SSLContext | bool = True,
        *,
        connections: int = 25,
        timeout: float = 30.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._origin = _origin(self.base_url)
        self.verify = verify
        self.connections = connections
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        keep_http_logs_quiet()

    @property
    def origin(self) -> tuple[str, str]:
        return self._origin

    @property
    def closed(self) -> bool:
        return self._session is None or self._session.closed

    def _client(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._loop is not loop or self._session.closed:
            self._abandon()
            connector = aiohttp.TCPConnector(
                limit=self.connections,
                limit_per_host=0,
                ssl=self.verify,
                ttl_dns_cache=300,
                keepalive_timeout=KEEPALIVE_SECONDS,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                # session.py applies each request's own timeout; this is the backstop.
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                trust_env=False,  # no proxy or .netrc from the environment (as httpx's)
                cookie_jar=aiohttp.DummyCookieJar(),  # pools are shared between users
            )
            self._loop = loop
        return self._session

    async def send(
        self, method: str, url: str, content: bytes | None, headers: Mapping[str, str]
    ) -> Reply:
        target = URL(url if url[:1] != "/" else self.base_url + url, encoded=True)
        try:
            async with self._client().request(
                method, target, data=content, headers=headers, allow_redirects=False
            ) as response:
                payload = await response.read()
        except TimeoutError:  # aiohttp's ServerTimeoutError is one too
            raise TransportFailed("timeout") from None
        except aiohttp.ClientError:
            raise TransportFailed("error") from None
        return Reply(response.status, response.headers, payload)

    def _abandon(self) -> None:
        """Drop a session of another (maybe closed) event loop: its sockets are closed
        without a goodbye, as that loop can no longer run one."""
        old, self._session = self._session, None
        if old is not None and not old.closed:
            connector = old.connector
            old.detach()
            if connector is not None:
                connector._close()  # the sync half of `close`: no task on a foreign loop

    async def aclose(self) -> None:
        if self._session is not None and self._loop is asyncio.get_running_loop():
            await self._session.close()
        self._abandon()


class HttpxTransport:
    """An `httpx.AsyncClient` (with its `base_url`) as a Graph transport, for tests."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        base = client.base_url
        self._origin = (base.scheme, base.netloc.decode())
        keep_http_logs_quiet()

    @property
    def origin(self) -> tuple[str, str]:
        return self._origin

    async def send(
        self, method: str, url: str, content: bytes | None, headers: Mapping[str, str]
    ) -> Reply:
        try:
            response = await self.client.request(method, url, content=content, headers=headers)
            payload = await response.aread()
        except httpx.TimeoutException:
            raise TransportFailed("timeout") from None
        except httpx.TransportError:
            raise TransportFailed("error") from None
        return Reply(response.status_code, response.headers, payload)

    async def aclose(self) -> None:
        await self.client.aclose()
