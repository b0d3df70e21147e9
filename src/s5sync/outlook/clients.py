"""The process's HTTP clients for Microsoft Graph: a few pools, each user on one.

httpcore hands a request to a connection by walking its pool, and for every idle
connection asks whether its socket became readable (a server that hung up) — through
anyio's TLS stream, which builds its attribute map on each ask. So a request costs CPU
in proportion to the connections pooled: with 48 cycles in flight, ~1 ms of an idle
cycle's ~6.5 ms on this machine (issue 12, docs/performance.md). Users are spread over
`SHARDS` smaller pools by user id, which keeps each walk short; a mailbox's requests
still share one pool, and the limits are the same in total.
"""

from __future__ import annotations

import ssl

import httpx

SHARDS = 8
CONNECTIONS = 200  # in total, over the shards
TIMEOUT = 30.0


class GraphClients:
    """`SHARDS` pooled `httpx.AsyncClient`s on one base URL; `for_user` picks one."""

    def __init__(
        self,
        base_url: str,
        verify: ssl.SSLContext | bool = True,
        *,
        shards: int = SHARDS,
        connections: int = CONNECTIONS,
        timeout: float = TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """`transport`: one transport for every shard instead of their own pools (tests
        that rewrite Graph's answers)."""
        per_shard = max(1, connections // shards)
        self.clients = [
            httpx.AsyncClient(
                base_url=base_url.rstrip("/"),
                verify=verify,
                timeout=httpx.Timeout(timeout),
                limits=httpx.Limits(max_connections=per_shard, max_keepalive_connections=per_shard),
                trust_env=False,
                transport=transport,
            )
            for _ in range(shards)
        ]

    def for_user(self, user_id: int) -> httpx.AsyncClient:
        return self.clients[user_id % len(self.clients)]

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()
