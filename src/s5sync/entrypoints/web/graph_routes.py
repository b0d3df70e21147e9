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
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response

from s5sync.outlook.notifications import MAX_BODY, NotificationIntake, validation_answer


def install_graph_routes(app: FastAPI, intake: NotificationIntake) -> None:
    async def answer(request: Request, *, lifecycle: bool) -> Response:
        token = request.query_params.get("validationToken")
        if token is not None:
            echoed = validation_answer(token)
            if echoed is None:
                return Response(status_code=400)
            return PlainTextResponse(echoed, status_code=200, media_type="text/plain")
        if not intake.admit():
            return Response(status_code=429, headers={"Retry-After": "1"})
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY:
            intake.count("too_large")
            return Response(status_code=413)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                intake.count("too_large")
                return Response(status_code=413)
        return Response(status_code=await intake.accept(bytes(body), lifecycle=lifecycle))

    @app.post("/graph/notifications")
    async def graph_notifications(request: Request) -> Response:
        return await answer(request, lifecycle=False)

    @app.post("/graph/lifecycle")
    async def graph_lifecycle(request: Request) -> Response:
        return await answer(request, lifecycle=True)
