"""Bearer-token checks on every Graph call (issue 5 item 1; graph.md §6).

The token goes to the injected `TokenVerifier` (the identity platform's RS256 check in the
assembled emulator, a test verifier in unit tests). Missing, malformed, expired or foreign
tokens → 401 `InvalidAuthenticationToken`; a valid token without the route's scopes → 403
`ErrorAccessDenied`. Scope names are compared without any resource prefix
(`https://graph.microsoft.com/Calendars.ReadWrite` counts as `Calendars.ReadWrite`).
"""

from __future__ import annotations

from m365emu.graph.common.errors import access_denied, unauthenticated
from m365emu.tokens import AccessClaims, TokenRejected, TokenVerifier


def bearer_claims(authorization: str | None, verifier: TokenVerifier) -> AccessClaims:
    if not authorization or not authorization.strip():
        raise unauthenticated("Access token is empty.")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthenticated("Access token is empty.")
    try:
        return verifier.verify(token.strip())
    except TokenRejected as rejected:
        reason = str(rejected) or "Access token validation failure. Invalid audience."
        raise unauthenticated(reason) from None


def short_scopes(claims: AccessClaims) -> set[str]:
    return {scope.rsplit("/", 1)[-1].lower() for scope in claims.scopes}


def require_any_scope(claims: AccessClaims, accepted: frozenset[str]) -> None:
    """403 unless the token carries one of `accepted` (empty means no scope needed)."""
    if accepted and not short_scopes(claims) & {scope.lower() for scope in accepted}:
        raise access_denied()
