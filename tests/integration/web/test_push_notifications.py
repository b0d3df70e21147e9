"""Graph change notifications end to end (R14b): the web app subscribes a signed-in
user's calendar on the Microsoft 365 emulator, which delivers every change to
`/graph/notifications` (through the ASGI transport, on this loop), and the local
scheduler runs the user's cycle within seconds — no Sync now, no 10-minute wait.
Forged and junk notifications through the real routes change nothing (R22)."""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from m365emu.testing import RunningEmulator
from s5sync.outlook.notifications import Bucket
from support.live_push import emulator_stats, live_push, settled, subscribed, tasks, wait_for
from support.secrets_story import capture_every_logger, release
from support.web_world import WebWorld

ALICE = "alice@contoso.example"
ERIN = "erin@fabrikam.example"


@pytest.fixture
async def live(world: WebWorld, running: RunningEmulator) -> AsyncIterator[WebWorld]:
    """Alice signed in with her dashboard open, push running as `serve` runs it."""
    async with live_push(world, running, ALICE):
        yield world


async def test_a_tagged_event_is_a_task_within_seconds_without_sync_now_R14b(
    live: WebWorld,
) -> None:
    await subscribed(live, ALICE)
    start = datetime.now(UTC) + timedelta(days=2)
    latencies = []
    with live.graph(ALICE) as graph:
        for n in range(20):
            title = f"Visit {n}"
            answer = graph.post(
                "/me/events",
                json={
                    "subject": f"[sync] {title}",
                    "start": {
                        "dateTime": (start + timedelta(hours=n)).isoformat(),
                        "timeZone": "UTC",
                    },
                    "end": {
                        "dateTime": (start + timedelta(hours=n, minutes=30)).isoformat(),
                        "timeZone": "UTC",
                    },
                },
            )
            assert answer.status_code == 201, answer.text
            latencies.append(await wait_for(lambda: title in tasks(live), 10.0))  # noqa: B023
    p95 = statistics.quantiles(latencies, n=20)[18]
    assert p95 < 3.0, latencies
    assert sorted(tasks(live)).count("Visit 0") == 1  # no duplicate (R16)


async def test_forged_and_junk_notifications_change_nothing_and_are_counted_R14b_R22(
    live: WebWorld,
) -> None:
    sub_id = (await subscribed(live, ALICE))[0]["id"]
    user = await live.user(ALICE)
    client = live.browser()
    forged = {
        "value": [
            {
                "subscriptionId": sub_id,
                "clientState": "a guess",
                "changeType": "created",
                "resource": "Users/x/Events/y",
                "tenantId": live.stores["contoso"].tenant.ms_tenant_id,
            }
        ]
    }
    assert (await client.post("/graph/notifications", json=forged)).status_code == 202
    assert (await client.post("/graph/notifications", content=b"{junk")).status_code == 400
    big = b"{" + b" " * (2 << 20) + b"}"
    assert (await client.post("/graph/notifications", content=big)).status_code == 413
    await asyncio.sleep(0.3)
    assert not (await live.user(ALICE)).sync_now_requested
    assert (await live.user(ALICE)).last_run_at == user.last_run_at
    metrics = (await client.get("/metrics")).text
    assert 's5sync_graph_notifications_total{result="forged"} 1.0' in metrics
    assert 's5sync_graph_notifications_total{result="malformed"} 1.0' in metrics
    assert 's5sync_graph_notifications_total{result="too_large"} 1.0' in metrics
    assert "a guess" not in metrics


async def test_the_validation_answer_is_the_token_as_plain_text_alone_R14b(
    world: WebWorld,
) -> None:
    client = world.browser()
    for path in ("/graph/notifications", "/graph/lifecycle"):
        token = "<script>alert('x')</script> Validation: Testing client application"
        answer = await client.post(path, params={"validationToken": token})
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/plain")
        assert answer.text == token
        assert answer.headers.get("x-content-type-options") == "nosniff"
        assert "set-cookie" not in answer.headers


