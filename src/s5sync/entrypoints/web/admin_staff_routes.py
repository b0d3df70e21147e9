"""The administrator's Staff page, `/admin/users` (R21; issue 21 items 4 and 5): the
staff and their System Five employees, and the changes made there (map, unmap, remove,
invite), each state-changing route behind the session's CSRF token and, for map, unmap
and remove, a confirming POST. The administrator dependency comes from `admin.py`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from s5sync.core.records import UserRecord
from s5sync.entrypoints.web.pages import Dependency, Render
from s5sync.staff.administration import AdminError, NoSuchUser, StoreAdministration
from s5sync.staff.invites import Invitations, roster
from s5sync.staff.mapping import remove_sentence, unmap_sentence


class StaffPages:
    """The Staff page, its refusals and the confirmation step."""

    def __init__(self, admin: StoreAdministration, render: Render) -> None:
        self.admin = admin
        self.render = render

    async def page(
        self, request: Request, user: UserRecord, status_code: int = 200, **context: Any
    ) -> Response:
        """The Staff page: users and their employees, and every employee's state."""
        view = await self.admin.staff(user)
        values = {"problem": None, "saved": False, "notice": None, **context}
        return self.render(
            request,
            "admin/users.html",
            status_code=status_code,
            user=user,
            view=view,
            roster=roster(view.employees, view.users),
            **values,
        )

    async def refused(self, request: Request, user: UserRecord, error: AdminError) -> Response:
        status = 404 if isinstance(error, NoSuchUser) else 400
        return await self.page(request, user, status, problem=error)

    def confirm(
        self,
        request: Request,
        user: UserRecord,
        title: str,
        sentence: str,
        action: str,
        button: str,
        **fields: str,
    ) -> Response:
        """Issue 21 item 4: say what will happen; only the confirming POST does it."""
        return self.render(
            request,
            "admin/confirm_change.html",
            user=user,
            title=title,
            sentence=sentence,
            action=action,
            button=button,
            fields=fields,
        )


def install_staff_routes(
    app: FastAPI,
    admin: StoreAdministration,
    pages: StaffPages,
    administrator: Dependency,
    csrf: Dependency,
    invitations: Invitations | None,
) -> None:
    @app.get("/admin/users", response_class=HTMLResponse)
    async def users(
        request: Request, user: UserRecord = Depends(administrator), saved: bool = False
    ) -> Response:
        return await pages.page(request, user, saved=saved)

    @app.post("/admin/users/{user_id}/remove", dependencies=[Depends(csrf)])
    async def remove_user(
        request: Request,
        user_id: int,
        confirmed: Annotated[str, Form(alias="confirm")] = "",
        user: UserRecord = Depends(administrator),
    ) -> Response:
        try:
            if confirmed != "yes":
                admin.check_removable(user, user_id)
                whose, _ = await admin.sent_count(user, user_id)
                return pages.confirm(
                    request,
                    user,
                    f"Remove {whose.display_name or whose.email}?",
                    remove_sentence(whose),
                    f"/admin/users/{user_id}/remove",
                    "Yes, remove",
                )
            await admin.remove_user(user, user_id)
        except AdminError as error:
            return await pages.refused(request, user, error)
        return RedirectResponse("/admin/users?saved=1", 303)

    @app.post("/admin/employees/{employee_id}/invite", dependencies=[Depends(csrf)])
    async def invite(
        request: Request, employee_id: int, user: UserRecord = Depends(administrator)
    ) -> Response:
        """Issue 21 item 5: the employee's sign-in link by e-mail (R21d's outbox)."""
        if invitations is None:
            raise HTTPException(status_code=404, detail="Invitations are not available here.")
        try:
            notice = await invitations.invite(user, employee_id)
        except AdminError as error:
            return await pages.refused(request, user, error)
        return await pages.page(request, user, notice=notice)


def install_mapping_routes(
    app: FastAPI,
    admin: StoreAdministration,
    pages: StaffPages,
    administrator: Dependency,
    csrf: Dependency,
) -> None:
    @app.post("/admin/users/{user_id}/map", dependencies=[Depends(csrf)])
    async def map_user(
        request: Request,
        user_id: int,
        employee_id: Annotated[int, Form()],
        confirmed: Annotated[str, Form(alias="confirm")] = "",
        user: UserRecord = Depends(administrator),
    ) -> Response:
        try:
            if confirmed != "yes":  # a POST without the confirmation changes nothing
                preview = await admin.preview_mapping(user, user_id, employee_id)
                return pages.confirm(
                    request,
                    user,
                    f"Map {preview.who} to {preview.employee.name}?",
                    preview.sentence,
                    f"/admin/users/{user_id}/map",
                    "Yes, map",
                    employee_id=str(employee_id),
                )
            await admin.map_user(user, user_id, employee_id)
        except AdminError as error:
            return await pages.refused(request, user, error)
        return RedirectResponse("/admin/users?saved=1", 303)

    @app.post("/admin/users/{user_id}/unmap", dependencies=[Depends(csrf)])
    async def unmap_user(
        request: Request,
        user_id: int,
        confirmed: Annotated[str, Form(alias="confirm")] = "",
        user: UserRecord = Depends(administrator),
    ) -> Response:
        try:
            if confirmed != "yes":
                whose, sent = await admin.sent_count(user, user_id)
                return pages.confirm(
                    request,
                    user,
                    f"Unmap {whose.display_name or whose.email}?",
                    unmap_sentence(whose, sent),
                    f"/admin/users/{user_id}/unmap",
                    "Yes, unmap",
                )
            await admin.unmap_user(user, user_id)
        except AdminError as error:
            return await pages.refused(request, user, error)
        return RedirectResponse("/admin/users?saved=1", 303)
