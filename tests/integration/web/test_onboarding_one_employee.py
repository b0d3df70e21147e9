"""One employee, one user (issue 23 item 6; R20): self-onboarding refuses an employee
already mapped to someone else, as the administrator's page does."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from support.web_world import WebWorld

BOB, CAROL = "bob@contoso.example", "carol@contoso.example"


async def test_a_user_cannot_confirm_an_employee_already_mapped_to_another_R20(
    world: WebWorld,
) -> None:
    bobs_employee = await world.employee(BOB)
    await world.sign_in(CAROL)
    carol = await world.user(CAROL)
    async with world.services.scope(carol.tenant_id).begin() as unit:
        await unit.users.onboard(carol.id, bobs_employee, datetime.now(UTC))  # the admin's map
    bob = (await world.sign_in(BOB)).browser
    page = await bob.get("/onboarding")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None, page.text[:300]
    answer = await bob.post(
        "/onboarding", data={"csrf_token": token.group(1), "employee_id": str(bobs_employee)}
    )
    assert answer.status_code == 400, answer.text[:300]
    assert "already mapped to another user" in answer.text
    assert (await world.user(BOB)).employee_id is None
    assert (await world.user(CAROL)).employee_id == bobs_employee
