"""Access tokens kept in the process between a user's cycles (issue 12; R19b, R22): the
cycles after the first skip the sealed cache and MSAL until shortly before the token
expires; a forced refresh (Graph's 401) and a sign-in that stopped working go to MSAL."""

from __future__ import annotations

import pytest

from s5sync.outlook.errors import NeedsSignIn
from s5sync.outlook.identity import Acquired
from s5sync.outlook.tokens import AccessTokens, UserTokens


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Source:
    """MSAL as the tokens see it: counts calls; `refused` makes it answer NeedsSignIn."""

    def __init__(self) -> None:
        self.calls: list[bool] = []
        self.refused = False

    async def acquire(
        self, token_cache: str | None, *, object_id: str | None = None, force_refresh: bool = False
    ) -> Acquired:
        self.calls.append(force_refresh)
        if self.refused:
            raise NeedsSignIn("invalid_grant")
        return Acquired(f"at-{object_id}-{len(self.calls)}", 3600.0, None)


class Stored:
    def __init__(self) -> None:
        self.loads = 0

    async def load(self) -> str | None:
        self.loads += 1
        return "{}"

    async def save(self, serialized: str) -> None:
        raise AssertionError("MSAL did not change the cache")


def tokens_of(
    user_id: int, source: Source, stored: Stored, held: AccessTokens, clock: Clock
) -> UserTokens:
    return UserTokens(
        source, stored, object_id=f"oid-{user_id}", monotonic=clock, held=held, user_id=user_id
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def test_the_next_cycles_use_the_held_token_without_the_cache_or_msal(clock: Clock) -> None:
    source, stored, held = Source(), Stored(), AccessTokens(monotonic=clock)
    first = await tokens_of(1, source, stored, held, clock).token()
    clock.now += 600  # the next cycle, ten minutes on
    second = await tokens_of(1, source, stored, held, clock).token()
    assert second == first == "at-oid-1-1"
    assert (stored.loads, source.calls) == (1, [False])
    other = await tokens_of(2, source, stored, held, clock).token()
    assert other == "at-oid-2-2"  # another user's token is their own
    assert len(held) == 2


async def test_shortly_before_it_expires_the_token_comes_from_msal_again(clock: Clock) -> None:
    source, stored, held = Source(), Stored(), AccessTokens(monotonic=clock)
    await tokens_of(1, source, stored, held, clock).token()
    clock.now += 3600 - 120  # the margin before expiry
    assert held.get(1) is None
    assert len(held) == 0  # an expired token is dropped, not kept
    assert await tokens_of(1, source, stored, held, clock).token() == "at-oid-1-2"
    assert stored.loads == 2


async def test_a_forced_refresh_bypasses_the_held_token_and_replaces_it(clock: Clock) -> None:
    source, stored, held = Source(), Stored(), AccessTokens(monotonic=clock)
    await tokens_of(1, source, stored, held, clock).token()
    refreshed = await tokens_of(1, source, stored, held, clock).token(force_refresh=True)
    assert refreshed == "at-oid-1-2"
    assert source.calls == [False, True]
    assert await tokens_of(1, source, stored, held, clock).token() == refreshed
    assert len(source.calls) == 2


async def test_a_sign_in_that_stopped_working_drops_the_held_token_R19b(clock: Clock) -> None:
    source, stored, held = Source(), Stored(), AccessTokens(monotonic=clock)
    await tokens_of(1, source, stored, held, clock).token()
    source.refused = True
    with pytest.raises(NeedsSignIn):  # Graph said 401: the refresh is refused
        await tokens_of(1, source, stored, held, clock).token(force_refresh=True)
    assert held.get(1) is None
    with pytest.raises(NeedsSignIn):  # and the next cycle asks MSAL, not the memory
        await tokens_of(1, source, stored, held, clock).token()


def test_the_least_recently_used_user_goes_first_past_the_limit(clock: Clock) -> None:
    held = AccessTokens(limit=2, monotonic=clock)
    held.put(1, "one", 2000.0)
    held.put(2, "two", 2000.0)
    assert held.get(1) == ("one", 2000.0)  # 1 used: 2 is now the least recent
    held.put(3, "three", 2000.0)
    assert held.get(2) is None
    assert held.get(1) is not None
    assert held.get(3) is not None
    assert "one" not in repr(held)
    assert "three" not in repr(held)
