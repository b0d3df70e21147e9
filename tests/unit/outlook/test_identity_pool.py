"""Token refreshes of different users run in parallel (issue 12, R19b): one user's
refresh waiting on the identity platform never holds up another's, and each user's
cache stays their own. The authority is a recorded fake HTTP client whose refresh
answers wait at a barrier until two are in flight at once — a process-wide lock around
MSAL would break the barrier instead."""

from __future__ import annotations

import asyncio
import threading
from typing import Any
from urllib.parse import parse_qs, urlsplit

from s5sync.outlook.identity import IdentityConfig, MsalIdentity, SignedIn
from support.recorded_authority import AUTHORITY, Answer, discovery, tokens


class Authority:
    """Discovery, code redemption and refresh; refreshes meet at `barrier`."""

    def __init__(self, parties: int) -> None:
        self.barrier = threading.Barrier(parties, timeout=10)
        self.nonce = ""
        self.refreshed: list[str] = []
        self.refreshes = 0
        self.discoveries = 0

    def get(self, url: str, params: Any = None, headers: Any = None, **_: Any) -> Answer:
        self.discoveries += 1
        return discovery()

    def post(
        self, url: str, params: Any = None, data: Any = None, headers: Any = None, **_: Any
    ) -> Answer:
        sent = dict(data or {})
        if sent.get("grant_type") == "refresh_token":
            who = str(sent["refresh_token"]).removeprefix("rt-")
            self.refreshes += 1
            self.barrier.wait()  # both users' refreshes are in flight together
            self.refreshed.append(who)
            return tokens(who, self.nonce, f"at-{who}-{self.refreshes}")
        who = str(sent["code"]).removeprefix("code-")
        return tokens(who, self.nonce, f"at-{who}-0")


async def sign_in(identity: MsalIdentity, authority: Authority, who: str) -> SignedIn:
    flow = await identity.begin_sign_in("http://127.0.0.1:8000/auth/callback")
    query = parse_qs(urlsplit(flow["auth_uri"]).query)
    authority.nonce = query["nonce"][0]
    return await identity.complete_sign_in(
        flow, {"code": f"code-{who}", "state": query["state"][0]}
    )


async def test_two_users_refresh_at_once_each_with_their_own_cache_R19b() -> None:
    authority = Authority(parties=2)
    identity = MsalIdentity(IdentityConfig("client-1", "secret", AUTHORITY), http_client=authority)
    alice, bob = (
        await sign_in(identity, authority, "alice"),
        await sign_in(identity, authority, "bob"),
    )
    assert identity.built == 1  # sequential calls share one application

    got_alice, got_bob = await asyncio.gather(
        identity.acquire(alice.token_cache, object_id="oid-alice", force_refresh=True),
        identity.acquire(bob.token_cache, object_id="oid-bob", force_refresh=True),
    )

    assert sorted(authority.refreshed) == ["alice", "bob"]
    assert got_alice.access_token.startswith("at-alice-")
    assert got_bob.access_token.startswith("at-bob-")
    for got, mine, theirs in ((got_alice, "alice", "bob"), (got_bob, "bob", "alice")):
        assert got.token_cache is not None
        assert f"oid-{mine}" in got.token_cache
        assert f"oid-{theirs}" not in got.token_cache  # no cache bleeds into another's
    assert identity.built == 2  # the pool grew to the calls that ran at once, no more
    assert authority.discoveries == 1  # the second application found it in its copy

    authority.barrier = threading.Barrier(1)
    again = await identity.acquire(got_alice.token_cache, object_id="oid-alice")
    assert again.access_token == got_alice.access_token  # cached: no refresh, no new app
    assert again.token_cache is None
    assert identity.built == 2
    identity.close()
