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
            {
                "ok": True,
                "database": True,
                "scheduler": True,
                # R14b: push on (an https public URL) or why users are polled instead
                "push": "Live: changes arrive by Graph change notifications",
            },
        )
        await scheduler.stop()
        assert (await web.get("/healthz")).json()["scheduler"] is False
        (tmp_path / "calendarevent.db").unlink()  # the database is gone
        answer = await web.get("/healthz")
        assert (answer.status_code, answer.json()["database"]) == (503, False)
    await services.aclose()


async def test_metrics_and_healthz_need_the_token_or_an_allowed_network(
    tmp_path: Path, running: RunningEmulator
) -> None:
    """Issue 22: S5SYNC_METRICS_TOKEN and S5SYNC_METRICS_ALLOW close the operator's
    endpoints; ASGITransport's client is 127.0.0.1."""
    settings = settings_for(
        tmp_path, running, metrics_token="t" * 40, metrics_allow="10.0.0.0/8, 192.168.1.0/24"
    )
    services = build_services(settings)
    app = web_app(services, run_scheduler=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as web:
        for route in ("/metrics", "/healthz"):
            refused = await web.get(route)
            assert (refused.status_code, refused.headers["www-authenticate"]) == (401, "Bearer")
            assert "s5sync_" not in refused.text
            wrong = await web.get(route, headers={"Authorization": "Bearer " + "u" * 40})
            assert wrong.status_code == 401
        opened = await web.get("/metrics", headers={"Authorization": "Bearer " + "t" * 40})
        assert opened.status_code == 200
        assert "s5sync_cycles_total" in opened.text or "s5sync_users" in opened.text
        assert (await web.get("/", follow_redirects=False)).status_code == 200  # pages stay open
    allowed = httpx.ASGITransport(app=app, client=("10.1.2.3", 40000))
    async with httpx.AsyncClient(transport=allowed, base_url=BASE) as web:
        assert (await web.get("/metrics")).status_code == 200  # from the allowed network
    await services.aclose()


async def test_endpoints_stay_open_without_settings_for_the_demo(
    tmp_path: Path, running: RunningEmulator
) -> None:
    services = build_services(settings_for(tmp_path, running))
    app = web_app(services, run_scheduler=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as web:
        assert (await web.get("/metrics")).status_code == 200
        assert (await web.get("/healthz")).status_code == 200
    await services.aclose()
