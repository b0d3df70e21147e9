"""Every employee in view (issue 21 item 5; R20, R21d): the Staff page lists System
Five's employees with an e-mail and their state; "invite" names the employee as a user
and queues the sign-in link in the outbox, audited; another store's employee is not
found, and staff cannot invite."""

from __future__ import annotations

import html

from sqlalchemy import select

from s5sync.store.audit import AuditAction
from s5sync.store.models import MailOutbox
from support.web_pages import ALICE, BOB, post
from support.web_world import WebWorld


async def test_the_staff_page_shows_every_employees_state_R20(people: WebWorld) -> None:
    desk = people.stores["contoso"].desk
    desk.add_employee("E004", "Dave Okafor", "dave@contoso.example")
    page = html.unescape((await people.people[ALICE].browser.get("/admin/users")).text)
    assert "System Five's employees: who is missing" in page
    assert "dave@contoso.example</td>\n        <td>never signed in" in page
    assert "bob@contoso.example</td>\n        <td>signed in and matched" in page


async def test_invite_names_the_user_and_queues_the_link_once_a_day_R20_R21d(
    people: WebWorld,
) -> None:
    desk = people.stores["contoso"].desk
    dave = desk.add_employee("E004", "Dave Okafor", "dave@contoso.example")
    alice = people.people[ALICE]
    token = await alice.csrf()
    answer = await alice.browser.post(f"/admin/employees/{dave}/invite", data={"csrf_token": token})
    assert answer.status_code == 200
    text = html.unescape(answer.text)
    # The web world runs without a mail server: the page says to send the link by hand.
    assert "No mail server is configured: send Dave Okafor the sign-in link" in text
    assert "invited, not signed in yet" in text
    contoso = people.stores["contoso"].tenant.id
    async with people.services.scope(contoso).begin(write=False) as unit:
        audit = await unit.audit.lines()
        queued = list(await unit.session.scalars(select(MailOutbox)))
    assert [(a.actor, a.action, a.target) for a in audit] == [
        (ALICE, AuditAction.USER_INVITED, "dave@contoso.example")
    ]
    assert queued == []  # nothing queued without a mail server (R21d)
    assert await post(alice.browser, token, "/admin/employees/99999/invite") == 400
    bob = people.people[BOB]
    assert await post(bob.browser, await bob.csrf(), f"/admin/employees/{dave}/invite") == 403
