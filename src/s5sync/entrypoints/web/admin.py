"""The administrator's pages under `/admin` (R21, R21b, R21c; issue 11).

`/admin` is the health view (who needs attention first), `/admin/options` the store
options with the R21b confirmation step before a time-zone change, `/admin/users` the
staff and their System Five employees (map, unmap, remove). Every route needs a signed-in
user holding the administrator role of their own store — anyone else gets 403 — and
every state-changing one the session's CSRF token. Nothing here can reach another
store: `StoreAdministration` works only in the administrator's `TenantScope`, so a user
id of another store is "not found" (404). The System Five connection is not shown or
editable here (R21c).

`install_admin_routes` builds the administrator dependency and calls one installer per
page group: health (`/admin`, pause, resume, resync, user test), options, the Staff page
(`admin_staff_routes.py`: users, remove, invite; map, unmap) and audit/exports.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from s5sync.core.records import UserRecord
from s5sync.entrypoints.web.admin_staff_routes import (
    StaffPages,
    install_mapping_routes,
    install_staff_routes,
)
from s5sync.entrypoints.web.pages import Dependency, Render
from s5sync.staff.administration import NoSuchUser, StoreAdministration
from s5sync.staff.exports import activity_csv, audit_csv
from s5sync.staff.invites import Invitations
from s5sync.staff.store_options import CATEGORY_COLOURS
from s5sync.staff.usertest import UserTest


def install_admin_routes(
    app: FastAPI,
    admin: StoreAdministration,
    render: Render,
    signed_in: Dependency,
    csrf: Dependency,
    zones: list[str],
    user_test: UserTest | None = None,
    invitations: Invitations | None = None,
    wake: Callable[[], Awaitable[None]] | None = None,
) -> None:
    async def administrator(user: UserRecord = Depends(signed_in)) -> UserRecord:
        if not user.is_admin:
            raise HTTPException(
                status_code=403,
                detail="Only your store's administrators can open these pages.",
            )
        return user

    install_admin_health_routes(app, admin, render, administrator, csrf, user_test, wake)
    install_options_routes(app, admin, render, administrator, csrf, zones)
    staff = StaffPages(admin, render)
    install_staff_routes(app, admin, staff, administrator, csrf, invitations)
    install_mapping_routes(app, admin, staff, administrator, csrf)
    install_audit_routes(app, admin, render, administrator)


@contextmanager
def in_store() -> Iterator[None]:
    """A user id from another store (or none) is a 404, as if it did not exist."""
    try:
        yield
    except NoSuchUser:
        raise HTTPException(status_code=404, detail="No such user in your store.") from None


def install_admin_health_routes(
    app: FastAPI,
    admin: StoreAdministration,
    render: Render,
    administrator: Dependency,
    csrf: Dependency,
    user_test: UserTest | None,
    wake: Callable[[], Awaitable[None]] | None,
) -> None:
    @app.get("/admin", response_class=HTMLResponse)
    async def health(request: Request, user: UserRecord = Depends(administrator)) -> Response:
        tenant, rows = await admin.health(user)
        problems = await admin.open_problems(user)
        return render(
            request, "admin/health.html", user=user, tenant=tenant, rows=rows, problems=problems
        )

    async def set_paused(user: UserRecord, user_id: int, paused: bool) -> Response:
        with in_store():
            await admin.set_paused(user, user_id, paused)
        return RedirectResponse("/admin?saved=1", 303)

    @app.post("/admin/users/{user_id}/pause", dependencies=[Depends(csrf)])
    async def pause_user(
        request: Request, user_id: int, user: UserRecord = Depends(administrator)
    ) -> Response:
        return await set_paused(user, user_id, True)

    @app.post("/admin/users/{user_id}/resume", dependencies=[Depends(csrf)])
    async def resume_user(
        request: Request, user_id: int, user: UserRecord = Depends(administrator)
    ) -> Response:
        return await set_paused(user, user_id, False)

    @app.post("/admin/users/{user_id}/resync", dependencies=[Depends(csrf)])
    async def resync_user(
        request: Request, user_id: int, user: UserRecord = Depends(administrator)
    ) -> Response:
        """R14c: repair one user's sync at their next cycle; audited (R21d)."""
        with in_store():
            await admin.request_resync(user, user_id)
        if wake is not None:
            await wake()
        return RedirectResponse("/admin?saved=1", 303)

    install_user_test_route(app, render, administrator, csrf, user_test)


