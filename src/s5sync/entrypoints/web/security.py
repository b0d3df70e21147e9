"""Web security (R22; DESIGN.md "Web app"): headers, the session, CSRF.

- Every answer carries a strict Content-Security-Policy (no inline script or style, no
  framing), `X-Content-Type-Options: nosniff`, `Referrer-Policy` and frame denial.
- The session is Starlette's signed cookie (itsdangerous), named `s5sync_session` — the
  demo's three apps share 127.0.0.1 and cookies ignore ports. It holds the user id and a
  random session id, nothing else; signing in replaces the session id (no fixation).
- CSRF: the token is an HMAC of the session id; every state-changing request must send
  it as the `csrf_token` form field or the `X-CSRF-Token` header (htmx, via static/app.js).
  The MSAL `form_post` callback is the one exception: it is protected by MSAL's state,
  nonce and PKCE instead.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from fastapi import HTTPException, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_COOKIE = "s5sync_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


class SecurityHeadersMiddleware:
    """Adds the security headers to every HTTP answer, errors included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() not in {name for name, _ in SECURITY_HEADERS}
                ]
                message["headers"] = headers + SECURITY_HEADERS
            await send(message)

        await self.app(scope, receive, send_with_headers)


def new_session(request: Request, user_id: int, generation: int = 0) -> None:
    """Sign in: a fresh session id, so a planted cookie is worth nothing (fixation), and
    the user's session generation, so signing out ends every copy of the cookie."""
    request.session.clear()
    request.session["uid"] = user_id
    request.session["gen"] = generation
    request.session["sid"] = secrets.token_urlsafe(24)


def session_generation(request: Request) -> int | None:
    generation = request.session.get("gen")
    return generation if isinstance(generation, int) else None


def end_session(request: Request) -> None:
    request.session.clear()


def session_user_id(request: Request) -> int | None:
    uid = request.session.get("uid")
    return uid if isinstance(uid, int) else None


def csrf_token(request: Request, secret: str) -> str:
    """The form token of this session (a session id is made for anonymous pages too)."""
    sid = request.session.get("sid")
    if not isinstance(sid, str):
        sid = secrets.token_urlsafe(24)
        request.session["sid"] = sid
    return hmac.new(secret.encode(), sid.encode(), hashlib.sha256).hexdigest()


async def check_csrf(request: Request, secret: str) -> None:
    """Refuse a state-changing request without this session's token (403)."""
    if request.method in SAFE_METHODS:
        return
    sent: Any = request.headers.get(CSRF_HEADER)
    if not sent:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            sent = form.get(CSRF_FIELD)
    sid = request.session.get("sid")
    if not isinstance(sent, str) or not isinstance(sid, str):
        raise HTTPException(status_code=403, detail="Missing form token: reload the page.")
    expected = hmac.new(secret.encode(), sid.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(sent, expected):
        raise HTTPException(status_code=403, detail="Invalid form token: reload the page.")
