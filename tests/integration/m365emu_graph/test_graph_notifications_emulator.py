"""Change notifications through the assembled emulator (issue 19 item 1): real RS256
tokens from the control plane, the Outlook page, the control routes (`faults`,
`lifecycle`, `stats`, `users/{email}/revoke`, `reset`) and persistence across a restart.
Both apps and the subscriber are reached in-process through httpx.ASGITransport."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from m365emu.app import Emulator, build_emulator, create_browser_app, create_tls_app
from m365emu.demo import DEMO_TENANT_ID, seed_demo
from m365emu.graph.events.payload import read_event_body
from support.notification_harness import LIFECYCLE_URL, NOTIFY_URL, Subscriber

ALICE = "alice@contoso.example"


@dataclass
class Assembled:
    emulator: Emulator
    graph: httpx.AsyncClient
    control: httpx.AsyncClient
    subscriber: Subscriber

    async def token(self, email: str = ALICE) -> dict[str, str]:
        answer = await self.control.post("/_emulator/token", json={"email": email})
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}

    async def subscribe(self, **overrides: Any) -> dict[str, Any]:
        body = {
            "changeType": "created,updated,deleted",
            "notificationUrl": NOTIFY_URL,
            "lifecycleNotificationUrl": LIFECYCLE_URL,
            "resource": "me/events",
            "expirationDateTime": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
            "clientState": "emulator-state",
            **overrides,
        }
        answer = await self.graph.post("/subscriptions", json=body, headers=await self.token())
        assert answer.status_code == 201, answer.text
        made: dict[str, Any] = answer.json()
        return made

    async def until(self, count: int, path: str = "graph/notifications") -> list[dict[str, Any]]:
        for _ in range(300):
            items = self.subscriber.items(path)
            if len(items) >= count:
                return items
            await asyncio.sleep(0.01)
        raise AssertionError(f"{count} expected at {path}, got {self.subscriber.items(path)}")


def assembled_emulator(data_dir: Path) -> tuple[Emulator, Subscriber]:
    emulator = build_emulator(data_dir)
    if not emulator.directory.tenants:
        seed_demo(emulator)
    subscriber = Subscriber()
    emulator.notifications.transport = httpx.ASGITransport(app=subscriber.app)
    return emulator, subscriber


@asynccontextmanager
async def clients(emulator: Emulator, subscriber: Subscriber) -> AsyncIterator[Assembled]:
    graph_transport = httpx.ASGITransport(app=create_tls_app(emulator))
    control_transport = httpx.ASGITransport(app=create_browser_app(emulator))
    async with (
        httpx.AsyncClient(transport=graph_transport, base_url="https://emu.test/v1.0") as graph,
        httpx.AsyncClient(transport=control_transport, base_url="http://emu.test") as control,
    ):
        yield Assembled(emulator, graph, control, subscriber)


@pytest.fixture
async def assembled(tmp_path: Path) -> AsyncIterator[Assembled]:
    emulator, subscriber = assembled_emulator(tmp_path)
    async with clients(emulator, subscriber) as ready, emulator.notifications.worker.running():
        yield ready
    emulator.close()


async def test_an_event_made_on_the_outlook_page_notifies_R14b(assembled: Assembled) -> None:
    made = await assembled.subscribe()
    users = (await assembled.control.get("/_emulator/users")).json()["value"]
    alice = next(u for u in users if u["email"] == ALICE)
    signin = await assembled.control.post(
        "/outlook/signin", data={"user": f"{DEMO_TENANT_ID}/{alice['id']}"}
    )
    assert signin.status_code in (302, 303)
    created = await assembled.control.post(
        "/outlook/events",
        data={
            "subject": "Tagged in Outlook",
            "start": "2026-12-02T09:00",
            "end": "2026-12-02T10:00",
        },
    )
    assert created.status_code in (302, 303), created.text
    [item] = await assembled.until(1)
    assert item["changeType"] == "created"
    assert item["subscriptionId"] == made["id"]
    assert item["tenantId"] == DEMO_TENANT_ID
    assert item["resource"].startswith(f"Users/{alice['id']}/Events/")


async def test_control_plane_faults_lifecycle_and_stats_R14b(assembled: Assembled) -> None:
    made = await assembled.subscribe()
    fault = {"method": "POST", "path": "*/graph/notifications", "kind": "duplicate"}
    armed = await assembled.control.post("/_emulator/faults", json=fault)
    assert armed.status_code == 201
    event = {
        "subject": "Twice",
        "start": {"dateTime": "2026-12-02T12:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-02T13:00:00", "timeZone": "UTC"},
    }
    await assembled.graph.post("/me/events", json=event, headers=await assembled.token())
    first, second = await assembled.until(2)
    assert first == second
    fired = await assembled.control.post(
        "/_emulator/lifecycle", json={"event": "missed", "email": ALICE}
    )
    assert fired.json()["fired"] == [made["id"]]
    assert (await assembled.until(1, "graph/lifecycle"))[0]["lifecycleEvent"] == "missed"
    stats = (await assembled.control.get("/_emulator/stats")).json()
    [listed] = stats["subscriptions"]
    assert listed["id"] == made["id"]
    assert listed["notificationUrl"] == NOTIFY_URL
    assert stats["deliveries"]["outcomes"]["delivered"] == 2
    assert [h["ok"] for h in stats["handshakes"]] == [True, True]
    unknown = await assembled.control.post(
        "/_emulator/lifecycle", json={"event": "missed", "subscription_id": "nope"}
    )
    assert unknown.status_code == 404


async def test_delivery_faults_armed_by_path_or_without_one_fire_R14b(
    assembled: Assembled,
) -> None:
    """SPEC "Microsoft 365 emulator": delivery faults through `faults`. A delivery
    fault's `path` may be the endpoint's path part, and may be left out (`*`); a
    request fault still needs one."""
    await assembled.subscribe()
    by_path = {"method": "POST", "path": "/graph/notifications", "kind": "duplicate"}
    armed = await assembled.control.post("/_emulator/faults", json=by_path)
    assert armed.status_code == 201, armed.text
    no_path = await assembled.control.post("/_emulator/faults", json={"kind": "duplicate"})
    assert no_path.status_code == 201, no_path.text
    assert no_path.json()["path"] == "*"
    needs_path = await assembled.control.post("/_emulator/faults", json={"kind": "throttle"})
    assert needs_path.status_code == 422
    event = {
        "subject": "Twice",
        "start": {"dateTime": "2026-12-02T12:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-02T13:00:00", "timeZone": "UTC"},
    }
    headers = await assembled.token()
    await assembled.graph.post("/me/events", json=event, headers=headers)
    first, second = await assembled.until(2)
    assert first == second
    await assembled.graph.post("/me/events", json={**event, "subject": "Again"}, headers=headers)
    items = await assembled.until(4)
    assert items[2] == items[3]
    assert assembled.emulator.faults.fired == {"duplicate": 2}


async def test_revoking_a_user_asks_reauthorization_that_old_tokens_cannot_answer_R19b(
    assembled: Assembled,
) -> None:
    old = await assembled.token()
    made = await assembled.subscribe()
    await asyncio.sleep(0.01)
    revoked = await assembled.control.post(f"/_emulator/users/{ALICE}/revoke")
    assert revoked.status_code == 200
    [item] = await assembled.until(1, "graph/lifecycle")
    assert item["lifecycleEvent"] == "reauthorizationRequired"
    refused = await assembled.graph.post(f"/subscriptions/{made['id']}/reauthorize", headers=old)
    assert refused.status_code == 403
    # Signed in again, later (`iat` has whole seconds: a token from the same second as
    # the revocation counts as older).
    later = datetime.now(UTC) + timedelta(seconds=2)
    await assembled.control.put("/_emulator/clock", json={"now": later.isoformat()})
    fresh = await assembled.token()
    again = await assembled.graph.post(f"/subscriptions/{made['id']}/reauthorize", headers=fresh)
    assert again.status_code == 204
    # Other users are not affected (R19b).
    bob = await assembled.graph.get(
        "/subscriptions", headers=await assembled.token("bob@contoso.example")
    )
    assert bob.status_code == 200


async def test_reset_forgets_subscriptions_R14b(assembled: Assembled) -> None:
    await assembled.subscribe()
    await assembled.control.post("/_emulator/reset", json={"demo": True})
    assert assembled.emulator.notifications.book.all() == []


async def test_plain_http_urls_need_a_demo_emulator_R14b(assembled: Assembled) -> None:
    http = {"notificationUrl": "http://127.0.0.1:9/graph/notifications"}
    body = {
        "changeType": "created",
        "resource": "me/events",
        "expirationDateTime": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
        **http,
    }
    refused = await assembled.graph.post(
        "/subscriptions", json=body, headers=await assembled.token()
    )
    assert refused.status_code == 400
    assembled.emulator.browser_root = "http://127.0.0.1:8301"  # as `m365emu serve` and the demo
    made = await assembled.subscribe(
        notificationUrl="http://127.0.0.1:9/graph/notifications", lifecycleNotificationUrl=None
    )
    assert made["notificationUrl"].startswith("http://")


async def test_subscriptions_survive_a_restart_R14b(tmp_path: Path) -> None:
    emulator, subscriber = assembled_emulator(tmp_path)
    async with clients(emulator, subscriber) as ready:
        made = await ready.subscribe()
    emulator.close()
    again, subscriber = assembled_emulator(tmp_path)
    try:
        [kept] = again.notifications.book.all()
        assert kept.id == made["id"]
        assert kept.client_state == "emulator-state"
        async with again.notifications.worker.running():
            box = again.graph_state.find_by_email(ALICE)
            assert box is not None
            changes = read_event_body(
                {
                    "subject": "After restart",
                    "start": {"dateTime": "2026-12-02T12:00:00", "timeZone": "UTC"},
                    "end": {"dateTime": "2026-12-02T13:00:00", "timeZone": "UTC"},
                }
            )
            box.events.create(changes, again.clock.now(), (box.name, box.email))
            await again.notifications.worker.settle()
        assert [i["subscriptionId"] for i in subscriber.items()] == [made["id"]]
    finally:
        again.close()
