"""A user's Graph access tokens for one cycle (R19b, R22).

`UserTokens` is the token provider the Graph session calls. It loads the user's
encrypted MSAL cache once, asks the process's `MsalIdentity` for a token (in a worker
thread), keeps the access token until shortly before it expires, and writes the cache
back only when MSAL changed it. `NeedsSignIn` from the identity stops this user only.

`StoredTokenCache` keeps the cache in the CALENDAREVENT store, encrypted with the
store's MultiFernet keys (`store.token_caches.TokenCacheRows`: one Core statement each
way), each access in its own short transaction — never one held across a network call.

`AccessTokens` keeps each user's current access token in the process's memory between
cycles (never stored, never logged), so that the cycles of the token's lifetime after
the first skip loading the sealed cache and asking MSAL (issue 12: that path cost more
CPU than the rest of an idle cycle). A forced refresh (Graph answered 401) bypasses it;
`NeedsSignIn` drops the user's entry. It holds at most `limit` users, least recently
used first out.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from s5sync.outlook.errors import NeedsSignIn
from s5sync.outlook.identity import Acquired
from s5sync.store.scope import TenantScope
from s5sync.store.secrets import SecretUnreadable
from s5sync.store.token_caches import TokenCacheRows


class TokenCacheStore(Protocol):
    """Where one user's serialized MSAL cache lives (encrypted at rest)."""

    async def load(self) -> str | None: ...

    async def save(self, serialized: str) -> None: ...


class TokenSource(Protocol):
    """What `UserTokens` needs of `MsalIdentity`."""

    async def acquire(
        self, token_cache: str | None, *, object_id: str | None = None, force_refresh: bool = False
    ) -> Acquired: ...


class StoredTokenCache:
    """The user's MSAL cache in the store, sealed with `SecretBox` (R22)."""

    def __init__(self, scope: TenantScope, user_id: int) -> None:
        self.rows = TokenCacheRows(scope.db, scope.box, scope.tenant_id)
        self.user_id = user_id

    async def load(self) -> str | None:
        try:
            return await self.rows.load(self.user_id)
        except SecretUnreadable:
            # R19b: a key removed from S5SYNC_SECRET_KEYS loses only this sign-in.
            raise NeedsSignIn(
                "the stored sign-in cannot be decrypted with the configured keys"
            ) from None

    async def save(self, serialized: str) -> None:
        await self.rows.save(self.user_id, serialized)


# Entra's access tokens are 1.5–2.5 KB: at most ~50 MB held, within the worker's 300 MB.
LIMIT = 20_000


class AccessTokens:
    """Users' access tokens held in this process until shortly before they expire."""

    def __init__(self, limit: int = LIMIT, monotonic: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.monotonic = monotonic
        self._held: OrderedDict[int, tuple[str, float]] = OrderedDict()

    def __repr__(self) -> str:  # R22: never the tokens
        return f"AccessTokens(users={len(self._held)})"

    def __len__(self) -> int:
        return len(self._held)

    def get(self, user_id: int) -> tuple[str, float] | None:
        """The user's token and until when (monotonic) it is good, if still good."""
        held = self._held.get(user_id)
        if held is None:
            return None
        if self.monotonic() >= held[1]:
            del self._held[user_id]  # expired: never kept past its use
            return None
        self._held.move_to_end(user_id)
        return held

    def put(self, user_id: int, token: str, good_until: float) -> None:
        self._held[user_id] = (token, good_until)
        self._held.move_to_end(user_id)
        while len(self._held) > self.limit:
            self._held.popitem(last=False)

    def forget(self, user_id: int) -> None:
        self._held.pop(user_id, None)


class UserTokens:
    """The access-token provider of one user's Graph session."""

    def __init__(
        self,
        identity: TokenSource,
        cache: TokenCacheStore,
        *,
        object_id: str | None = None,
        margin: float = 120.0,
        monotonic: Callable[[], float] = time.monotonic,
        held: AccessTokens | None = None,
        user_id: int = 0,
    ) -> None:
        """`held` and `user_id`: keep the access token in the process between cycles."""
        self.identity = identity
        self.cache = cache
        self.object_id = object_id
        self.margin = margin
        self.monotonic = monotonic
        self.held = held
        self.user_id = user_id
        self._lock = asyncio.Lock()
        self._loaded = False
        self._cache_text: str | None = None
        self._token: str | None = None
        self._good_until = 0.0

    def __repr__(self) -> str:  # R22: the token never shows in a traceback or log
        return f"UserTokens(object_id={self.object_id!r})"

    async def token(self, *, force_refresh: bool = False) -> str:
        async with self._lock:
            if not force_refresh and self._token and self.monotonic() < self._good_until:
                return self._token
            if not force_refresh and self.held is not None:
                kept = self.held.get(self.user_id)
                if kept is not None:
                    self._token, self._good_until = kept
                    return self._token
            try:
                return await self._acquire(force_refresh)
            except NeedsSignIn:
                if self.held is not None:
                    self.held.forget(self.user_id)
                raise

    async def _acquire(self, force_refresh: bool) -> str:
        if not self._loaded:
            self._cache_text = await self.cache.load()
            self._loaded = True
        acquired = await self.identity.acquire(
            self._cache_text, object_id=self.object_id, force_refresh=force_refresh
        )
        if acquired.token_cache is not None:
            await self.cache.save(acquired.token_cache)
            self._cache_text = acquired.token_cache
        self._token = acquired.access_token
        self._good_until = self.monotonic() + max(0.0, acquired.expires_in - self.margin)
        if self.held is not None:
            self.held.put(self.user_id, self._token, self._good_until)
        return self._token
