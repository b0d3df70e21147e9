"""Scopes, token claims and the Graph access-token verifier.

Claims follow learn.microsoft.com "ID token claims reference" (v2.0 id tokens: aud = the
client id, iss = `https://{host}/{tid}/v2.0`, ver "2.0") and "Access token claims
reference". Microsoft Graph accepts v1.0 access tokens only (its manifest leaves
`accessTokenAcceptedVersion` unset), so a Graph token — even one obtained from the v2.0
endpoint — has iss `https://sts.windows.net/{tid}/`, ver "1.0", `upn`/`unique_name`
rather than `preferred_username`, `appid` and `scp` (delegated) or `roles` (app-only).

Chosen where Microsoft documents nothing precise:
- `aud` is `https://graph.microsoft.com` when the client named Graph by URL
  (`https://graph.microsoft.com/User.Read`), otherwise Graph's app id
  `00000003-0000-0000-c000-000000000000`: decoded Graph tokens in the wild show both
  forms. Microsoft tells clients to treat Graph tokens as opaque; s5sync must not parse
  them, only the emulator's Graph routes do (through `GraphTokenVerifier`).
- `iat`/`nbf` are backdated 5 minutes (Entra's allowance for clock skew) and access
  tokens live 3599 seconds (`expires_in`), all on the emulator's clock.
- `sub` is pairwise: base64url(SHA-256(oid | client id)).

Not emulated: `aio`/`rh`/`uti` contents (random), `wids`, `xms_*`, token encryption,
the `nonce` header Graph puts on its own tokens, claims challenges (CAE).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import jwt

from m365emu.clock import EmulatorClock
from m365emu.identity.keys import KeySet, b64url
from m365emu.identity.models import AppRegistration, Directory, User
from m365emu.tokens import AccessClaims, TokenRejected

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
GRAPH_URL = "https://graph.microsoft.com"
GRAPH_AUDIENCES = (GRAPH_APP_ID, GRAPH_URL)
OIDC_SCOPES = frozenset({"openid", "profile", "email", "offline_access"})
ACCESS_TOKEN_LIFETIME = timedelta(seconds=3599)
ID_TOKEN_LIFETIME = timedelta(hours=1)
SKEW = timedelta(minutes=5)


class UnknownResource(ValueError):
    """A scope names a resource other than Microsoft Graph."""


@dataclass
class ScopeRequest:
    """A parsed `scope` parameter: OIDC scopes, Graph scopes (as the client wrote them)."""

    oidc: set[str] = field(default_factory=set)
    graph: list[str] = field(default_factory=list)  # short names: "Calendars.ReadWrite"
    written: dict[str, str] = field(default_factory=dict)  # short name → as requested
    default: bool = False  # `/.default`: whatever was consented (or the app's roles)
    by_url: bool = False

    @classmethod
    def parse(cls, raw: str) -> ScopeRequest:
        request = cls()
        for item in raw.split():
            if item.lower() in OIDC_SCOPES:
                request.oidc.add(item.lower())
                continue
            resource, _, name = item.rpartition("/")
            if resource:
                if resource.rstrip("/").lower() == GRAPH_URL:
                    request.by_url = True
                elif resource.lower() != GRAPH_APP_ID:
                    raise UnknownResource(resource)
            if name == ".default":
                request.default = True
            elif name and name not in request.written:
                request.graph.append(name)
                request.written[name] = item
        return request

    @property
    def audience(self) -> str:
        return GRAPH_URL if self.by_url else GRAPH_APP_ID

    def echo(self, granted: list[str]) -> str:
        """The `scope` of a token response: granted Graph scopes as the client wrote them,
        then the OIDC scopes asked for (Entra does not echo `offline_access`)."""
        graph = [self.written.get(name, name) for name in granted]
        oidc: list[str] = [s for s in ("profile", "openid", "email") if s in self.oidc]
        return " ".join(graph + oidc)


def client_info(user: User) -> str:
    """Entra's `client_info`: base64url JSON {"uid": oid, "utid": tid} (MSAL builds
    `home_account_id = uid.utid` from it)."""
    raw = json.dumps({"uid": user.id, "utid": user.tenant_id}, separators=(",", ":"))
    return b64url(raw.encode("utf-8"))


def pairwise_sub(user: User, client_id: str) -> str:
    return b64url(hashlib.sha256(f"{user.id}|{client_id}".encode()).digest())


def _stamp(instant: datetime) -> int:
    return int(instant.timestamp())


def _opaque() -> str:
    return b64url(secrets.token_bytes(16))


def sts_issuer(tenant_id: str) -> str:
    return f"https://sts.windows.net/{tenant_id}/"


def id_token_claims(
    user: User, app: AppRegistration, issuer: str, now: datetime, nonce: str | None, email: bool
) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "aud": app.client_id,
        "iss": issuer,
        "iat": _stamp(now - SKEW),
        "nbf": _stamp(now - SKEW),
        "exp": _stamp(now + ID_TOKEN_LIFETIME),
        "aio": _opaque(),
        "name": user.display_name,
        "oid": user.id,
        "preferred_username": user.email,
        "rh": _opaque(),
        "sub": pairwise_sub(user, app.client_id),
        "tid": user.tenant_id,
        "uti": _opaque(),
        "ver": "2.0",
    }
    if nonce is not None:
        claims["nonce"] = nonce
    if email:
        claims["email"] = user.email
    return claims


def delegated_access_claims(
    user: User, app: AppRegistration, scopes: list[str], audience: str, now: datetime
) -> dict[str, Any]:
    return {
        "aud": audience,
        "iss": sts_issuer(user.tenant_id),
        "iat": _stamp(now - SKEW),
        "nbf": _stamp(now - SKEW),
        "exp": _stamp(now + ACCESS_TOKEN_LIFETIME),
        "acct": 0,
        "acr": "1",
        "aio": _opaque(),
        "amr": ["pwd"],
        "app_displayname": app.display_name,
        "appid": app.client_id,
        "appidacr": "1" if app.client_secret else "0",
        "family_name": user.surname,
        "given_name": user.given_name,
        "idtyp": "user",
        "ipaddr": "127.0.0.1",
        "name": user.display_name,
        "oid": user.id,
        "scp": " ".join(scopes),
        "sub": pairwise_sub(user, app.client_id),
        "tid": user.tenant_id,
        "unique_name": user.email,
        "upn": user.email,
        "uti": _opaque(),
        "ver": "1.0",
    }


def app_access_claims(
    app: AppRegistration, tenant_id: str, audience: str, now: datetime
) -> dict[str, Any]:
    return {
        "aud": audience,
        "iss": sts_issuer(tenant_id),
        "iat": _stamp(now - SKEW),
        "nbf": _stamp(now - SKEW),
        "exp": _stamp(now + ACCESS_TOKEN_LIFETIME),
        "aio": _opaque(),
        "app_displayname": app.display_name,
        "appid": app.client_id,
        "appidacr": "1",
        "idp": sts_issuer(tenant_id),
        "idtyp": "app",
        "oid": app.service_principal_id,
        "roles": list(app.app_roles),
        "sub": app.service_principal_id,
        "tid": tenant_id,
        "uti": _opaque(),
        "ver": "1.0",
    }


class GraphTokenVerifier:
    """Verifies a Graph bearer token as Graph would: RS256 signature by this emulator's
    key, `aud` Graph, `iss` the token's tenant (which must exist), `exp`/`nbf` on the
    emulator's clock. App-only tokens give their `roles` as scopes and an empty
    `preferred_username`."""

    def __init__(self, keys: KeySet, clock: EmulatorClock, directory: Directory) -> None:
        self._keys = keys
        self._clock = clock
        self._directory = directory

    def verify(self, token: str) -> AccessClaims:
        if not token:
            raise TokenRejected("Access token is empty.")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise TokenRejected("CompactToken parsing failed with error code: 80049217") from error
        key = self._keys.public_key(str(header.get("kid", "")))
        if key is None or header.get("alg") != "RS256":
            raise TokenRejected("Signature validation failed: unknown signing key.")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                audience=list(GRAPH_AUDIENCES),
                # The emulator's clock, not the machine's, decides expiry (checked below).
                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
            )
        except jwt.InvalidAudienceError as error:
            raise TokenRejected("Access token validation failure. Invalid audience.") from error
        except jwt.PyJWTError as error:
            raise TokenRejected("Access token validation failure.") from error
        tid = str(claims.get("tid", ""))
        if claims.get("iss") != sts_issuer(tid) or tid not in self._directory.tenants:
            raise TokenRejected("Access token validation failure. Invalid issuer.")
        now = self._clock.now().timestamp()
        if not (int(claims.get("nbf", 0)) <= now < int(claims.get("exp", 0))):
            raise TokenRejected("Lifetime validation failed, the token is expired.")
        scopes = str(claims.get("scp", "")).split() or [str(r) for r in claims.get("roles", [])]
        return AccessClaims(
            tid=tid,
            oid=str(claims.get("oid", "")),
            preferred_username=str(claims.get("upn", "")),
            name=str(claims.get("name", claims.get("app_displayname", ""))),
            scopes=frozenset(scopes),
            app_id=str(claims.get("appid", "")),
            # `iat` is backdated by SKEW; the instant it was really issued is later.
            issued_at=float(claims.get("iat", 0)) + SKEW.total_seconds(),
        )


def decode_base64url_json(value: str) -> dict[str, Any]:
    padded = value + "=" * (-len(value) % 4)
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(padded))
    return decoded
