"""s5sync's Graph client beside Microsoft's msgraph-sdk and bare HTTP clients (issue 25
item 4).

The same two requests, sent by each client in turn to the same emulator process (its
latency set to 0 while measured, so the figures are client CPU, not waiting):

- the idle delta read: GET on a delta link that has nothing new (an idle cycle's one
  request), its JSON parsed into what the client hands its caller, and the next read on
  the delta link it returned, as cycles do;
- a `$batch` creating 5 events (a 5-change cycle's write).

Clients: s5sync (`GraphCalendar.read_window`, `outlook.batch.run_batches` on a
`GraphSession` over the `GraphClients` pools the worker uses — aiohttp since issue 25,
`outlook.transport.AiohttpTransport`); msgraph-sdk
(`GraphServiceClient` over its default middleware, a static bearer token); bare httpx
(one `AsyncClient`, GET/POST + `response.json()`: the floor of httpx); bare aiohttp (one
`ClientSession`, the same). CPU is `time.process_time()` of this process over `rounds`
requests after `warmup`, per request. The emulator (uvicorn) speaks HTTP/1.1 only, so
HTTP/2 is not measured here. msgraph-sdk is a development dependency: where it is
missing its row says so instead of a figure.
"""

from __future__ import annotations

import json
import ssl
import time
import warnings
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx

from s5sync.outlook.batch import SubRequest, run_batches
from s5sync.outlook.clients import GraphClients
from s5sync.outlook.graph import GraphCalendar
from s5sync.outlook.metering import RequestCounter
from s5sync.outlook.session import GraphSession

Step = Callable[[], Awaitable[object]]


class _Token:
    def __init__(self, token: str) -> None:
        self._token = token

    async def token(self, *, force_refresh: bool = False) -> str:
        return self._token


def _event(serial: int, day: datetime) -> dict[str, Any]:
    start = day + timedelta(minutes=serial % 600)
    return {
        "subject": f"Peer {serial}",
        "body": {"contentType": "html", "content": "<p>Delivery</p>"},
        "start": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
        "end": {
            "dateTime": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S"),
            "timeZone": "UTC",
        },
        "categories": ["Received From System5"],
    }


async def _cpu_per_call(step: Step, rounds: int, warmup: int) -> float:
    for _ in range(warmup):
        await step()
    start = time.process_time()
    for _ in range(rounds):
        await step()
    return round(1000 * (time.process_time() - start) / rounds, 3)


