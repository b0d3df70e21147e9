"""The one composition root (STYLE.md habit 8): `build_services(settings)`.

Nothing is built at import time; commands, the web app and the workers each call this
once and close what it returns.
"""

from __future__ import annotations

from dataclasses import dataclass

from s5sync.settings import Settings
from s5sync.store.database import Database
from s5sync.store.directory import Directory
from s5sync.store.scope import TenantScope
from s5sync.store.secrets import SecretBox


@dataclass
class Services:
    """Everything a process shares: settings, the database, the secret box."""

    settings: Settings
    db: Database
    box: SecretBox
    directory: Directory

    def scope(self, tenant_id: int) -> TenantScope:
        """Transactions bound to one store (R22)."""
        return TenantScope(self.db, self.box, tenant_id)

    async def aclose(self) -> None:
        await self.db.dispose()


def build_services(settings: Settings) -> Services:
    db = Database(settings.database_url)
    box = SecretBox(settings.fernet_keys())
    return Services(settings=settings, db=db, box=box, directory=Directory(db, box))
