"""The directory of the emulated Microsoft Entra ID: tenants, users, app registrations,
consents, authorization codes and refresh tokens, keyed tenant → object.

Typed state in memory, written through to `Persistence` on every change (so `kill -9`
loses nothing). Knows no HTTP; `routes.py` and `control.py` call it.

Behaviour chosen where Microsoft documents none:
- A user's e-mail (UPN) is unique across all tenants of the emulator, so the control
  plane can address users by e-mail alone.
- Refresh tokens are opaque random strings, stored only as SHA-256 hashes. Using one
  returns a new one (rotation) and, as in Entra, the old one stays valid until it expires
  (90 days of inactivity) or the user's sessions are revoked
  (`revokeSignInSessions` → `tokens_valid_from`).
- Authorization codes live 10 minutes and are single-use.
- Consent is remembered per (user, app) as the union of granted scopes.

Not emulated: groups, roles, guests, conditional access, MFA, passwords (any user of the
tenant signs in by picking or typing their name), admin consent, app roles beyond a
plain list, national clouds, personal Microsoft accounts (`consumers`).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from m365emu.persistence import Persistence

CODE_LIFETIME = timedelta(minutes=10)
REFRESH_TOKEN_INACTIVITY = timedelta(days=90)
TENANT_ALIASES = frozenset({"organizations", "common"})


class DirectoryError(Exception):
    """A request the directory refuses; `code` names the reason for the caller."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Tenant:
    id: str
    name: str


@dataclass
class User:
    tenant_id: str
    id: str  # object id (oid)
    email: str
    display_name: str
    tokens_valid_from: datetime | None = None
    # Bumped by each revocation; a refresh token of an older generation is refused.
    # (A counter rather than a time comparison: the emulator clock may stand still.)
    token_generation: int = 0

    @property
    def given_name(self) -> str:
        return self.display_name.split(" ", 1)[0]

    @property
    def surname(self) -> str:
        parts = self.display_name.split(" ", 1)
        return parts[1] if len(parts) > 1 else ""


@dataclass
class AppRegistration:
    tenant_id: str
    client_id: str
    display_name: str
    client_secret: str | None  # None: a public client (no secret to present)
    redirect_uris: list[str] = field(default_factory=list)
    app_roles: list[str] = field(default_factory=lambda: ["Calendars.ReadWrite"])
    service_principal_id: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class AuthCode:
    tenant_id: str
    user_id: str
    client_id: str
    redirect_uri: str
    scopes: list[str]
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    issued_at: datetime
    redeemed: bool = False