class Peers:
    """Each client's two steps against the emulator at `graph_url` (…/v1.0)."""

    def __init__(self, graph_url: str, verify: ssl.SSLContext, reader: str, writer: str):
        self.graph_url = graph_url.rstrip("/")
        self.verify = verify
        self.reader, self.writer = reader, writer  # access tokens of two mailboxes
        self.serial = 0
        self.day = datetime.now(UTC).replace(hour=8, minute=0, second=0) + timedelta(days=3)
        self.delta_link = ""

    async def baseline(self) -> None:
        """A fresh delta round of the reader's window (not measured): each client's reads
        start on a chain of their own (the emulator keeps a mailbox's newest 100 sync
        states, so `rounds` + warm-up stays under 100 per client)."""
        clients = GraphClients(self.graph_url, self.verify, timeout=60.0)
        try:
            session = GraphSession(
                clients.for_user(1), _Token(self.reader), counter=RequestCounter()
            )
            now = datetime.now(UTC)
            first = await GraphCalendar(session).read_window(
                None, now - timedelta(days=1), now + timedelta(days=14)
            )
            self.delta_link = first.delta_link
        finally:
            await clients.aclose()

    def _five(self) -> list[dict[str, Any]]:
        out = []
        for _ in range(5):
            self.serial += 1
            out.append(_event(self.serial, self.day))
        return out

    async def s5sync(self) -> tuple[Step, Step, Callable[[], Awaitable[None]]]:
        clients = GraphClients(self.graph_url, self.verify, timeout=60.0)
        read = GraphCalendar(
            GraphSession(clients.for_user(1), _Token(self.reader), counter=RequestCounter())
        )
        write = GraphSession(clients.for_user(2), _Token(self.writer), counter=RequestCounter())
        now = datetime.now(UTC)
        first = await read.read_window(None, now - timedelta(days=1), now + timedelta(days=14))
        self.delta_link = first.delta_link

        async def idle() -> object:
            return await read.read_window(self.delta_link, first.window_start, first.window_end)

        async def batch() -> object:
            return await run_batches(
                write, [SubRequest("POST", "/me/events", e) for e in self._five()]
            )

        return idle, batch, clients.aclose

    async def httpx_bare(self) -> tuple[Step, Step, Callable[[], Awaitable[None]]]:
        http = httpx.AsyncClient(verify=self.verify, timeout=60.0)
        reader = {"Authorization": f"Bearer {self.reader}", "Prefer": "odata.maxpagesize=100"}
        writer = {"Authorization": f"Bearer {self.writer}"}

        async def idle() -> object:
            got = (await http.get(self.delta_link, headers=reader)).json()
            self.delta_link = got["@odata.deltaLink"]
            return got

        async def batch() -> object:
            body = {"requests": self._batch_items()}
            url = f"{self.graph_url}/$batch"
            return (await http.post(url, json=body, headers=writer)).json()

        return idle, batch, http.aclose

    async def aiohttp_bare(self) -> tuple[Step, Step, Callable[[], Awaitable[None]]]:
        import aiohttp

        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=self.verify))
        reader = {"Authorization": f"Bearer {self.reader}", "Prefer": "odata.maxpagesize=100"}
        writer = {"Authorization": f"Bearer {self.writer}", "Content-Type": "application/json"}

        async def idle() -> object:
            async with session.get(self.delta_link, headers=reader) as answer:
                got = await answer.json()
            self.delta_link = got["@odata.deltaLink"]
            return got

        async def batch() -> object:
            data = json.dumps({"requests": self._batch_items()})
            url = f"{self.graph_url}/$batch"
            async with session.post(url, data=data, headers=writer) as answer:
                return await answer.json()

        return idle, batch, session.close

    def _batch_items(self) -> list[dict[str, Any]]:
        return [
            {
                "id": str(i + 1),
                "method": "POST",
                "url": "/me/events",
                "headers": {"Content-Type": "application/json"},
                "body": event,
            }
            for i, event in enumerate(self._five())
        ]

    async def msgraph_sdk(self) -> tuple[Step, Step, Callable[[], Awaitable[None]]]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            from msgraph.generated.models.body_type import BodyType
            from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
            from msgraph.generated.models.event import Event
            from msgraph.generated.models.item_body import ItemBody
            from msgraph_core.requests.batch_request_content import BatchRequestContent
            from msgraph_core.requests.batch_request_item import BatchRequestItem

        def client(token: str) -> Any:
            return _sdk_client(self.graph_url, self.verify, token)

        reader, read_http = client(self.reader)
        writer, write_http = client(self.writer)

        def event(body: dict[str, Any]) -> Any:
            return Event(
                subject=body["subject"],
                body=ItemBody(content_type=BodyType.Html, content=body["body"]["content"]),
                start=DateTimeTimeZone(date_time=body["start"]["dateTime"], time_zone="UTC"),
                end=DateTimeTimeZone(date_time=body["end"]["dateTime"], time_zone="UTC"),
                categories=body["categories"],
            )

        async def idle() -> object:
            got = await reader.me.calendar_view.delta.with_url(self.delta_link).get()
            self.delta_link = got.odata_delta_link
            return got

        async def batch() -> object:
            items = [
                BatchRequestItem(writer.me.events.to_post_request_information(event(body)))
                for body in self._five()
            ]
            content = BatchRequestContent({item.id: item for item in items})
            return await writer.batch.post(batch_request_content=content)

        async def close() -> None:
            await read_http.aclose()
            await write_http.aclose()

        return idle, batch, close


