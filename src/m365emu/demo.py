"""Demo data: the tenants and users the demo and the docs talk about, and app
registration for a client such as s5sync.

Tenant "contoso" (fixed id `DEMO_TENANT_ID`) has Alice, Bob, Carol and Dave. Tenant
"fabrikam" (`FABRIKAM_TENANT_ID`) has Erin, whose tenant is not registered as a store in
the s5sync demo: she shows that users of other tenants are refused (R19).
Seeding is idempotent: whatever already exists is left as it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from m365emu.identity.models import AppRegistration

if TYPE_CHECKING:
    from m365emu.app import Emulator

DEMO_TENANT_ID = "6f1c8a52-3e4d-4b7a-9c21-0d5e8f4a7b13"
FABRIKAM_TENANT_ID = "b2d7e9f0-5a14-4c3e-8f6d-1e2a3b4c5d6e"

DEMO_USERS: dict[str, list[tuple[str, str]]] = {
    DEMO_TENANT_ID: [
        ("alice@contoso.example", "Alice Martin"),
        ("bob@contoso.example", "Bob Nguyen"),
        ("carol@contoso.example", "Carol Diaz"),
        ("dave@contoso.example", "Dave Okafor"),
    ],
    FABRIKAM_TENANT_ID: [("erin@fabrikam.example", "Erin Walsh")],
}
DEMO_TENANTS = {DEMO_TENANT_ID: "contoso", FABRIKAM_TENANT_ID: "fabrikam"}


def seed_demo(emulator: Emulator, *, time_zone: str | None = None) -> None:
    """Create the demo tenants and users (leaving existing ones untouched); with
    `time_zone`, each demo mailbox that has none gets it (mailboxSettings.timeZone, shown
    by the Outlook page)."""
    directory = emulator.directory
    for tenant_id, name in DEMO_TENANTS.items():
        if tenant_id not in directory.tenants:
            directory.add_tenant(tenant_id, name)
        for email, display_name in DEMO_USERS[tenant_id]:
            user = directory.user_by_email(email)
            if user is None:
                user = directory.add_user(tenant_id, email, display_name)
            state = emulator.graph_state
            if time_zone is not None and state is not None and user is not None:
                box = state.mailbox(tenant_id, user.id, email, display_name)
                if box.time_zone is None:
                    box.time_zone = time_zone
                    state.save(box)


def register_app(
    emulator: Emulator,
    *,
    client_id: str,
    client_secret: str | None,
    redirect_uris: list[str],
    display_name: str = "s5sync",
    tenant_id: str = DEMO_TENANT_ID,
) -> AppRegistration:
    """Register (or update the redirect URIs and secret of) an application."""
    existing = emulator.directory.app(client_id)
    if existing is None:
        return emulator.directory.add_app(
            tenant_id, client_id, client_secret, redirect_uris, display_name
        )
    return emulator.directory.update_app(existing, client_secret, redirect_uris)
