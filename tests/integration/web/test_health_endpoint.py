"""`/healthz` (issue 11): 200 while the database answers and the scheduler runs; 503
naming what failed otherwise — the probe an orchestrator restarts the process on."""

from __future__ import annotations

from pathlib import Path

import httpx

from m365emu.testing import RunningEmulator
from s5sync.entrypoints.bootstrap import build_services
from s5sync.entrypoints.web.app import web_app
from support.web_world import BASE, settings_for


async def test_healthz_reports_database_and_scheduler(
    tmp_path: Path, running: RunningEmulator
) -> None:
    settings = settings_for(tmp_path, running)
    services = build_services(settings)
    app = web_app(services)
    scheduler = app.state.scheduler
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as web:
        answer = await web.get("/healthz")
        assert (answer.status_code, answer.json()["scheduler"]) == (503, False)  # not started
        scheduler.start()
        answer = await web.get("/healthz")
        assert (answer.status_code, answer.json()) == (
            200,
            {"ok": True, "database": True, "scheduler": True},
        )
        await scheduler.stop()
        assert (await web.get("/healthz")).json()["scheduler"] is False
        (tmp_path / "calendarevent.db").unlink()  # the database is gone
        answer = await web.get("/healthz")
        assert (answer.status_code, answer.json()["database"]) == (503, False)
    await services.aclose()
