"""Graph's HTTP clients: users spread over a few pools (issue 12), each user always on
the same one, with the process's limits shared between them."""

from __future__ import annotations

from collections import Counter

from s5sync.outlook.clients import GraphClients
from s5sync.outlook.transport import AiohttpTransport


async def test_each_user_stays_on_one_pool_and_users_spread_over_all_of_them() -> None:
    clients = GraphClients("https://graph.example/v1.0/", shards=8, connections=200)
    try:
        assert all(clients.for_user(u) is clients.for_user(u) for u in range(100))
        spread = Counter(id(clients.for_user(u)) for u in range(800))
        assert len(spread) == 8
        assert set(spread.values()) == {100}
        first = clients.for_user(1)
        assert isinstance(first, AiohttpTransport)
        assert first.base_url == "https://graph.example/v1.0"
        assert first.origin == ("https", "graph.example")
        pools = [c._client() for c in clients.clients if isinstance(c, AiohttpTransport)]
        assert len(pools) == 8
        assert {p.connector.limit for p in pools if p.connector} == {25}  # 200 over 8 pools
    finally:
        await clients.aclose()
    assert all(c.closed for c in clients.clients if isinstance(c, AiohttpTransport))
    assert all(p.closed for p in pools)
