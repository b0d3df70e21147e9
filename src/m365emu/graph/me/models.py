"""The user resource as GET /me returns it (resources/user.md default properties), built
from the access token's claims and the mailbox: the identity side owns the directory.

Not emulated: businessPhones, jobTitle and the other directory fields come back empty.
"""

from __future__ import annotations

from typing import Any

from m365emu.tokens import AccessClaims


def user_json(claims: AccessClaims, context: str) -> dict[str, Any]:
    given, _, surname = claims.name.partition(" ")
    return {
        "@odata.context": context,
        "businessPhones": [],
        "displayName": claims.name,
        "givenName": given or None,
        "jobTitle": None,
        "mail": claims.preferred_username,
        "mobilePhone": None,
        "officeLocation": None,
        "preferredLanguage": "en-US",
        "surname": surname or None,
        "userPrincipalName": claims.preferred_username,
        "id": claims.oid,
    }
