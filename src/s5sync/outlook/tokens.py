"""A user's Graph access tokens for one cycle (R19b, R22).

`UserTokens` is the token provider the Graph session calls. It loads the user's
encrypted MSAL cache once, asks the process's `MsalIdentity` for a token (in a worker
thread), keeps the access token until shortly before it expires, and writes the cache
back only when MSAL changed it. `NeedsSignIn` from the identity stops this user only.

`StoredTokenCache` keeps the cache in the CALENDAREVENT store, encrypted with the
store's MultiFernet keys (`UserRepository.token_cache` / `save_token_cache`), each
access in its own short transaction — never one held across a network call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol

from s5sync.outlook.errors import NeedsSignIn
from s5sync.outlook.identity import Acquired
from s5sync.store.scope import TenantScope
from s5sync.store.secrets import SecretUnreadable


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
        self.scope = scope
        self.user_id = user_id

    async def load(self) -> str | None:
        async with self.scope.begin(write=False) as unit:
            try:
                return await unit.users.token_cache(self.user_id)
            except SecretUnreadable:
                # R19b: a key removed from S5SYNC_SECRET_KEYS loses only this sign-in.
                raise NeedsSignIn(
                    "the stored sign-in cannot be decrypted with the configured keys"
                ) from None

    async def save(self, serialized: str) -> None:
        async with self.scope.begin() as unit:
            await unit.users.save_token_cache(self.user_id, serialized)


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
    ) -> None:
        self.identity = identity
        self.cache = cache
        self.object_id = object_id
        self.margin = margin
        self.monotonic = monotonic
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
            return self._token
