"""The process's HTTP pools for Microsoft Graph: a few pools, each user on one.

Each pool is an `AiohttpTransport` (transport.py; aiohttp chosen by measurement, issue
25). The pools were first split for httpcore, which walks every idle connection of its
pool on each request (issue 12); aiohttp does not, but the shards are kept: a mailbox's
requests still share one pool, a pool's connection limit is a fair share of the
process's, and the limits are the same in total.
"""

from __future__ import annotations

import ssl

from s5sync.outlook.transport import AiohttpTransport, GraphTransport

SHARDS = 8
CONNECTIONS = 200  # in total, over the shards
TIMEOUT = 30.0


class GraphClients:
    """`SHARDS` pooled transports on one base URL; `for_user` picks one."""

    def __init__(
        self,
        base_url: str,
        verify: ssl.SSLContext | bool = True,
        *,
        shards: int = SHARDS,
        connections: int = CONNECTIONS,
        timeout: float = TIMEOUT,
        transport: GraphTransport | None = None,
    ) -> None:
        """`transport`: one transport for every shard instead of their own pools (tests
        that rewrite Graph's answers)."""
        per_shard = max(1, connections // shards)
        self.clients: list[GraphTransport] = [
            transport or AiohttpTransport(base_url, verify, connections=per_shard, timeout=timeout)
            for _ in range(shards)
        ]

    def for_user(self, user_id: int) -> GraphTransport:
        return self.clients[user_id % len(self.clients)]

    async def aclose(self) -> None:
        for client in dict.fromkeys(self.clients):
            await client.aclose()
