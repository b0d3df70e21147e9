"""MSAL sign-in against the emulator over TLS, the encrypted per-user token cache, and
the needs-sign-in error (R19, R19b, R22)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest

from m365emu.testing import TEST_REDIRECT_URI, RunningEmulator
from s5sync.outlook.errors import NeedsSignIn, SignInFailed
from s5sync.outlook.identity import MsalIdentity
from s5sync.outlook.tokens import StoredTokenCache, UserTokens
from s5sync.store.database import Database
from s5sync.store.directory import Directory
from s5sync.store.scope import TenantScope
from s5sync.store.secrets import SecretBox
from s5sync.testing.graph_emulator import graph_calendar
from support.signin_harness import (
    box,
    database_url,
    db,
    identity,
    running,
    sign_in,
    sqlite_template,
)

__all__ = ["box", "database_url", "db", "identity", "running", "sqlite_template"]

NOW = datetime(2026, 11, 25, 20, tzinfo=UTC)


def secrets_in(cache_text: str) -> list[str]:
    """Every token MSAL keeps in a serialized cache (access, refresh, id)."""
    cache = json.loads(cache_text)
    found = [
        entry["secret"]
        for kind in ("AccessToken", "RefreshToken", "IdToken")
        for entry in cache.get(kind, {}).values()
    ]
    assert len(found) >= 3
    return found


class CountingCache:
    def __init__(self, inner: StoredTokenCache) -> None:
        self.inner = inner
        self.saves = 0

    async def load(self) -> str | None:
        return await self.inner.load()

    async def save(self, serialized: str) -> None:
        self.saves += 1
        await self.inner.save(serialized)


async def stored_user(db: Database, box: SecretBox, oid: str, email: str) -> StoredTokenCache:
    tenant = await Directory(db, box).create_tenant(f"t-{oid}", "Store", "sqlite:///s5.db", NOW)
    scope = TenantScope(db, box, tenant.id)
    async with scope.begin() as unit:
        user = await unit.users.signed_in(oid, email, "User", NOW)
    return StoredTokenCache(scope, user.id)


def raw_dump(url: str) -> str:
    """Everything in the database as text, as someone with the file or a dump would see."""
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        with sqlite3.connect(path) as conn:
            dumped = "\n".join(conn.iterdump())
        return dumped + path.read_bytes().decode("latin-1")
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT t::text FROM app_user t").fetchall()
    return "\n".join(str(r[0]) for r in rows)


async def test_token_cache_is_unreadable_in_a_raw_database_dump_R22(
    running: RunningEmulator,
    identity: MsalIdentity,
    db: Database,
    box: SecretBox,
    database_url: str,
) -> None:
    signed = await sign_in(running, identity, "alice@contoso.example")
    stored = await stored_user(db, box, signed.object_id, "alice@contoso.example")
    await stored.save(signed.token_cache)
    dump = raw_dump(database_url)
    assert "alice@contoso.example" in dump  # the dump is real
    for secret in secrets_in(signed.token_cache):
        assert secret not in dump
    assert "RefreshToken" not in dump
    assert await stored.load() == signed.token_cache


async def test_the_cache_is_written_back_only_when_msal_changed_it_R22(
    running: RunningEmulator, identity: MsalIdentity, db: Database, box: SecretBox
) -> None:
    signed = await sign_in(running, identity, "bob@contoso.example")
    stored = await stored_user(db, box, signed.object_id, "bob@contoso.example")
    await stored.save(signed.token_cache)
    cache = CountingCache(stored)
    tokens = UserTokens(identity, cache, object_id=signed.object_id)
    first = await tokens.token()
    assert await tokens.token() == first
    assert cache.saves == 0  # served from the cache MSAL already had
    refreshed = await tokens.token(force_refresh=True)
    assert refreshed != first
    assert cache.saves == 1
    assert await stored.load() != signed.token_cache


async def test_a_revoked_user_needs_sign_in_and_other_users_are_unaffected_R19b(
    running: RunningEmulator, identity: MsalIdentity
) -> None:
    carol = await sign_in(running, identity, "carol@contoso.example")
    dave = await sign_in(running, identity, "dave@contoso.example")

    class Memory:
        def __init__(self, text: str) -> None:
            self.text = text

        async def load(self) -> str | None:
            return self.text

        async def save(self, serialized: str) -> None:
            self.text = serialized

    carol_tokens = UserTokens(identity, Memory(carol.token_cache), object_id=carol.object_id)
    dave_tokens = UserTokens(identity, Memory(dave.token_cache), object_id=dave.object_id)
    async with httpx.AsyncClient(base_url=running.urls.control) as control:
        revoked = await control.post("/users/carol@contoso.example/revoke")
        assert revoked.status_code == 200
    with pytest.raises(NeedsSignIn) as raised:
        await carol_tokens.token(force_refresh=True)
    assert "invalid_grant" in str(raised.value)
    assert await dave_tokens.token(force_refresh=True)
    async with httpx.AsyncClient(
        base_url=running.urls.graph, verify=running.ssl_context(), trust_env=False
    ) as http:
        read = await graph_calendar(http, dave_tokens).read_window(
            None, NOW, NOW + timedelta(days=14)
        )
    assert read.rebaselined


async def test_no_cached_account_needs_sign_in_R19b(identity: MsalIdentity) -> None:
    with pytest.raises(NeedsSignIn):
        await identity.acquire(None)


async def test_a_sign_in_answer_with_another_state_is_refused_R19(
    running: RunningEmulator, identity: MsalIdentity
) -> None:
    flow = await identity.begin_sign_in(TEST_REDIRECT_URI)
    assert flow["auth_uri"].startswith(running.urls.authority(""))
    with pytest.raises(SignInFailed):
        await identity.complete_sign_in(flow, {"code": "x", "state": "forged"})


async def test_the_emulator_ca_is_trusted_whatever_requests_ca_bundle_says(
    running: RunningEmulator,
    identity: MsalIdentity,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    # graph.md §9: requests lets REQUESTS_CA_BUNDLE override Session.verify.
    bogus = tmp_path / "other-ca.pem"
    bogus.write_text("not a certificate\n")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bogus))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(bogus))
    signed = await sign_in(running, identity, "alice@contoso.example")
    assert signed.tenant_id
    assert signed.username == "alice@contoso.example"
    assert {"Calendars.ReadWrite", "MailboxSettings.ReadWrite"} <= signed.scopes


async def test_a_cache_sealed_with_a_removed_key_needs_sign_in_R19b(
    db: Database, box: SecretBox
) -> None:
    stored = await stored_user(db, box, "oid-lost", "lost@contoso.example")
    await stored.save('{"AccessToken": {}}')
    other = SecretBox([SecretBox.generate_key()])
    unreadable = StoredTokenCache(TenantScope(db, other, stored.rows.tenant_id), stored.user_id)
    with pytest.raises(NeedsSignIn):
        await unreadable.load()
