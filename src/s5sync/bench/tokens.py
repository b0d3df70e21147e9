"""What a cycle's access token costs the worker (issue 12; R19b, R22).

`Services.ports_for` gives every cycle a fresh `UserTokens` over the process's
`AccessTokens`. Before its first Graph request a cycle takes one of three paths:
- held: the access token this process got in an earlier cycle is still good;
- cached: this process has none (its first cycle of the user, or another worker ran the
  last ones), so it loads the sealed MSAL cache (one short transaction, MultiFernet) and
  MSAL answers from it;
- refreshed: the token is about to expire (one cycle in six: 60-minute access tokens, a
  10-minute interval), so MSAL refreshes it over the network and the new cache is sealed
  and saved.
The other measurements take tokens from the emulator's control plane; this one signs a
sample of the users in through MSAL's auth-code flow against the emulator process and
measures each path, with the process's CPU (`time.process_time`, which counts MSAL's
worker threads too). Per cycle: one worker running the user's cycles = (5 held + 1
refreshed) / 6; the worst case, every cycle on another worker = (5 cached + 1
refreshed) / 6.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from m365emu.testing import sign_in_with_form_posts
from s5sync.core.records import UserRecord
from s5sync.entrypoints.bootstrap import Services
from s5sync.outlook.identity import IdentityConfig, MsalIdentity
from s5sync.outlook.tokens import AccessTokens, StoredTokenCache, UserTokens

CLIENT_ID = "5b1f0d2e-bench-4c1a-9e7f-s5sync000001"
CLIENT_SECRET = "bench-client-secret"  # noqa: S105 - the emulator's app, made here
REDIRECT = "http://127.0.0.1:8000/auth/callback"
CYCLES_PER_REFRESH = 6  # a 60-minute access token over 10-minute cycles
# A small tenant of its own: the emulator's sign-in page lists the tenant's people, and
# parsing a page of 10,000 would be what the set-up measures.
SIGN_IN_TENANT = "bench-sign-in"


async def measure_tokens(
    emulator: Any, services: Services, users: Sequence[UserRecord]
) -> dict[str, Any]:
    """CPU of the token path per cycle: held, cached, refreshed, and amortised. Each of
    `users` gets the MSAL cache of a person of `SIGN_IN_TENANT` signed in for them."""
    people = [f"signed{i}@sign-in.example" for i in range(len(users))]
    await asyncio.to_thread(emulator.add_mailboxes, SIGN_IN_TENANT, people)
    emulator.call(
        "POST",
        "apps",
        {
            "tenant_id": SIGN_IN_TENANT,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uris": [REDIRECT],
        },
    )
    authority = emulator.urls["authority"].rsplit("/", 1)[0] + "/" + SIGN_IN_TENANT
    identity = MsalIdentity(
        IdentityConfig(CLIENT_ID, CLIENT_SECRET, authority, ca_bundle=Path(emulator.urls["ca"]))
    )
    verify = ssl.create_default_context(cafile=emulator.urls["ca"])
    try:
        signed_in = await _sign_in(identity, services, users, people, verify)
        ms = await _cpu_by_path(identity, services, signed_in)
    finally:
        identity.close()
    rest = CYCLES_PER_REFRESH - 1
    return {
        "users": len(signed_in),
        "cpu_ms_held_token": round(ms["held"], 3),
        "cpu_ms_cached_token": round(ms["cached"], 2),
        "cpu_ms_refreshed_token": round(ms["refreshed"], 2),
        "cpu_ms_per_cycle": round((rest * ms["held"] + ms["refreshed"]) / CYCLES_PER_REFRESH, 2),
        "cpu_ms_per_cycle_every_cycle_on_another_worker": round(
            (rest * ms["cached"] + ms["refreshed"]) / CYCLES_PER_REFRESH, 2
        ),
    }


async def _sign_in(
    identity: MsalIdentity,
    services: Services,
    users: Sequence[UserRecord],
    people: Sequence[str],
    verify: ssl.SSLContext,
) -> list[tuple[UserRecord, str]]:
    """Each user's sealed MSAL cache from a real sign-in of one person (R19)."""
    signed_in: list[tuple[UserRecord, str]] = []
    for user, person in zip(users, people, strict=True):
        flow = await identity.begin_sign_in(REDIRECT, login_hint=person)
        _, posted = await asyncio.to_thread(
            sign_in_with_form_posts, flow["auth_uri"], person, verify
        )
        signed = await identity.complete_sign_in(flow, posted)
        await _cache(services, user).save(signed.token_cache)
        signed_in.append((user, signed.object_id))
    return signed_in


async def _cpu_by_path(
    identity: MsalIdentity, services: Services, signed_in: list[tuple[UserRecord, str]]
) -> dict[str, float]:
    """Mean CPU ms of one cycle's token, by path: refreshed, from the sealed cache, and
    held in memory between cycles."""
    held = AccessTokens()

    async def one_cycle(user: UserRecord, object_id: str, path: str) -> float:
        tokens = UserTokens(
            identity,
            _cache(services, user),
            object_id=object_id,
            held=held if path == "held" else None,
            user_id=user.id,
        )
        start = time.process_time()
        await tokens.token(force_refresh=path == "refreshed")
        return time.process_time() - start

    ms = {}
    for path in ("refreshed", "cached", "held"):
        if path == "held":  # what the cached path would have left in memory
            for user, oid in signed_in:
                await UserTokens(
                    identity, _cache(services, user), object_id=oid, held=held, user_id=user.id
                ).token()
        spent = [await one_cycle(user, oid, path) for user, oid in signed_in]
        ms[path] = 1000 * sum(spent) / len(spent)
    return ms


def _cache(services: Services, user: UserRecord) -> StoredTokenCache:
    return StoredTokenCache(services.scope(user.tenant_id), user.id)
