"""The onboarding self-test (R20, R19, R3): what a new user sees checked, one line each.

1. System Five database reachable — the employee lookup of onboarding answered.
2. Microsoft sign-in works and grants what s5sync needs — an access token is acquired
   silently from the user's own (encrypted) MSAL cache, exactly as a cycle does, and the
   scopes are read from its `scp` claim. The token is decoded without verifying its
   signature: it is read for display only, the API that receives it verifies it. No
   probe event is written.
3. The store's Outlook category is present or can be created — one GET of the user's
   master category list (`/me/outlook/masterCategories`, MailboxSettings.Read). The test
   never creates it: the first cycle does (R3), so a self-test has no side effect in the
   user's mailbox; "creatable" means the token carries MailboxSettings.ReadWrite.

No token, claim value other than the scope names, or category list is ever logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jwt

from s5sync.core.records import TenantRecord, UserRecord
from s5sync.outlook.categories import CATEGORIES_PATH
from s5sync.outlook.errors import NeedsSignIn, OutlookError
from s5sync.outlook.session import GraphSession

if TYPE_CHECKING:
    from s5sync.entrypoints.bootstrap import Services

log = logging.getLogger(__name__)

# R19: the delegated resource scopes a cycle needs (the OpenID ones are not in `scp`).
NEEDED_SCOPES = ("User.Read", "Calendars.ReadWrite", "MailboxSettings.ReadWrite")


@dataclass(frozen=True)
class Check:
    """One line of the self-test."""

    ok: bool
    text: str


def token_scopes(access_token: str) -> frozenset[str]:
    """The delegated scopes of an access token (`scp`, space-separated), unverified."""
    try:
        claims: dict[str, Any] = jwt.decode(access_token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return frozenset()
    return frozenset(str(claims.get("scp") or "").split())


async def outlook_checks(services: Services, user: UserRecord, tenant: TenantRecord) -> list[Check]:
    """Checks 2 and 3, through the cycle's own token path and Graph client (the
    composition root's `graph_session`: the sealed MSAL cache, the process's tokens)."""
    session = services.graph_session(user.tenant_id, user.id, user.object_id, seconds=20)
    try:
        scopes = token_scopes(await session.tokens.token())
    except NeedsSignIn:
        return [Check(False, "Microsoft sign-in no longer works: sign in again.")]
    except OutlookError as error:
        log.warning(
            "selftest.token_failed", extra={"user_id": user.id, "error": type(error).__name__}
        )
        return [Check(False, "Microsoft's sign-in service could not be reached; try again later.")]
    missing = [s for s in NEEDED_SCOPES if s not in scopes]
    checks = [
        Check(True, "Microsoft sign-in works and grants " + ", ".join(NEEDED_SCOPES))
        if not missing
        else Check(
            False,
            "Microsoft did not grant " + ", ".join(missing) + ": ask your IT "
            "administrator to consent to s5sync's permissions, then sign in again.",
        )
    ]
    checks.append(await _category_check(session, tenant, scopes))
    return checks


async def _category_check(
    session: GraphSession, tenant: TenantRecord, scopes: frozenset[str]
) -> Check:
    name = tenant.options.category_name
    try:
        answer = await session.request("GET", CATEGORIES_PATH)
    except OutlookError as error:
        log.warning("selftest.categories_failed", extra={"error": type(error).__name__})
        return Check(False, "Your Outlook categories could not be read; try again later.")
    if answer.status != 200 or not isinstance(answer.body, dict):
        return Check(False, f"Outlook refused to list your categories ({answer.status}).")
    names = {
        str(c.get("displayName", "")).casefold()
        for c in answer.body.get("value") or ()
        if isinstance(c, dict)
    }
    if name.casefold() in names:
        return Check(True, f"The Outlook category “{name}” is in your list")
    if "MailboxSettings.ReadWrite" in scopes:
        return Check(True, f"The Outlook category “{name}” will be created at your first sync")
    return Check(False, f"The Outlook category “{name}” is missing and cannot be created")
