"""The `SignInProvider` port (R19) over the process's one MSAL application: the sign-in
flow begun and completed through `MsalIdentity`, its errors as `SignInFailed`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from s5sync.sync.ports import SignedIn, SignInFailed

if TYPE_CHECKING:
    from s5sync.outlook.identity import MsalIdentity


class MsalSignIn:
    """The `SignInProvider` port over `MsalIdentity` (R19)."""

    def __init__(self, identity: MsalIdentity) -> None:
        self.identity = identity

    async def begin(self, redirect_uri: str) -> tuple[str, str, str]:
        flow = await self.identity.begin_sign_in(redirect_uri)
        return str(flow["auth_uri"]), str(flow["state"]), json.dumps(flow)

    async def complete(self, flow: str, response: dict[str, str]) -> SignedIn:
        from s5sync.outlook.errors import OutlookError

        try:
            who = await self.identity.complete_sign_in(json.loads(flow), response)
        except OutlookError as error:
            raise SignInFailed(str(error)) from None
        return SignedIn(
            ms_tenant_id=who.tenant_id,
            object_id=who.object_id,
            email=who.username,
            display_name=who.name,
            token_cache=who.token_cache,
            scopes=frozenset(who.scopes),
        )
