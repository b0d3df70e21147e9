"""What the unit tests' fake identity platforms answer MSAL: discovery and token
responses in Microsoft's shapes (graph.md §MSAL), as HTTP-client answers MSAL reads."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

AUTHORITY = "https://login.example.test/tenant-1"
TENANT = "tenant-1"
CLIENT_ID = "client-1"


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


class Answer:
    """An HTTP answer as MSAL reads one from its `http_client`."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.status_code = 200
        self.text = json.dumps(body)
        self.headers = {"Content-Type": "application/json"}

    def raise_for_status(self) -> None:
        return None


def discovery() -> Answer:
    """The authority's OpenID configuration."""
    return Answer(
        {
            "authorization_endpoint": f"{AUTHORITY}/oauth2/v2.0/authorize",
            "token_endpoint": f"{AUTHORITY}/oauth2/v2.0/token",
            "issuer": f"{AUTHORITY}/v2.0",
        }
    )


def tokens(who: str, nonce: str, access_token: str, *, name: str = "") -> Answer:
    """A token response for user `who` (object id `oid-<who>`): access, refresh and an
    unsigned id token carrying `nonce`."""
    now = int(datetime.now(UTC).timestamp())
    claims = {
        "aud": CLIENT_ID,
        "iss": f"{AUTHORITY}/v2.0",
        "iat": now,
        "exp": now + 3600,
        "sub": f"sub-{who}",
        "oid": f"oid-{who}",
        "tid": TENANT,
        "nonce": nonce,
        "preferred_username": f"{who}@contoso.example",
        "name": name,
    }
    return Answer(
        {
            "token_type": "Bearer",
            "expires_in": 3600,
            "access_token": access_token,
            "refresh_token": f"rt-{who}",
            "id_token": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}.",
            "scope": "User.Read Calendars.ReadWrite MailboxSettings.ReadWrite",
            "client_info": b64({"uid": f"oid-{who}", "utid": TENANT}),
        }
    )