def install_user_test_route(
    app: FastAPI,
    render: Render,
    administrator: Dependency,
    csrf: Dependency,
    user_test: UserTest | None,
) -> None:
    @app.post("/admin/users/{user_id}/test", dependencies=[Depends(csrf)])
    async def test_user(
        request: Request, user_id: int, user: UserRecord = Depends(administrator)
    ) -> Response:
        """Issue 21 item 6: the onboarding self-test for any user of the store."""
        if user_test is None:
            raise HTTPException(status_code=404, detail="The user test is not available here.")
        try:
            result = await user_test.run(user, user_id)
        except NoSuchUser:
            raise HTTPException(status_code=404, detail="No such user in your store.") from None
        return render(request, "admin/user_test.html", user=user, result=result)


def install_options_routes(
    app: FastAPI,
    admin: StoreAdministration,
    render: Render,
    administrator: Dependency,
    csrf: Dependency,
    zones: list[str],
) -> None:
    def options_page(
        request: Request, user: UserRecord, status_code: int = 200, **context: Any
    ) -> HTMLResponse:
        return render(
            request,
            "admin/options.html",
            status_code=status_code,
            user=user,
            colours=CATEGORY_COLOURS,
            zones=zones,
            **context,
        )

    @app.get("/admin/options", response_class=HTMLResponse)
    async def options(
        request: Request, user: UserRecord = Depends(administrator), saved: bool = False
    ) -> Response:
        tenant = await admin.store(user)
        return options_page(
            request, user, tenant=tenant, values=vars(tenant.options), errors={}, saved=saved
        )

    @app.post("/admin/options", dependencies=[Depends(csrf)])
    async def save_options(request: Request, user: UserRecord = Depends(administrator)) -> Response:
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        result = await admin.save_options(
            user, form, zone_confirmed=form.get("confirm_time_zone") == "yes"
        )
        if result.saved:
            return RedirectResponse("/admin/options?saved=1", 303)
        if result.confirm_time_zone:
            return render(
                request,
                "admin/confirm_zone.html",
                user=user,
                tenant=result.tenant,
                values=result.values,
            )
        return options_page(
            request,
            user,
            status_code=400,
            tenant=result.tenant,
            values=result.values,
            errors=result.errors,
            saved=False,
        )


def install_audit_routes(
    app: FastAPI, admin: StoreAdministration, render: Render, administrator: Dependency
) -> None:
    @app.get("/admin/audit", response_class=HTMLResponse)
    async def audit(request: Request, user: UserRecord = Depends(administrator)) -> Response:
        tenant, lines = await admin.audit(user)
        return render(request, "admin/audit.html", user=user, tenant=tenant, lines=lines)

    @app.get("/admin/audit.csv")
    async def audit_export(user: UserRecord = Depends(administrator)) -> Response:
        tenant, lines = await admin.audit(user, limit=None)
        return csv_download(audit_csv(lines, tenant.options.time_zone), "audit.csv")

    @app.get("/admin/users/{user_id}/activity.csv")
    async def user_activity_export(
        user_id: int, user: UserRecord = Depends(administrator)
    ) -> Response:
        try:
            whose, lines = await admin.user_activity(user, user_id)
        except NoSuchUser:
            raise HTTPException(status_code=404, detail="No such user in your store.") from None
        tenant = await admin.store(user)
        name = f"activity-{whose.id}.csv"
        return csv_download(activity_csv(lines, tenant.options.time_zone), name)


def csv_download(text: str, filename: str) -> Response:
    """A CSV file download (never rendered inline: it holds text typed by anyone)."""
    return PlainTextResponse(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
