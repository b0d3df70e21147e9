"""The control plane under `/_emulator/` (JSON, plain HTTP): what tests and demos use to
set the emulator up and to make it misbehave on purpose (issue 4, SPEC "Microsoft 365
emulator"). Like moto's reset/seed API.

    POST   reset                   {"demo": bool?}   forget everything (and re-seed the demo)
    POST   tenants                 {id, name}        → 201 tenant
    GET    tenants                                   → every tenant
    POST   users                   {tenant_id, email, display_name, id?} → 201 {id, …}
    POST   users/bulk              {tenant_id, users: [{email, display_name, id?}…],
                                    tokens?, scopes?} → 201 {value: [{id, …, token?}…]}
                                   all or none; with `tokens`, each user's `token` is
                                   what `token` answers (many mailboxes in one call)
    GET    users                                     → every user
    POST   apps                    {tenant_id, client_id?, client_secret?, redirect_uris,
                                    display_name?}  → 201 app (secret not echoed)
    POST   token                   {email, scopes}   → {access_token, token_type, expires_in}
    POST   users/{email}/revoke                      → {revoked: n}; its refresh tokens stop
    GET/PUT/DELETE clock           {now}             emulator time (token expiry, "today")
    POST/DELETE faults             {method, path, kind, status, retry_after, count,
                                    timeout_seconds?, delay_seconds?}; delivery kinds
                                   (delay, drop, duplicate, reorder, reject) match the
                                   notification URL or its path part; their path
                                   defaults to `*` (faults.py)
    GET    stats                                     requests per mailbox and route, max in
                                                     flight; subscriptions and deliveries
    POST   latency                 {ms}              fixed delay on every Graph answer

Change notifications add `GET subscriptions` and `POST lifecycle` (m365emu/graph/
subscriptions/control.py).

Errors: 400/404/409 with {"error": "<what an operator can act on>"}.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field, model_validator

from m365emu.faults import DELIVERY_KINDS, Fault, FaultKind
from m365emu.identity.models import AppRegistration, DirectoryError, Tenant, User

if TYPE_CHECKING:
    from m365emu.app import Emulator

CONTROL_CLIENT_ID = "5e3ce6c0-2b1f-4285-8d4b-75ee78787346"


class ResetBody(BaseModel):
    demo: bool = False


class TenantBody(BaseModel):
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)


class MailboxBody(BaseModel):
    email: str = Field(min_length=3, pattern=r"^[^@\s]+@[^@\s]+$")
    display_name: str = Field(min_length=1)
    id: str | None = None


class UserBody(MailboxBody):
    tenant_id: str


DEFAULT_TOKEN_SCOPES = ["Calendars.ReadWrite"]


class BulkUsersBody(BaseModel):
    tenant_id: str
    users: list[MailboxBody]
    tokens: bool = False
    scopes: list[str] = Field(default_factory=lambda: list(DEFAULT_TOKEN_SCOPES))


class AppBody(BaseModel):
    tenant_id: str
    client_id: str | None = None
    client_secret: str | None = None
    redirect_uris: list[str] = Field(default_factory=list)
    display_name: str | None = None


class TokenBody(BaseModel):
    email: str
    scopes: list[str] = Field(default_factory=lambda: list(DEFAULT_TOKEN_SCOPES))


class ClockBody(BaseModel):
    now: datetime


class FaultBody(BaseModel):
    """A fault to arm. `path` is required for request kinds; delivery kinds match
    every notification URL when it is left out (`*`)."""

    method: str = "*"
    path: str | None = None
    kind: FaultKind
    status: int | None = None
    retry_after: int | float = Field(default=1, ge=0)  # fractions as Graph sends them
    count: int = Field(default=1, ge=1)
    timeout_seconds: float = Field(default=30.0, gt=0)
    delay_seconds: float = Field(default=0.0, ge=0, le=3600)

    @model_validator(mode="after")
    def _path_for_requests(self) -> FaultBody:
        if self.path is None and self.kind not in DELIVERY_KINDS:
            raise ValueError(f"a {self.kind} fault needs the path of the route it hits")
        return self

    @property
    def matched(self) -> str:
        return "*" if self.path is None else self.path


class LatencyBody(BaseModel):
    ms: int = Field(ge=0)


def tenant_json(tenant: Tenant) -> dict[str, Any]:
    return {"id": tenant.id, "name": tenant.name}


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "tenant_id": user.tenant_id,
        "email": user.email,
        "display_name": user.display_name,
    }


def app_json(app: AppRegistration) -> dict[str, Any]:
    return {
        "tenant_id": app.tenant_id,
        "client_id": app.client_id,
        "display_name": app.display_name,
        "redirect_uris": app.redirect_uris,
        "confidential": app.client_secret is not None,
    }


def fault_json(fault: Fault) -> dict[str, Any]:
    return {
        "method": fault.method,
        "path": fault.path,
        "kind": str(fault.kind),
        "status": fault.status,
        "retry_after": fault.retry_after,
        "count": fault.count,
        "timeout_seconds": fault.timeout_seconds,
        "delay_seconds": fault.delay_seconds,
    }


def _refused(error: DirectoryError) -> JSONResponse:
    status = {"not_found": 404, "conflict": 409}.get(error.code, 400)
    return JSONResponse({"error": str(error)}, status_code=status)


def _clock_json(emulator: Emulator) -> dict[str, Any]:
    return {"now": emulator.clock.now().isoformat(), "fixed": emulator.clock.is_fixed}


def _test_token(emulator: Emulator, user: User, scopes: list[str]) -> dict[str, Any]:
    """An access token for `user`, as issued to the control plane's own client."""
    client = AppRegistration(
        tenant_id=user.tenant_id,
        client_id=CONTROL_CLIENT_ID,
        display_name="m365emu control plane",
        client_secret=None,
    )
    return emulator.identity.test_token(user, scopes, client)


