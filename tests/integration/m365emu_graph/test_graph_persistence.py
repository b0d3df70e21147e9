"""Graph state survives a restart without shutdown (issue 4 item 3, kill -9): every event,
category and delta token is written through Persistence (SQLite) as it changes, so a new
GraphState on the same file — what a restarted process builds — has them all."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import httpx

from m365emu.clock import EmulatorClock
from m365emu.graph import GraphState
from m365emu.graph.fakes import StaticTokenVerifier
from m365emu.persistence import Persistence
from support.graph_harness import ALICE, BASE, TENANT, build_app

SERIES = {
    "subject": "Stand-up",
    "start": {"dateTime": "2026-12-01T09:00:00", "timeZone": "W. Europe Standard Time"},
    "end": {"dateTime": "2026-12-01T09:15:00", "timeZone": "W. Europe Standard Time"},
    "transactionId": "tx-1",
    "recurrence": {
        "pattern": {"type": "daily", "interval": 1},
        "range": {"type": "numbered", "startDate": "2026-12-01", "numberOfOccurrences": 3},
    },
}
WINDOW = {"startDateTime": "2026-12-01T00:00:00Z", "endDateTime": "2026-12-08T00:00:00Z"}


async def test_events_categories_and_delta_tokens_survive_a_restart(tmp_path: Path) -> None:
    clock = EmulatorClock()
    verifier = StaticTokenVerifier(clock)
    token = verifier.issue(TENANT, ALICE, "alice@contoso.test", "Alice Adams")
    headers = {"Authorization": f"Bearer {token}"}

    first = Persistence(tmp_path / "emu.sqlite3")
    app, *_ = build_app(GraphState(first), clock, verifier)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        made = (await client.post("/me/events", json=SERIES, headers=headers)).json()
        view = (await client.get("/me/calendarView", params=WINDOW, headers=headers)).json()
        await client.delete(f"/me/events/{view['value'][1]['id']}", headers=headers)
        await client.post(
            "/me/outlook/masterCategories",
            json={"displayName": "Sync", "color": "preset4"},
            headers=headers,
        )
        delta = (await client.get("/me/calendarView/delta", params=WINDOW, headers=headers)).json()
    # No close(): the process dies here. A new process opens the same file.
    second = Persistence(tmp_path / "emu.sqlite3")
    app, *_ = build_app(GraphState(second), clock, verifier)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
        again = (await client.get(f"/me/events/{made['id']}", headers=headers)).json()
        assert again["changeKey"] != made["changeKey"]  # the cancelled occurrence changed it
        assert again["subject"] == "Stand-up"
        view = (await client.get("/me/calendarView", params=WINDOW, headers=headers)).json()
        assert len(view["value"]) == 2
        retry = await client.post("/me/events", json=SERIES, headers=headers)
        assert retry.json()["id"] == made["id"]  # transactionId dedupe survives too
        cats = (await client.get("/me/outlook/masterCategories", headers=headers)).json()
        assert [c["displayName"] for c in cats["value"]] == ["Sync"]
        link = urlsplit(delta["@odata.deltaLink"])
        idle = await client.get(link.path.removeprefix("/v1.0") + "?" + link.query, headers=headers)
        assert idle.status_code == 200
        assert idle.json()["value"] == []
    first.close()
    second.close()