async def test_opening_the_dashboard_subscribes_an_idle_user_at_once_not_at_a_sweep_R14_R14b(
    world: WebWorld, running: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The push loop sweeps every 30 s; a user who opens the dashboard must not wait for
    it: the heartbeat of a user without a live subscription sweeps at once. The periodic
    sweep is set an hour apart here, so only that hint can subscribe her."""
    monkeypatch.setattr("s5sync.scheduling.push.SWEEP_SECONDS", 3600.0)
    async with live_push(world, running, ALICE):
        await subscribed(world, ALICE)  # the loop's first sweep, then none for an hour
        user = await world.user(ALICE)
        push = world.app.state.push
        await push.manager.forget(user.tenant_id, user.id)  # gone while she was away
        async with world.services.scope(user.tenant_id).begin() as unit:
            await unit.users.heartbeat(user.id, datetime.now(UTC) - timedelta(hours=3))
        assert (await emulator_stats(world))["subscriptions"] == []
        assert (await world.user(ALICE)).push_live_until is None

        page = await world.people[ALICE].browser.get("/dashboard")  # back: R14's heartbeat
        assert page.status_code == 200

        async def made() -> bool:  # on Graph, and its row saved (written after Graph's answer)
            on_graph = len((await emulator_stats(world))["subscriptions"]) == 1
            return on_graph and (await world.user(ALICE)).push_live_until is not None

        for _ in range(400):  # a bound for a hang, not a timing claim
            if await made():
                break
            await asyncio.sleep(0.05)
        assert await made(), "opening the dashboard did not subscribe her"


async def test_the_endpoints_other_answers_keep_their_shape_R14b_R22(world: WebWorld) -> None:
    """The two paths are answered before FastAPI's routing (issue 19): another method is
    405 as a POST-only route answers, the rate bound is 429 with Retry-After before the
    body is read, and every answer carries the security headers and no cookie."""
    client = world.browser()
    for path in ("/graph/notifications", "/graph/lifecycle"):
        refused = await client.get(path)
        assert refused.status_code == 405
        assert refused.headers["allow"] == "POST"
        assert refused.headers.get("x-content-type-options") == "nosniff"
        assert "set-cookie" not in refused.headers
    world.app.state.push.intake.bucket = Bucket(rate=0.001, burst=1)
    first = await client.post("/graph/notifications", json={"value": []})
    assert first.status_code == 202
    limited = await client.post("/graph/notifications", json={"value": []})
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "1"
    assert limited.headers.get("content-security-policy", "").startswith("default-src 'none'")
    assert "set-cookie" not in limited.headers
    metrics = (await client.get("/metrics")).text
    assert 's5sync_graph_notifications_total{result="rate_limited"} 1.0' in metrics
    assert (await client.get("/healthz")).status_code == 200  # the rest of the app answers


async def test_unknown_foreign_replayed_and_html_notifications_through_the_route_R14b_R22(
    world: WebWorld, running: RunningEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """Through the real `/graph/notifications` (issue 19, audit gap 10): an unknown
    subscription id, another store's subscription id (with that store's client state
    and with ours), a replayed genuine notification and a validation token carrying
    HTML with a notification in its body. None runs a cycle (the replay's original
    runs exactly one), each is counted in `/metrics` by its kind, the token comes back
    alone as plain text, and neither store's client state appears in any log line,
    on stdout or stderr, or in the metrics — recorded from before the subscriptions
    are made (their secrets are born in the sweep) to the end of the exchange."""
    recorder = capture_every_logger()
    try:
        async with live_push(world, running, ALICE):
            await world.sign_in(ERIN)
            await world.onboard(ERIN)
            await world.people[ERIN].browser.get("/dashboard")  # R14: she is active too
            await world.app.state.push.manager.sweep()
            await settled(world, ALICE)
            await settled(world, ERIN)
            rows = world.app.state.push.rows
            ids = {(await world.user(email)).id: email for email in (ALICE, ERIN)}
            subs, keys = {}, {}
            for made in (await emulator_stats(world))["subscriptions"]:
                key = await rows.lookup(str(made["id"]))
                assert key is not None
                subs[ids[key.user_id]], keys[ids[key.user_id]] = str(made["id"]), key
            ours, theirs = keys[ALICE], keys[ERIN]
            assert ours.ms_tenant_id != theirs.ms_tenant_id
            before = {email: await cycles(world, email) for email in (ALICE, ERIN)}
            client = world.browser()

            def item(sub_id: str, state: str, etag: str = "1") -> dict[str, object]:
                return {
                    "subscriptionId": sub_id,
                    "clientState": state,
                    "changeType": "updated",
                    "resource": "Users/x/Events/y",
                    "resourceData": {"@odata.etag": f'W/"{etag}"', "id": "y"},
                    "tenantId": ours.ms_tenant_id,  # the sender claims our store
                }

            refused = [
                item("00000000-0000-0000-0000-000000000000", ours.client_state),  # unknown
                item(subs[ERIN], theirs.client_state),  # another store's, its own secret
                item(subs[ERIN], ours.client_state),  # another store's, our secret
            ]
            for body in refused:
                sent = await client.post("/graph/notifications", json={"value": [body]})
                assert sent.status_code == 202  # Graph is never told which was refused
                assert sent.content == b""
            token = '<script>alert("x")</script><b>Validation</b>'
            genuine = {"value": [item(subs[ALICE], ours.client_state, etag="7")]}
            handshake = await client.post(
                "/graph/notifications", params={"validationToken": token}, json=genuine
            )
            assert handshake.status_code == 200
            assert handshake.headers["content-type"].startswith("text/plain")
            assert handshake.headers["x-content-type-options"] == "nosniff"
            assert handshake.text == token  # the token alone: the body is not read
            await asyncio.sleep(0.5)  # room for a wrong cycle to start
            for email in (ALICE, ERIN):
                assert await cycles(world, email) == before[email], email
                assert not (await world.user(email)).sync_now_requested, email

            first = await client.post("/graph/notifications", json=genuine)
            assert first.status_code == 202
            await wait_for_cycles(world, ALICE, before[ALICE] + 1)
            await settled(world, ALICE)
            replay = await client.post("/graph/notifications", json=genuine)
            assert replay.status_code == 202
            await asyncio.sleep(0.5)
            assert await cycles(world, ALICE) == before[ALICE] + 1  # the replay ran none
            assert await cycles(world, ERIN) == before[ERIN]
            assert not (await world.user(ALICE)).sync_now_requested
            metrics = (await client.get("/metrics")).text
    finally:
        release(recorder)
    for result, n in (("unknown", 1), ("wrong_tenant", 1), ("forged", 1), ("duplicate", 1)):
        assert f's5sync_graph_notifications_total{{result="{result}"}} {n}.0' in metrics
    assert 's5sync_graph_notifications_total{result="accepted"} 1.0' in metrics
    captured = capsys.readouterr()
    lines = recorder.texts()
    assert any("subscriptions.created" in line for line in lines)  # the logs were recorded
    for secret in (ours.client_state, theirs.client_state):
        assert not [line for line in lines if secret in line]
        assert secret not in captured.out
        assert secret not in captured.err
        assert secret not in metrics


async def cycles(world: WebWorld, email: str) -> int:
    """How many cycles of the user have started (`sync_run` rows)."""
    user = await world.user(email)
    async with world.services.db.connection() as conn:
        found = await conn.execute(
            text("SELECT count(*) FROM sync_run WHERE user_id = :id"), {"id": user.id}
        )
        return int(found.scalar_one())


async def wait_for_cycles(world: WebWorld, email: str, n: int) -> None:
    for _ in range(400):  # a bound for a hang, not a timing claim
        if await cycles(world, email) >= n:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{email}: fewer than {n} cycles")
