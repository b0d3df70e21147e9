"""The process's HTTP pools for Microsoft Graph (`GraphClients`), each user on one.

Each pool is an `AiohttpTransport` (transport.py; aiohttp chosen by measurement, issue
25). The pools were split for httpcore, which walked every idle connection of its pool
on each request (issue 12); aiohttp takes the next idle connection of a host in O(1), so
one pool is the default now: a connection is reused whenever any user's request comes
within the keep-alive time, where 8 pools each needed their own traffic to keep theirs —
a new TLS connection costs ≈ 2 ms of client CPU more than a kept one (measured against
the emulator), more than the whole idle cycle's request. `shards` still splits them.
"""

from __future__ import annotations

import ssl

from s5sync.outlook.transport import AiohttpTransport, GraphTransport

SHARDS = 1
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
