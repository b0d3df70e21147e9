"""A token verifier for tests of the Graph routes without the identity platform: tokens are
opaque strings handed out by `issue`, expiring by the emulator clock. The assembled emulator
uses the identity side's RS256 verifier instead (m365emu.tokens.TokenVerifier)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from m365emu.clock import EmulatorClock
from m365emu.tokens import AccessClaims, TokenRejected

DEFAULT_SCOPES = frozenset(
    {"Calendars.ReadWrite", "MailboxSettings.ReadWrite", "User.Read", "offline_access"}
)


class StaticTokenVerifier:
    def __init__(self, clock: EmulatorClock) -> None:
        self._clock = clock
        self._tokens: dict[str, tuple[AccessClaims, datetime]] = {}

    def issue(
        self,
        tid: str,
        oid: str,
        email: str,
        name: str = "",
        scopes: frozenset[str] = DEFAULT_SCOPES,
        app_id: str = "app-1",
        lifetime: timedelta = timedelta(hours=1),
    ) -> str:
        token = "emu." + secrets.token_urlsafe(24)
        claims = AccessClaims(
            tid, oid, email, name or email, frozenset(scopes), app_id, self._clock.now().timestamp()
        )
        self._tokens[token] = (claims, self._clock.now() + lifetime)
        return token

    def verify(self, token: str) -> AccessClaims:
        found = self._tokens.get(token)
        if found is None:
            raise TokenRejected("CompactToken parsing failed with error code: 80049217")
        claims, expires = found
        if self._clock.now() >= expires:
            raise TokenRejected("Lifetime validation failed, the token is expired.")
        return claims
