"""`/graph/notifications` and `/graph/lifecycle`: Microsoft Graph's public endpoints (R14b).

Public by necessity: Graph sends no session and no CSRF token, so these two routes take
neither (they are the only POST routes without the CSRF dependency, and they read no
session and set no cookie). What protects them instead (outlook/notifications.py): every
item must carry its subscription's secret client state, checked in constant time; the
body is bounded (`MAX_BODY`, refused from `Content-Length` before it is read) and so is
the rate (`NotificationIntake.admit`: 429 with `Retry-After`, which Graph retries).

The validation handshake (learn.microsoft.com "Receive change notifications through
webhooks", notificationUrl validation): `POST …?validationToken=…` is answered 200
`text/plain` with the URL-decoded token and nothing else — a token carrying HTML comes
back as inert plain text (`nosniff` and the CSP are set on every answer) — and anything
that cannot be a token is a bare 400. A notification is answered 202 as soon as it is
recorded; the cycle it causes runs later, never inside the request.

Issue 19 (≥ 2,000 notifications a second from one web process): the two paths are a
bare ASGI middleware (`GraphEndpoints`), outside the session middleware and before
FastAPI's routing, request objects and dependency solving — which cost more than the
intake itself. It still sits inside Starlette's error handler and the security headers
(`app._OutermostHeaders`), so a failure is the same plain 500 with the same headers as
any page. Another method on the two paths is 405, as a POST-only route answers.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from s5sync.outlook.notifications import MAX_BODY, NotificationIntake, validation_answer

NOTIFICATIONS = "/graph/notifications"
LIFECYCLE = "/graph/lifecycle"
PATHS = frozenset({NOTIFICATIONS, LIFECYCLE})
_EMPTY = [(b"content-length", b"0")]
_RETRY = [(b"content-length", b"0"), (b"retry-after", b"1")]
_NOT_ALLOWED = b'{"detail":"Method Not Allowed"}'


class _Disconnected(Exception):
    """The sender went away before its body was read: nothing to answer."""


class GraphEndpoints:
    """Pure ASGI: POSTs to the two paths are answered here; anything else passes on."""

    def __init__(self, app: ASGIApp, intake: NotificationIntake) -> None:
        self.app = app
        self.intake = intake

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in PATHS:
            await self.app(scope, receive, send)
            return
        if scope["method"] != "POST":
            headers = [
                (b"content-length", str(len(_NOT_ALLOWED)).encode()),
                (b"content-type", b"application/json"),
                (b"allow", b"POST"),
            ]
            await _answer(send, 405, headers, _NOT_ALLOWED)
            return
        token = _validation_token(scope["query_string"])
        if token is not None:
            echoed = validation_answer(token)
            if echoed is None:
                await _answer(send, 400, _EMPTY)
                return
            body = echoed.encode()
            headers = [
                (b"content-length", str(len(body)).encode()),
                (b"content-type", b"text/plain; charset=utf-8"),
            ]
            await _answer(send, 200, headers, body)
            return
        try:
            status = await self._notification(scope, receive, scope["path"] == LIFECYCLE)
        except _Disconnected:
            return
        await _answer(send, status, _RETRY if status == 429 else _EMPTY)

    async def _notification(self, scope: Scope, receive: Receive, lifecycle: bool) -> int:
        intake = self.intake
        if not intake.admit():
            return 429
        for name, value in scope["headers"]:
            if name == b"content-length":
                if value.isdigit() and int(value) > MAX_BODY:
                    intake.count("too_large")
                    return 413
                break
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected()
            body += message.get("body", b"")
            if len(body) > MAX_BODY:
                intake.count("too_large")
                return 413
            if not message.get("more_body", False):
                break
        return await intake.accept(body, lifecycle=lifecycle)


def _validation_token(query: bytes) -> str | None:
    """`validationToken` URL-decoded, as Starlette's query parameters read it (the last
    one wins), or None without one."""
    if not query:
        return None
    token: str | None = None
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if name == "validationToken":
            token = value
    return token


async def _answer(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes = b""
) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def install_graph_routes(app: FastAPI, intake: NotificationIntake) -> None:
    """The two endpoints in front of `app`'s routing (call it after the app's other
    middleware is added, so that they stay outside it)."""
    app.add_middleware(GraphEndpoints, intake=intake)
