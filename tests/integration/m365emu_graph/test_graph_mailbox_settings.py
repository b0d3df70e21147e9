"""/me/mailboxSettings: the mailbox's time zone, read and changed as on Graph
(user-get-mailboxsettings.md, user-update-mailboxsettings.md), shown by the Outlook page
(issue 20 item 11)."""

from __future__ import annotations

from support.graph_harness import ALICE, TENANT, GraphHarness


async def test_time_zone_is_read_and_changed_with_mailbox_settings_scopes(
    graph: GraphHarness,
) -> None:
    first = await graph.client.get("/me/mailboxSettings", headers=graph.headers())
    assert first.status_code == 200
    assert first.json()["timeZone"] == "UTC"
    changed = await graph.client.patch(
        "/me/mailboxSettings",
        json={"timeZone": "Eastern Standard Time"},
        headers=graph.headers(**{"Content-Type": "application/json"}),
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["timeZone"] == "Eastern Standard Time"
    box = graph.state.find(f"{TENANT}/{ALICE}")
    assert box is not None
    assert box.time_zone == "Eastern Standard Time"

    unknown = await graph.client.patch(
        "/me/mailboxSettings",
        json={"timeZone": "Mars/Olympus"},
        headers=graph.headers(**{"Content-Type": "application/json"}),
    )
    assert unknown.status_code == 400
    read_only = graph.verifier.issue(
        TENANT, ALICE, "alice@contoso.test", scopes=frozenset({"MailboxSettings.Read"})
    )
    refused = await graph.client.patch(
        "/me/mailboxSettings",
        json={"timeZone": "UTC"},
        headers=graph.headers(read_only, **{"Content-Type": "application/json"}),
    )
    assert refused.status_code == 403