@dataclass
class RefreshToken:
    tenant_id: str
    user_id: str
    client_id: str
    scopes: list[str]
    issued_at: datetime
    last_used_at: datetime
    generation: int = 0


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _doc(obj: Any) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in asdict(obj).items()}


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class Directory:
    """Every tenant's users, apps, consents, codes and refresh tokens."""

    def __init__(self, persistence: Persistence) -> None:
        self._store = persistence
        self._lock = threading.RLock()
        self.tenants: dict[str, Tenant] = {}
        self.users: dict[str, dict[str, User]] = {}  # tenant id → oid → user
        self.apps: dict[str, dict[str, AppRegistration]] = {}  # tenant id → client id → app
        self.consents: dict[str, list[str]] = {}  # "oid|client_id" → scopes
        self._codes: dict[str, AuthCode] = {}  # sha256(code) → code
        self._refresh: dict[str, RefreshToken] = {}  # sha256(token) → token
        self._load()

    # -- loading -------------------------------------------------------------------------

    def _load(self) -> None:
        for doc in self._store.load_all("tenant").values():
            self.tenants[doc["id"]] = Tenant(**doc)
            self.users.setdefault(doc["id"], {})
            self.apps.setdefault(doc["id"], {})
        for doc in self._store.load_all("user").values():
            doc["tokens_valid_from"] = _dt(doc.get("tokens_valid_from"))
            self.users.setdefault(doc["tenant_id"], {})[doc["id"]] = User(**doc)
        for doc in self._store.load_all("app").values():
            self.apps.setdefault(doc["tenant_id"], {})[doc["client_id"]] = AppRegistration(**doc)
        for key, doc in self._store.load_all("consent").items():
            self.consents[key] = list(doc["scopes"])
        for key, doc in self._store.load_all("auth_code").items():
            doc["issued_at"] = _dt(doc["issued_at"])
            self._codes[key] = AuthCode(**doc)
        for key, doc in self._store.load_all("refresh_token").items():
            doc["issued_at"] = _dt(doc["issued_at"])
            doc["last_used_at"] = _dt(doc["last_used_at"])
            self._refresh[key] = RefreshToken(**doc)

    def clear(self) -> None:
        """Forget everything (the control plane's reset); the caller clears persistence."""
        with self._lock:
            self.tenants.clear()
            self.users.clear()
            self.apps.clear()
            self.consents.clear()
            self._codes.clear()
            self._refresh.clear()

    # -- tenants, users, apps -----------------------------------------------------------

    def add_tenant(self, tenant_id: str, name: str) -> Tenant:
        with self._lock:
            if tenant_id in self.tenants or tenant_id.lower() in TENANT_ALIASES:
                raise DirectoryError("conflict", f"tenant {tenant_id} already exists")
            tenant = Tenant(id=tenant_id, name=name)
            self.tenants[tenant_id] = tenant
            self.users.setdefault(tenant_id, {})
            self.apps.setdefault(tenant_id, {})
            self._store.save("tenant", tenant_id, _doc(tenant))
            return tenant

    def tenant(self, id_or_name: str) -> Tenant | None:
        """A tenant by id, or by name (case-insensitive), as Entra accepts domain names."""
        found = self.tenants.get(id_or_name)
        if found is not None:
            return found
        wanted = id_or_name.lower()
        return next((t for t in self.tenants.values() if t.name.lower() == wanted), None)

    def add_user(
        self, tenant_id: str, email: str, display_name: str, user_id: str | None = None
    ) -> User:
        return self.add_users(tenant_id, [(email, display_name, user_id)])[0]

    def add_users(
        self, tenant_id: str, people: Sequence[tuple[str, str, str | None]]
    ) -> list[User]:
        """Users of one tenant from (email, display name, object id or None), in order:
        all of them, or none when the tenant is missing or an email is taken or repeated."""
        with self._lock:
            if tenant_id not in self.tenants:
                raise DirectoryError("not_found", f"tenant {tenant_id} does not exist")
            taken = {user.email for pool in self.users.values() for user in pool.values()}
            users: list[User] = []
            for email, display_name, user_id in people:
                wanted = email.strip().lower()  # as `user_by_email` looks it up
                if wanted in taken:
                    raise DirectoryError("conflict", f"user {email} already exists")
                taken.add(wanted)
                users.append(
                    User(tenant_id, user_id or str(uuid.uuid4()), email.lower(), display_name)
                )
            for user in users:
                self.users[tenant_id][user.id] = user
                self._save_user(user)
            return users

    def _save_user(self, user: User) -> None:
        self._store.save("user", f"{user.tenant_id}|{user.id}", _doc(user))

    def user_by_email(self, email: str) -> User | None:
        wanted = email.strip().lower()
        for users in self.users.values():
            for user in users.values():
                if user.email == wanted:
                    return user
        return None

    def user(self, tenant_id: str, user_id: str) -> User | None:
        return self.users.get(tenant_id, {}).get(user_id)

    def users_of(self, tenant_id: str | None) -> list[User]:
        """The users of one tenant, or of every tenant (None: `organizations`/`common`)."""
        pools = [self.users.get(tenant_id, {})] if tenant_id else list(self.users.values())
        return sorted((u for pool in pools for u in pool.values()), key=lambda u: u.email)

    def add_app(
        self,
        tenant_id: str,
        client_id: str | None,
        client_secret: str | None,
        redirect_uris: list[str],
        display_name: str | None = None,
    ) -> AppRegistration:
        with self._lock:
            if tenant_id not in self.tenants:
                raise DirectoryError("not_found", f"tenant {tenant_id} does not exist")
            client_id = client_id or str(uuid.uuid4())
            if self.app(client_id) is not None:
                raise DirectoryError("conflict", f"app {client_id} already exists")
            app = AppRegistration(
                tenant_id=tenant_id,
                client_id=client_id,
                display_name=display_name or f"app {client_id[:8]}",
                client_secret=client_secret,
                redirect_uris=list(redirect_uris),
            )
            self.apps[tenant_id][client_id] = app
            self._store.save("app", client_id, _doc(app))
            return app

    def update_app(
        self, app: AppRegistration, client_secret: str | None, redirect_uris: list[str]
    ) -> AppRegistration:
        with self._lock:
            app.client_secret = client_secret
            app.redirect_uris = list(redirect_uris)
            self._store.save("app", app.client_id, _doc(app))
            return app

    def app(self, client_id: str) -> AppRegistration | None:
        """An app by client id. Every registration is multi-tenant: users of any tenant
        may sign in to it, as with "Accounts in any organizational directory"."""
        for apps in self.apps.values():
            if client_id in apps:
                return apps[client_id]
        return None

    # -- consent ---------------------------------------------------------------------------

    def consented(self, user: User, client_id: str) -> set[str]:
        return set(self.consents.get(f"{user.id}|{client_id}", []))

    def grant_consent(self, user: User, client_id: str, scopes: list[str]) -> None:
        with self._lock:
            key = f"{user.id}|{client_id}"
            merged = sorted(set(self.consents.get(key, [])) | set(scopes))
            self.consents[key] = merged
            self._store.save("consent", key, {"scopes": merged})

    # -- authorization codes --------------------------------------------------------------

    def issue_code(self, code: AuthCode) -> str:
        # The "0.A" prefix mimics the shape of Entra's authorization codes.
        secret = "0.A" + secrets.token_urlsafe(48)
        with self._lock:
            self._codes[_hash(secret)] = code
            self._store.save("auth_code", _hash(secret), _doc(code))
        return secret

    def redeem_code(self, secret: str, now: datetime) -> AuthCode:
        """The code, marked redeemed; `DirectoryError` with code invalid/expired/redeemed."""
        with self._lock:
            code = self._codes.get(_hash(secret))
            if code is None:
                raise DirectoryError("invalid", "unknown authorization code")
            if code.redeemed:
                raise DirectoryError("redeemed", "authorization code already redeemed")
            if now - code.issued_at > CODE_LIFETIME:
                raise DirectoryError("expired", "authorization code expired")
            code.redeemed = True
            self._store.save("auth_code", _hash(secret), _doc(code))
            return code

    # -- refresh tokens -----------------------------------------------------------------

    def issue_refresh_token(
        self, user: User, client_id: str, scopes: list[str], now: datetime
    ) -> str:
        # The "1.A" prefix mimics the shape of Entra's opaque refresh tokens.
        secret = "1.A" + secrets.token_urlsafe(96)
        token = RefreshToken(
            user.tenant_id, user.id, client_id, list(scopes), now, now, user.token_generation
        )
        with self._lock:
            self._refresh[_hash(secret)] = token
            self._store.save("refresh_token", _hash(secret), _doc(token))
        return secret

    def use_refresh_token(self, secret: str, client_id: str, now: datetime) -> RefreshToken:
        """The stored grant behind a refresh token, or `DirectoryError` saying why not:
        invalid (unknown or another app's), expired (inactive 90 days), revoked."""
        with self._lock:
            token = self._refresh.get(_hash(secret))
            if token is None or token.client_id != client_id:
                raise DirectoryError("invalid", "unknown refresh token")
            user = self.user(token.tenant_id, token.user_id)
            if user is None:
                raise DirectoryError("invalid", "the token's user no longer exists")
            if token.generation < user.token_generation:
                raise DirectoryError("revoked", token.issued_at.isoformat())
            if now - token.last_used_at > REFRESH_TOKEN_INACTIVITY:
                raise DirectoryError("expired", token.issued_at.isoformat())
            token.last_used_at = now
            self._store.save("refresh_token", _hash(secret), _doc(token))
            return token

    def revoke(self, user: User, now: datetime) -> int:
        """Revoke every refresh token of the user (Graph's `revokeSignInSessions`)."""
        with self._lock:
            user.tokens_valid_from = now
            user.token_generation += 1
            self._save_user(user)
            return sum(
                1
                for tok in self._refresh.values()
                if tok.user_id == user.id and tok.generation < user.token_generation
            )

    def refresh_grant(self, secret: str) -> RefreshToken | None:
        return self._refresh.get(_hash(secret))

    def refresh_token_count(self, user: User) -> int:
        return sum(1 for t in self._refresh.values() if t.user_id == user.id)
