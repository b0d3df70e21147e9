"""A served emulator (`m365emu.testing.run_emulator`, as `m365emu serve` and the demo run
it) delivers change notifications from its own thread over real loopback sockets, to a
subscriber on plain http as the demo's web app is (issue 19 items 1 and 7)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from m365emu.server import BackgroundServer, bind, make_server
from m365emu.testing import run_emulator
from support.notification_harness import Subscriber

ALICE = "alice@contoso.example"


def test_a_served_emulator_delivers_over_loopback_http_R14b(tmp_path: Path) -> None:
    subscriber = Subscriber()
    sock = bind("127.0.0.1", 0)
    server = BackgroundServer(make_server(subscriber.app), sock)
    server.start()
    root = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        with run_emulator(tls_dir=tmp_path, seed=True) as running:
            running.emulator.plain_http_notifications = True
            token = httpx.post(f"{running.urls.control}/token", json={"email": ALICE}).json()
            headers = {"Authorization": f"Bearer {token['access_token']}"}
            with httpx.Client(
                base_url=running.urls.graph, headers=headers, verify=running.ssl_context()
            ) as graph:
                made = graph.post(
                    "/subscriptions",
                    json={
                        "changeType": "created",
                        "notificationUrl": f"{root}/graph/notifications",
                        "lifecycleNotificationUrl": f"{root}/graph/lifecycle",
                        "resource": "me/events",
                        "expirationDateTime": (datetime.now(UTC) + timedelta(hours=6)).isoformat(),
                        "clientState": "served",
                    },
                )
                assert made.status_code == 201, made.text
                event = {
                    "subject": "Over loopback",
                    "start": {"dateTime": "2026-12-02T12:00:00", "timeZone": "UTC"},
                    "end": {"dateTime": "2026-12-02T13:00:00", "timeZone": "UTC"},
                }
                assert graph.post("/me/events", json=event).status_code == 201
                started = time.monotonic()
                while not subscriber.items() and time.monotonic() - started < 10:
                    time.sleep(0.02)
            [item] = subscriber.items()
            assert item["subscriptionId"] == made.json()["id"]
            assert item["clientState"] == "served"
            assert time.monotonic() - started < 2  # seconds, not minutes (R14b)
    finally:
        server.stop()