def _sdk_client(graph_url: str, verify: ssl.SSLContext, token: str) -> tuple[Any, Any]:
    """msgraph-sdk's client on `graph_url` with a static bearer token, and its HTTP client
    (closed by the caller). The SDK is imported here only: the bench alone loads it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from kiota_abstractions.authentication import (
            AccessTokenProvider,
            AllowedHostsValidator,
        )
        from kiota_abstractions.authentication.base_bearer_token_authentication_provider import (
            BaseBearerTokenAuthenticationProvider,
        )
        from msgraph.graph_request_adapter import GraphRequestAdapter
        from msgraph.graph_request_adapter import options as sdk_options
        from msgraph.graph_service_client import GraphServiceClient
        from msgraph_core import GraphClientFactory

    host = urlsplit(graph_url).hostname or ""

    class Static(AccessTokenProvider):
        def __init__(self, token: str) -> None:
            self.token = token

        async def get_authorization_token(
            self, uri: str, additional_authentication_context: dict[str, Any] | None = None
        ) -> str:
            return self.token

        def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
            return AllowedHostsValidator([host])

    http = GraphClientFactory.create_with_default_middleware(
        client=httpx.AsyncClient(verify=verify, timeout=60.0), options=sdk_options
    )
    adapter = GraphRequestAdapter(BaseBearerTokenAuthenticationProvider(Static(token)), http)
    adapter.base_url = graph_url
    return GraphServiceClient(request_adapter=adapter), http


async def measure_peers(
    graph_url: str,
    verify: ssl.SSLContext,
    reader: str,
    writer: str,
    *,
    rounds: int,
    batch_rounds: int,
    warmup: int = 10,
) -> dict[str, Any]:
    """CPU per request of each client for the idle delta read and the 5-event `$batch`,
    and s5sync's ratio to each (below 1: s5sync is cheaper)."""
    peers = Peers(graph_url, verify, reader, writer)
    figures: dict[str, Any] = {"rounds": rounds, "batch_rounds": batch_rounds}
    makers = {
        "s5sync": peers.s5sync,
        "msgraph_sdk": peers.msgraph_sdk,
        "httpx": peers.httpx_bare,
        "aiohttp": peers.aiohttp_bare,
    }
    for name, make in makers.items():
        try:
            idle, batch, close = await make()
            await peers.baseline()
        except ImportError as missing:
            figures[name] = {"missing": str(missing)}
            continue
        try:
            figures[name] = {
                "cpu_ms_idle_delta_read": await _cpu_per_call(idle, rounds, warmup),
                "cpu_ms_batch_of_5_creates": await _cpu_per_call(batch, batch_rounds, 3),
            }
        finally:
            await close()
    mine = figures["s5sync"]
    for name in ("msgraph_sdk", "httpx", "aiohttp"):
        other = figures[name]
        if "missing" in other:
            continue
        for what in ("cpu_ms_idle_delta_read", "cpu_ms_batch_of_5_creates"):
            other[f"s5sync_to_this_{what[7:]}"] = round(mine[what] / max(other[what], 1e-9), 2)
    return figures


async def measure_on(emulator: Any, tenant: str, *, quick: bool) -> dict[str, Any]:
    """`measure_peers` on two mailboxes of their own in the bench's emulator process, its
    latency at 0 while they run (put back by the caller)."""
    import asyncio

    emails = ["peer-reader@bench.example", "peer-writer@bench.example"]
    tokens = await asyncio.to_thread(emulator.add_mailboxes, tenant, emails)
    emulator.call("POST", "latency", {"ms": 0})
    verify = ssl.create_default_context(cafile=emulator.urls["ca"])
    return await measure_peers(
        emulator.urls["graph"],
        verify,
        tokens[emails[0]],
        tokens[emails[1]],
        rounds=30 if quick else 85,
        batch_rounds=10 if quick else 40,
    )
