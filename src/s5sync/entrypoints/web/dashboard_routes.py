"""The user's dashboard (R14, R14c, R18, R20; issue 20 item 2): `/dashboard`, its live
status, the activity export, the heartbeat, and the controls that change the user's
sync (pause, resume, repair, sync now). Every POST takes the session's CSRF token.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from s5sync.core.records import UserRecord
from s5sync.entrypoints.web.pages import Dependency, Render
from s5sync.staff.accounts import Accounts

if TYPE_CHECKING:
    from s5sync.entrypoints.web.app import WebConfig

# Issue 23: a bounded activity page (an unbounded offset made SQLite overflow: a 500).
MAX_PAGE = 10_000


def install_dashboard_routes(
    app: FastAPI, accounts: Accounts, render: Render, signed_in: Dependency, csrf: Dependency
) -> None:
    @app.get("/dashboard", response_class=HTMLResponse)
    async def dashboard(
        request: Request,
        user: UserRecord = Depends(signed_in),
        page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    ) -> Response:
        if not user.onboarded and user.status != "needs_sign_in":
            return RedirectResponse("/onboarding", 303)
        await accounts.heartbeat(user)
        view = await accounts.dashboard(user, page)
        partial = request.headers.get("hx-target") == "activity"
        name = "partials/activity.html" if partial else "dashboard.html"
        return render(request, name, view=view, user=view.user)

    @app.get("/dashboard/activity.csv")
    async def activity_export(user: UserRecord = Depends(signed_in)) -> Response:
        from s5sync.entrypoints.web.admin import csv_download
        from s5sync.staff.exports import activity_csv

        tenant, lines = await accounts.activity_export(user)
        return csv_download(activity_csv(lines, tenant.options.time_zone), "my-activity.csv")

    @app.get("/dashboard/status", response_class=HTMLResponse)
    async def status(
        request: Request,
        user: UserRecord = Depends(signed_in),
        since: str = "",
        seen: int = 0,
    ) -> Response:
        """The live status (issue 20 item 2), polled by the page: after Sync now (`since`:
        when it was pressed) every second until a cycle started since then has finished;
        new activity lines replace the list in place when the last cycle is not `seen`."""
        view = await accounts.dashboard(user)
        syncing = False
        if since:
            try:
                pressed = datetime.fromisoformat(since)
            except ValueError:
                pressed = None
            syncing = pressed is not None and not view.synced_since(pressed)
        return render(
            request,
            "partials/status.html",
            view=view,
            user=view.user,
            syncing=since if syncing else "",
            fresh=view.last_run is not None and view.last_run.id != seen,
        )

    @app.post("/dashboard/heartbeat", dependencies=[Depends(csrf)])
    async def heartbeat(user: UserRecord = Depends(signed_in)) -> Response:
        # R14: an open dashboard keeps the user's cycles running.
        await accounts.heartbeat(user)
        return Response(status_code=204)


def install_sync_control_routes(
    app: FastAPI,
    accounts: Accounts,
    config: WebConfig,
    render: Render,
    signed_in: Dependency,
    csrf: Dependency,
) -> None:
    @app.post("/dashboard/pause", dependencies=[Depends(csrf)])
    async def pause(user: UserRecord = Depends(signed_in)) -> Response:
        await accounts.set_paused(user, True)  # R14c
        return RedirectResponse("/dashboard", 303)

    @app.post("/dashboard/resume", dependencies=[Depends(csrf)])
    async def resume(user: UserRecord = Depends(signed_in)) -> Response:
        await accounts.set_paused(user, False)
        if config.wake_scheduler is not None:
            await config.wake_scheduler()
        return RedirectResponse("/dashboard", 303)

    @app.post("/dashboard/repair", dependencies=[Depends(csrf)])
    async def repair(user: UserRecord = Depends(signed_in)) -> Response:
        """R14c: "Repair my sync" — the next cycle is a resync (issue 21 item 2)."""
        if not user.onboarded:
            return RedirectResponse("/onboarding", 303)
        await accounts.request_resync(user)
        if config.wake_scheduler is not None:
            await config.wake_scheduler()
        return RedirectResponse("/dashboard?repair=1", 303)

    @app.post("/dashboard/sync-now", dependencies=[Depends(csrf)], response_class=HTMLResponse)
    async def sync_now(request: Request, user: UserRecord = Depends(signed_in)) -> Response:
        await accounts.request_sync_now(user)
        if config.wake_scheduler is not None:
            await config.wake_scheduler()
        pressed = accounts.clock().replace(microsecond=0)
        view = await accounts.dashboard(user)
        return render(
            request,
            "partials/status.html",
            view=view,
            user=view.user,
            syncing=pressed.isoformat(),
            fresh=False,
        )
