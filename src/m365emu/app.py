"""The emulator's composition root: one `Emulator` holding all state, and the two ASGI
apps that serve it.

- `create_tls_app(emulator)`: the identity platform (authority `https://host:tls/<tenant>`)
  and Microsoft Graph under `/v1.0` (routers appended to `emulator.graph_routers`).
- `create_browser_app(emulator)`: plain HTTP for people and tests: the control plane
  `/_emulator/…` and the Outlook page (routers appended to `emulator.browser_routers`).

Faults (`POST /_emulator/faults`) on identity paths (`/{tenant}/oauth2/v2.0/token`…) are
applied here by `IdentityFaultMiddleware`; Graph paths (`/v1.0/…`) are left to the Graph
routes, which also count stats and add latency. Nothing is built at import time.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from m365emu.clock import EmulatorClock
from m365emu.control import build_control_router
from m365emu.faults import FaultBook, FaultKind, retry_after_header
from m365emu.identity.claims import GraphTokenVerifier
from m365emu.identity.errors import error_body, transient
from m365emu.identity.keys import KeySet
from m365emu.identity.models import Directory
from m365emu.identity.platform import IdentityPlatform
from m365emu.identity.routes import build_identity_router
from m365emu.mail.models import MailStore
from m365emu.persistence import Persistence
from m365emu.stats import RequestStats
from m365emu.tokens import TokenVerifier

GRAPH_PREFIX = "/v1.0"
CONTROL_PREFIX = "/_emulator"
OUTLOOK_PATH = "/outlook"
STATE_FILE = "state.sqlite3"


class Emulator:
    """Everything the emulator knows, shared by both ports.

    `data_dir` None keeps state in memory (tests); otherwise state is written through to
    `data_dir/state.sqlite3` and the TLS files live in `data_dir/tls/`.
    """

    def __init__(self, data_dir: Path | None = None) -> None:
        self.data_dir = data_dir
        self.persistence = Persistence(data_dir / STATE_FILE if data_dir else None)
        self.clock = EmulatorClock()
        self.faults = FaultBook()
        self.stats = RequestStats()
        self.latency_ms = 0
        self.keys = KeySet(self.persistence)
        self.directory = Directory(self.persistence)
        self.identity = IdentityPlatform(self.directory, self.keys, self.clock)
        self.verifier: TokenVerifier = GraphTokenVerifier(self.keys, self.clock, self.directory)
        self.session_secret = self._secret("session")
        # The lead's wiring points: Graph routers are mounted under /v1.0 on the TLS port,
        # browser routers (the Outlook page) on the plain HTTP port; reset hooks clear the
        # state those parts keep in memory when `POST /_emulator/reset` is called.
        self.graph_routers: list[APIRouter] = []
        self.browser_routers: list[APIRouter] = []
        self.reset_hooks: list[Callable[[], None]] = []
        # Parts add their own sections to `GET /_emulator/stats` here (subscriptions…).
        self.stats_hooks: list[Callable[[], dict[str, Any]]] = []
        # Where browsers sign in, when set (`m365emu serve`, the demo): the plain-HTTP
        # port, so a real browser sees no certificate warning; None keeps /authorize on
        # the TLS port only.
        self.browser_root: str | None = None
        # Graph requires https notification URLs; plain http is accepted only when this
        # is set or when the emulator serves browsers (`browser_root`: `m365emu serve`,
        # the demo), just as its pages are plain HTTP there (issue 19 item 7).
        self.plain_http_notifications = False
        # The Graph calendar state and the change notifications, once
        # `m365emu.parts.install_graph` has run.
        # The Inbox of every mailbox, filled by the emulator's SMTP server (issue 21).
        self.mail = MailStore(self.clock.now)
        self.graph_state: Any = None
        self.notifications: Any = None

    @property
    def allows_plain_http_notifications(self) -> bool:
        return self.plain_http_notifications or self.browser_root is not None

    def _secret(self, name: str) -> str:
        stored = self.persistence.load_all("secret").get(name)
        if stored is not None:
            return str(stored["value"])
        value = secrets.token_urlsafe(32)
        self.persistence.save("secret", name, {"value": value})
        return value

    def reset(self) -> None:
        """Forget tenants, users, apps, tokens and every hook's state; clear clock,
        faults, stats and latency. Signing keys, secrets and the CA stay, so clients
        that cached the JWKS or trust the CA keep working."""
        for kind in ("tenant", "user", "app", "consent", "auth_code", "refresh_token"):
            for key in self.persistence.load_all(kind):
                self.persistence.delete(kind, key)
        self.directory.clear()
        for hook in self.reset_hooks:
            hook()
        self.clock.clear()
        self.mail.clear()
        self.faults.clear()
        self.stats.reset()
        self.latency_ms = 0

    def start_notifications(self) -> None:
        """Deliver change notifications from a thread of their own (a served emulator;
        in-process tests run `notifications.worker.running()` on their own loop)."""
        if self.notifications is not None:
            self.notifications.worker.start_thread()

    def close(self) -> None:
        if self.notifications is not None:
            self.notifications.worker.stop_thread()
        self.persistence.close()


Part = Callable[[Emulator], None]


# The emulator's parts (m365emu/parts.py: the Graph calendar API and the Outlook page),
# installed by `build_emulator`. Each appends its routers to `emulator.graph_routers` /
# `emulator.browser_routers` and its reset hook to `emulator.reset_hooks`.
def _default_parts() -> tuple[Part, ...]:
    from m365emu.parts import install_graph

    return (install_graph,)


def build_emulator(data_dir: Path | None = None, parts: tuple[Part, ...] | None = None) -> Emulator:
    """An `Emulator` with the identity platform and every part installed."""
    emulator = Emulator(data_dir)
    for install in _default_parts() if parts is None else parts:
        install(emulator)
    return emulator


class IdentityFaultMiddleware:
    """Applies armed faults to identity paths (everything outside `/v1.0` on the TLS
    port), answering as Entra's token service does when it is unwell: 429 or 5xx with
    an AADSTS body (`temporarily_unavailable`) and `Retry-After`."""

    def __init__(self, app: ASGIApp, emulator: Emulator) -> None:
        self.app = app
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or path.startswith(GRAPH_PREFIX + "/") or path == GRAPH_PREFIX:
            await self.app(scope, receive, send)
            return
        fault = self.emulator.faults.take(str(scope["method"]), path)
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.kind in (FaultKind.TIMEOUT, FaultKind.APPLIED_THEN_TIMEOUT):
            if fault.kind is FaultKind.APPLIED_THEN_TIMEOUT:
                await self.app(scope, receive, _discard)
            # The client gives up first; what is sent afterwards reaches nobody.
            await asyncio.sleep(fault.timeout_seconds)
            await _send_json(send, 504, {"error": "timeout"}, [])
            return
        status = fault.status
        headers = [(b"retry-after", retry_after_header(fault.retry_after).encode())]
        host = dict(scope.get("headers", [])).get(b"host", b"localhost").decode()
        body = error_body(transient(status), self.emulator.clock.now(), f"https://{host}", None)
        await _send_json(send, status, body, headers)


async def _discard(message: Message) -> None:
    return None


async def _send_json(
    send: Send, status: int, body: object, headers: list[tuple[bytes, bytes]]
) -> None:
    payload = json.dumps(body).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"content-length", str(len(payload)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def create_tls_app(emulator: Emulator) -> FastAPI:
    """Identity platform + Graph (`emulator.graph_routers` under `/v1.0`)."""
    app = FastAPI(title="m365emu identity and Graph", docs_url=None, redoc_url=None)
    for router in emulator.graph_routers:
        app.include_router(router, prefix=GRAPH_PREFIX)
    app.include_router(
        build_identity_router(
            emulator.identity, emulator.session_secret, lambda: emulator.browser_root
        )
    )
    app.add_middleware(IdentityFaultMiddleware, emulator=emulator)
    return app


def create_browser_app(emulator: Emulator) -> FastAPI:
    """Control plane (`/_emulator/…`) + browser pages (`emulator.browser_routers`)."""
    app = FastAPI(title="m365emu control plane and pages", docs_url=None, redoc_url=None)
    app.include_router(build_control_router(emulator), prefix=CONTROL_PREFIX)
    for router in emulator.browser_routers:
        app.include_router(router)
    # The sign-in pages too, for browsers sent here by `emulator.browser_root`.
    app.include_router(
        build_identity_router(
            emulator.identity, emulator.session_secret, lambda: emulator.browser_root
        )
    )
    return app
