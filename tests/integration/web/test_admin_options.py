"""The administrator's options, staff and health pages at work (R20, R21, R21b).

Options saved in the page take effect on the next cycle: a new sync tag imports, the
old one no longer does, a new category name is used on the next event written. A new
time zone is saved only after the warning is confirmed. Staff are mapped to an employee
picked from System Five's list, unmapped and removed. The health view lists who needs
the administrator first. Each cycle runs through the web app's own cycle runner, so
`/metrics` counts it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bs4 import BeautifulSoup
from sqlalchemy import text

from s5sync.core.records import Outcome
from s5sync.store.subscriptions import SubscriptionRows
from support.cycle_rows import record_cycle
from support.web_pages import ALICE, BOB, options_form, post, tomorrow_at
from support.web_world import ZONE, WebWorld


def outlook_event(world: WebWorld, email: str, subject: str, days: int) -> str:
    start = (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0, tzinfo=None)
    with world.graph(email) as graph:
        answer = graph.post(
            "/me/events",
            json={
                "subject": subject,
                "start": {"dateTime": start.isoformat(), "timeZone": "UTC"},
                "end": {"dateTime": (start + timedelta(hours=1)).isoformat(), "timeZone": "UTC"},
            },
        )
        answer.raise_for_status()
        return str(answer.json()["id"])


def imported_titles(world: WebWorld, email: str) -> set[str]:
    with world.store_of(email).desk.engine.connect() as conn:
        rows = conn.execute(text("SELECT title FROM task WHERE external_ref IS NOT NULL"))
        return {row.title for row in rows}


async def test_new_tag_and_category_take_effect_on_the_next_cycle_R21b(people: WebWorld) -> None:
    alice = people.people[ALICE]
    employee = await people.employee(ALICE)
    people.add_task(ALICE, "Deliver sofa", tomorrow_at(10), tomorrow_at(11), employee)
    first = await people.cycle(ALICE)
    assert first.outcome == "ok", first.error
    [sofa] = people.events(ALICE)
    assert sofa["categories"] == ["Received From System5"]

    form = options_form(sync_tag="[shop]", category_name="From the shop", category_color="preset7")
    assert await post(alice.browser, await alice.csrf(), "/admin/options", **form) == 303
    page = await alice.browser.get("/admin/options?saved=1")
    assert "The new options apply from each user" in page.text

    people.add_task(ALICE, "Deliver table", tomorrow_at(14), tomorrow_at(15), employee)
    outlook_event(people, ALICE, "Measure kitchen [shop]", days=5)
    outlook_event(people, ALICE, "Old habit [sync]", days=5)
    second = await people.cycle(ALICE)
    assert second.outcome == "ok", second.error
    table = next(e for e in people.events(ALICE) if e["subject"] == "Deliver table")
    assert "From the shop" in table["categories"]
    assert imported_titles(people, ALICE) == {"Measure kitchen"}

    metrics = (await people.browser().get("/metrics")).text
    assert 's5sync_cycles_total{outcome="ok"} 2.0' in metrics
    assert 's5sync_graph_requests_total{kind="calendarView/delta",method="GET",status="200"}' in (
        metrics
    )
    assert 's5sync_users{status="active"}' in metrics


async def test_a_new_time_zone_is_saved_only_after_the_warning_is_confirmed_R21b(
    people: WebWorld,
) -> None:
    alice = people.people[ALICE]
    token = await alice.csrf()
    form = options_form(time_zone="Europe/Paris", sync_tag="[zone]")
    warning = await alice.browser.post("/admin/options", data={"csrf_token": token, **form})
    assert warning.status_code == 200
    assert "every future event already sent to Outlook moves" in warning.text
    tenant = await people.services.directory.tenant(people.stores["contoso"].tenant.id)
    assert (tenant.options.time_zone, tenant.options.sync_tag) == (ZONE, "[sync]")
    confirm = BeautifulSoup(warning.text, "html.parser").find(
        "form", attrs={"action": "/admin/options"}
    )
    assert confirm is not None
    fields = {str(i["name"]): str(i.get("value", "")) for i in confirm.find_all("input")}
    assert fields["confirm_time_zone"] == "yes"
    assert (await alice.browser.post("/admin/options", data=fields)).status_code == 303
    tenant = await people.services.directory.tenant(tenant.id)
    assert (tenant.options.time_zone, tenant.options.sync_tag) == ("Europe/Paris", "[zone]")


async def test_invalid_options_are_refused_field_by_field_and_nothing_is_saved_R21(
    people: WebWorld,
) -> None:
    alice = people.people[ALICE]
    before = await people.services.directory.tenant(people.stores["contoso"].tenant.id)
    form = options_form(
        sync_tag=" ", category_color="purple", interval_minutes="0", time_zone="Mars/Olympus"
    )
    answer = await alice.browser.post(
        "/admin/options", data={"csrf_token": await alice.csrf(), **form}
    )
    assert answer.status_code == 400
    for message in (
        "The sync tag cannot be empty",
        "Pick one of Outlook",
        "The interval must be between",
        "is not a time zone name",
    ):
        assert message in answer.text
    assert await people.services.directory.tenant(before.id) == before


async def test_administrator_maps_unmaps_and_removes_staff_from_system_fives_list_R20(
    world: WebWorld,
) -> None:
    await world.sign_in(ALICE)
    await world.onboard(ALICE, admin=True)
    await world.sign_in("carol@contoso.example")  # no employee has Carol's e-mail yet
    alice = world.people[ALICE]
    carol = await world.user("carol@contoso.example")
    assert not carol.onboarded
    employee = world.store_of(ALICE).desk.add_employee("CD", "Carol D.", "carol.d@store.example")
    page = await alice.browser.get("/admin/users")
    assert "Carol D. (CD)" in page.text
    token = await alice.csrf()
    path = f"/admin/users/{carol.id}"
    assert await post(alice.browser, token, f"{path}/map", employee_id="999") == 400
    status = await post(
        alice.browser, token, f"{path}/map", employee_id=str(employee), confirm="yes"
    )
    assert status == 303
    mapped = await world.user("carol@contoso.example")
    assert (mapped.employee_id, mapped.onboarded) == (employee, True)
    # One employee, one user: mapping Alice to Carol's employee is refused.
    alice_id = (await world.user(ALICE)).id
    taken = await alice.browser.post(
        f"/admin/users/{alice_id}/map", data={"csrf_token": token, "employee_id": str(employee)}
    )
    assert taken.status_code == 400
    assert "already mapped to carol@contoso.example" in taken.text
    assert await post(alice.browser, token, f"{path}/unmap", confirm="yes") == 303
    assert not (await world.user("carol@contoso.example")).onboarded
    assert await post(alice.browser, token, f"{path}/remove", confirm="yes") == 303
    assert await world.services.directory.find_users("carol@contoso.example") == []
    assert await post(alice.browser, token, f"/admin/users/{alice_id}/remove") == 400


async def test_health_lists_needs_sign_in_and_failing_users_first_R21_R19b(
    people: WebWorld,
) -> None:
    await people.sign_in("carol@contoso.example")
    await people.onboard("carol@contoso.example")
    alice, bob, carol = [await people.user(e) for e in (ALICE, BOB, "carol@contoso.example")]
    subscriptions = SubscriptionRows(people.services.db, people.services.box)
    await subscriptions.needs_sign_in(alice.tenant_id, carol.id, "invalid_grant")
    await record_cycle(
        people.services.cycle_store(alice.tenant_id),
        bob.id,
        datetime.now(UTC),
        outcome=Outcome.FAILED,
        error="System Five could not be read (OperationalError)",
    )
    page = await people.people[ALICE].browser.get("/admin")
    rows = BeautifulSoup(page.text, "html.parser").select("table.health tbody tr")
    order = [row.th.get_text(" ", strip=True) for row in rows if row.th]
    assert ["Carol" in order[0], "Bob" in order[1], "Alice" in order[2]] == [True, True, True]
    assert "Needs to sign in again" in rows[0].get_text()
    assert "System Five could not be read" in rows[1].get_text()


async def test_the_watcher_period_and_the_safety_net_are_store_options_R14b(
    people: WebWorld,
) -> None:
    alice = people.people[ALICE]
    page = await alice.browser.get("/admin/options")
    assert 'name="s5_poll_seconds"' in page.text
    assert 'name="safety_minutes"' in page.text
    form = options_form(s5_poll_seconds="5", safety_minutes="90")
    assert await post(alice.browser, await alice.csrf(), "/admin/options", **form) == 303
    tenant = await people.services.directory.tenant(people.stores["contoso"].tenant.id)
    assert (tenant.options.s5_poll_seconds, tenant.options.safety_minutes) == (5, 90)
    bad = options_form(s5_poll_seconds="0")
    assert await post(alice.browser, await alice.csrf(), "/admin/options", **bad) == 400