def build_control_router(emulator: Emulator) -> APIRouter:
    router = APIRouter()
    directory = emulator.directory

    @router.get("", response_class=HTMLResponse, include_in_schema=False)
    @router.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index() -> HTMLResponse:
        """What the demo's printed "Emulator control" URL answers: the control routes."""
        rows = []
        for route in router.routes:
            path = getattr(route, "path", "")
            methods = sorted(set(getattr(route, "methods", None) or ()) - {"HEAD"})
            if path in ("", "/") or not methods:
                continue
            doc = (getattr(route, "endpoint", None).__doc__ or "").strip().splitlines()
            rows.append(
                f"<tr><td>{escape(' '.join(methods))}</td><td><code>/_emulator"
                f"{escape(path)}</code></td><td>{escape(doc[0] if doc else '')}</td></tr>"
            )
        return HTMLResponse(
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            "<title>Emulator control</title></head><body><main><h1>Microsoft 365 emulator: "
            "control plane</h1><p>JSON routes for tests and demos (reset, tenants and users, "
            "test tokens, the clock, faults, statistics). The emulated Outlook is at "
            "<a href='/outlook/'>/outlook/</a>.</p><table><thead><tr><th scope='col'>Method"
            "</th><th scope='col'>Route</th><th scope='col'>What it does</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></main></body></html>"
        )

    @router.post("/reset")
    async def reset(body: ResetBody | None = None) -> dict[str, Any]:
        emulator.reset()
        if body is not None and body.demo:
            from m365emu.demo import seed_demo

            seed_demo(emulator)
        return {"reset": True, "tenants": len(directory.tenants)}

    @router.post("/tenants", status_code=201, response_model=None)
    async def add_tenant(body: TenantBody) -> dict[str, Any] | JSONResponse:
        try:
            return tenant_json(directory.add_tenant(body.id, body.name))
        except DirectoryError as error:
            return _refused(error)

    @router.get("/tenants")
    async def tenants() -> dict[str, Any]:
        return {"value": [tenant_json(t) for t in directory.tenants.values()]}

    @router.post("/users", status_code=201, response_model=None)
    async def add_user(body: UserBody) -> dict[str, Any] | JSONResponse:
        tenant = directory.tenant(body.tenant_id)
        if tenant is None:
            return JSONResponse({"error": f"tenant {body.tenant_id} does not exist"}, 404)
        try:
            user = directory.add_user(tenant.id, body.email, body.display_name, body.id)
        except DirectoryError as error:
            return _refused(error)
        return user_json(user)

    @router.post("/users/bulk", status_code=201, response_model=None)
    async def add_users(body: BulkUsersBody) -> dict[str, Any] | JSONResponse:
        tenant = directory.tenant(body.tenant_id)
        if tenant is None:
            return JSONResponse({"error": f"tenant {body.tenant_id} does not exist"}, 404)
        people = [(u.email, u.display_name, u.id) for u in body.users]
        try:
            users = directory.add_users(tenant.id, people)
        except DirectoryError as error:
            return _refused(error)
        answers = [user_json(user) for user in users]
        if body.tokens:
            for answer, user in zip(answers, users, strict=True):
                answer["token"] = _test_token(emulator, user, body.scopes)
        return {"value": answers}

    @router.get("/users")
    async def users() -> dict[str, Any]:
        return {"value": [user_json(u) for u in directory.users_of(None)]}

    @router.post("/apps", status_code=201, response_model=None)
    async def add_app(body: AppBody) -> dict[str, Any] | JSONResponse:
        tenant = directory.tenant(body.tenant_id)
        if tenant is None:
            return JSONResponse({"error": f"tenant {body.tenant_id} does not exist"}, 404)
        try:
            app = directory.add_app(
                tenant.id, body.client_id, body.client_secret, body.redirect_uris, body.display_name
            )
        except DirectoryError as error:
            return _refused(error)
        return app_json(app)

    @router.post("/token", response_model=None)
    async def token(body: TokenBody) -> dict[str, Any] | JSONResponse:
        user = directory.user_by_email(body.email)
        if user is None:
            return JSONResponse({"error": f"user {body.email} does not exist"}, 404)
        return _test_token(emulator, user, body.scopes)

    @router.post("/users/{email}/revoke", response_model=None)
    async def revoke(email: str) -> dict[str, Any] | JSONResponse:
        user = directory.user_by_email(email)
        if user is None:
            return JSONResponse({"error": f"user {email} does not exist"}, 404)
        return {"revoked": directory.revoke(user, emulator.clock.now())}

    @router.get("/clock")
    async def clock() -> dict[str, Any]:
        return _clock_json(emulator)

    @router.put("/clock")
    async def set_clock(body: ClockBody) -> dict[str, Any]:
        emulator.clock.set(body.now)
        return _clock_json(emulator)

    @router.delete("/clock")
    async def clear_clock() -> dict[str, Any]:
        emulator.clock.clear()
        return _clock_json(emulator)

    @router.post("/faults", status_code=201)
    async def add_fault(body: FaultBody) -> dict[str, Any]:
        default_status = 429 if body.kind is FaultKind.THROTTLE else 503
        fault = Fault(
            method=body.method.upper(),
            path=body.matched,
            kind=body.kind,
            status=body.status or default_status,
            retry_after=body.retry_after,
            count=body.count,
            timeout_seconds=body.timeout_seconds,
            delay_seconds=body.delay_seconds,
        )
        emulator.faults.add(fault)
        return fault_json(fault)

    @router.delete("/faults")
    async def clear_faults() -> dict[str, Any]:
        emulator.faults.clear()
        return {"cleared": True}

    @router.get("/stats")
    async def stats() -> dict[str, Any]:
        answer = emulator.stats.as_json()
        for extra in emulator.stats_hooks:
            answer.update(extra())
        return answer

    @router.post("/latency")
    async def latency(body: LatencyBody) -> dict[str, Any]:
        emulator.latency_ms = body.ms
        return {"ms": emulator.latency_ms}

    return router
