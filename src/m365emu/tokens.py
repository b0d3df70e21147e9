"""What the Graph side needs from the identity side: verified access-token claims.

The identity platform (m365emu/identity) issues RS256 JWTs; the Graph routes call a
`TokenVerifier` and key every mailbox by the token's (tid, oid).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class TokenRejected(Exception):
    """The bearer token is missing, malformed, expired, or not signed by this emulator."""


@dataclass(frozen=True)
class AccessClaims:
    tid: str
    oid: str
    preferred_username: str
    name: str
    scopes: frozenset[str]
    app_id: str
    # When the token was issued (epoch seconds; 0 when unknown): subscriptions refuse a
    # token issued before the user's sessions were revoked (issue 19, R19b).
    issued_at: float = 0.0


class TokenVerifier(Protocol):
    def verify(self, token: str) -> AccessClaims:
        """The claims of a valid Graph access token, or `TokenRejected`."""
        ...
