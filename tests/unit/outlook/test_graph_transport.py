"""Production's Graph transport (aiohttp) against a plain socket server on loopback: links
are sent as Graph gave them, failures without an answer become `TransportFailed` (so the
session retries them as before, R17b), and a pool reached from another event loop works
there too."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from s5sync.outlook.metering import RequestCounter
from s5sync.outlook.session import GraphSession, Pacing
from s5sync.outlook.transport import AiohttpTransport, TransportFailed

OK = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}'

Behaviour = Callable[[int, bytes], bytes | None]  # (connection number, head) -> reply


class Tokens:
    async def token(self, *, force_refresh: bool = False) -> str:
        return "t"


@asynccontextmanager
async def server(behaviour: Behaviour) -> AsyncIterator[tuple[str, list[bytes]]]:
    """An HTTP/1.1 server answering each request with `behaviour`'s bytes (None: hang up)."""
    heads: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                heads.append(head)
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                await reader.readexactly(length)
                reply = behaviour(len(heads), head)
                if reply is None:
                    break
                writer.write(reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    listening = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/v1.0", heads
    finally:
        listening.close()
        await listening.wait_closed()


async def test_relative_urls_join_the_base_and_links_go_out_exactly_as_graph_gave_them() -> None:
    async with server(lambda n, head: OK) as (base, heads):
        transport = AiohttpTransport(base, connections=2)
        try:
            first = await transport.send("GET", "/me/events?$top=1", None, {"A": "1"})
            link = base + "/me/calendarView/delta?$deltatoken=a%2Fb%3D%3D&x=%27y%27"
            await transport.send("GET", link, None, {})
            await transport.send("POST", "/$batch", b'{"requests":[]}', {})
        finally:
            await transport.aclose()
    assert first.status == 200
    assert first.headers["content-type"] == "application/json"  # any case
    assert first.headers["Content-Type"] == "application/json"
    assert first.payload == b'{"ok":true}'
    lines = [h.split(b"\r\n")[0] for h in heads]
    assert lines == [
        b"GET /v1.0/me/events?$top=1 HTTP/1.1",
        b"GET /v1.0/me/calendarView/delta?$deltatoken=a%2Fb%3D%3D&x=%27y%27 HTTP/1.1",
        b"POST /v1.0/$batch HTTP/1.1",
    ]
    assert b"\r\na: 1" in heads[0].lower()
    assert transport.closed


async def test_a_connection_dropped_before_the_answer_is_a_transport_failure() -> None:
    async with server(lambda n, head: None) as (base, _):
        transport = AiohttpTransport(base)
        try:
            with pytest.raises(TransportFailed) as failed:
                await transport.send("GET", "/me", None, {})
        finally:
            await transport.aclose()
    assert failed.value.reason == "error"


async def test_a_refused_connection_is_a_transport_failure() -> None:
    async with server(lambda n, head: OK) as (base, _):
        pass  # closed again: nothing listens on its port now
    transport = AiohttpTransport(base)
    try:
        with pytest.raises(TransportFailed) as failed:
            await transport.send("GET", "/me", None, {})
    finally:
        await transport.aclose()
    assert failed.value.reason == "error"


async def test_the_session_retries_a_dropped_connection_and_says_it_may_have_been_applied() -> None:
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async with server(lambda n, head: None if n == 1 else OK) as (base, heads):
        transport = AiohttpTransport(base)
        counter = RequestCounter()
        session = GraphSession(
            transport, Tokens(), counter=counter, pacing=Pacing(sleep=sleep, random=lambda: 0)
        )
        try:
            answer = await session.request("POST", "/me/events", body={"subject": "x"})
        finally:
            await transport.aclose()
    assert (answer.status, answer.body, answer.attempts, answer.uncertain) == (
        200,
        {"ok": True},
        2,
        True,
    )
    assert counter.by_key == {("POST", "events", "error"): 1, ("POST", "events", "200"): 1}
    assert sleeps == [0.25]
    assert all(b"authorization: bearer t" in h.lower() for h in heads)
    assert all(b"content-type: application/json" in h.lower() for h in heads)


def test_a_pool_reached_from_another_event_loop_opens_a_session_there() -> None:
    async def once(transport: AiohttpTransport | None) -> AiohttpTransport:
        async with server(lambda n, head: OK) as (base, _):
            transport = transport or AiohttpTransport(base)
            transport.base_url = base  # the second loop's server has a port of its own
            reply = await transport.send("GET", "/me", None, {})
            assert reply.status == 200
        return transport

    transport = asyncio.run(once(None))
    try:
        asyncio.run(once(transport))
    finally:
        asyncio.run(transport.aclose())


@pytest.mark.parametrize(
    ("link", "ours"),
    [
        ("/me/events", True),
        ("me/events", True),
        ("https://graph.example/v1.0/me/calendarView/delta?$deltatoken=x", True),
        ("https://graph.example?x=1", True),
        ("https://graph.example@evil.example/v1.0/me", False),
        ("https://graph.example.evil.example/v1.0/me", False),
        ("https://graph.example:8443/v1.0/me", False),
        ("http://graph.example/v1.0/me", False),
        ("https://evil.example/https://graph.example/v1.0/me", False),
    ],
)
def test_only_links_to_the_configured_graph_origin_get_the_token_R22(link: str, ours: bool) -> None:
    session = GraphSession(AiohttpTransport("https://graph.example/v1.0/"), Tokens())
    assert session.same_origin(link) is ours
