"""One store's sealed MSAL token caches (R22), one Core statement each way.

A cycle's token path (s5sync.outlook.tokens) reads the user's cache when this process
holds no good access token and writes it back when MSAL changed it (a refresh). Each is
one statement in its own short transaction, bound to the store for row-level security —
not an ORM unit of work, which read the whole user row first (issue 12: the token path
is paid on top of every idle cycle's CPU). On PostgreSQL each is one round trip: a
server-side function that binds itself to the store, called as one autocommit statement
on asyncpg alone (migration 0010, `Database.single_statement`; issue 25 item 3).
"""

from __future__ import annotations

from sqlalchemy import bindparam, select, update

from s5sync.store.database import Database
from s5sync.store.directory import NotFound
from s5sync.store.models import AppUser
from s5sync.store.secrets import SecretBox

_LOAD = select(AppUser.token_cache_enc).where(
    AppUser.tenant_id == bindparam("tenant"), AppUser.id == bindparam("user")
)
_SAVE = (
    update(AppUser)
    .where(AppUser.tenant_id == bindparam("tenant"), AppUser.id == bindparam("user"))
    .values(token_cache_enc=bindparam("sealed"))
)


_PG_LOAD = "SELECT s5sync_token_cache_load($1, $2)"
_PG_SAVE = "SELECT s5sync_token_cache_save($1, $2, $3)"


class TokenCacheRows:
    """The `token_cache_enc` column of one store's users, sealed with `SecretBox`."""

    def __init__(self, db: Database, box: SecretBox, tenant_id: int) -> None:
        self.db = db
        self.box = box
        self.tenant_id = tenant_id

    async def load(self, user_id: int) -> str | None:
        """The user's cache in clear (`SecretUnreadable` when no key opens it)."""
        if not self.db.is_sqlite:
            text = await self.db.single_statement(_PG_LOAD, self.tenant_id, user_id)
            if text is None:
                raise NotFound(f"no user {user_id} in this store")
            return self.box.open(text.encode()) if text else None
        async with self.db.connection(self.tenant_id, write=False) as conn:
            found = (await conn.execute(_LOAD, {"tenant": self.tenant_id, "user": user_id})).first()
        if found is None:
            raise NotFound(f"no user {user_id} in this store")
        sealed = found[0]
        return self.box.open(sealed) if sealed is not None else None

    async def save(self, user_id: int, serialized: str | None) -> None:
        sealed = self.box.seal(serialized) if serialized is not None else None
        if not self.db.is_sqlite:
            if not await self.db.single_statement(_PG_SAVE, self.tenant_id, user_id, sealed):
                raise NotFound(f"no user {user_id} in this store")
            return
        async with self.db.connection(self.tenant_id) as conn:
            changed = await conn.execute(
                _SAVE, {"tenant": self.tenant_id, "user": user_id, "sealed": sealed}
            )
        if changed.rowcount == 0:
            raise NotFound(f"no user {user_id} in this store")
