"""Web security (R22; DESIGN.md "Web app"): headers, the session, CSRF.

- Every answer carries a strict Content-Security-Policy (no inline script or style, no
  framing), `X-Content-Type-Options: nosniff`, `Referrer-Policy` and frame denial.
- The session is Starlette's signed cookie (itsdangerous), named `s5sync_session` — the
  demo's three apps share 127.0.0.1 and cookies ignore ports. It holds the user id and a
  random session id, nothing else; signing in replaces the session id (no fixation).
- CSRF: the token is an HMAC of the session id; every state-changing request must send
  it as the `csrf_token` form field or the `X-CSRF-Token` header (htmx, via static/app.js).
  The MSAL `form_post` callback is the one exception: it is protected by MSAL's state,
  nonce and PKCE instead — and by the sign-in binding below.
- Login CSRF (ASVS 5.0 V3.5, issue 23): MSAL's state proves the answer belongs to *a*
  flow, not that the browser posting it started that flow — an attacker could start a
  sign-in as themselves and have another origin auto-submit its `code` and `state` into
  a victim's browser, signing the victim in as the attacker. So `/auth/login` sets
  `s5sync_signin`, an HttpOnly cookie holding an HMAC of the flow's state (never the
  state itself), for 10 minutes on `/auth` only, and `/auth/callback` redeems a code only
  when that cookie matches the posted state (`sign_in_binding`).
  The callback is a cross-site `form_post` POST from Microsoft's page: a SameSite=Lax
  cookie is not sent on it. With secure cookies (HTTPS) the cookie is SameSite=None;
  Secure and comes with the POST. Without (the demo on plain HTTP, where browsers
  refuse SameSite=None), it is Lax, and a callback that arrives without it answers a
  page that posts the same fields again from our own origin (`relay.html`, script
  `app.js`): that same-site POST carries the Lax cookie. A relayed POST without a
  matching cookie is refused before the code is redeemed; the browser's session, if
  any, is left as it was.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from enum import Enum
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi import HTTPException, Request, Response
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
_SECURITY_NAMES = frozenset(name for name, _ in SECURITY_HEADERS)


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
                    if k.lower() not in _SECURITY_NAMES
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


SIGNIN_COOKIE = "s5sync_signin"
SIGNIN_PATH = "/auth"
SIGNIN_SECONDS = 600  # the flow itself lives 10 minutes (accounts.AUTH_FLOW_LIFETIME)
RELAYED_FIELD = "s5sync_relayed"
_STATE = re.compile(r"[A-Za-z0-9_-]{8,128}")


class Binding(Enum):
    """What the callback may do with a posted sign-in answer."""

    MATCHES = "matches"  # this browser started the flow: redeem it
    RELAY = "relay"  # no cookie came (cross-site POST, Lax): post it again same-site
    FOREIGN = "foreign"  # not this browser's flow: refuse before redeeming


def _state_mac(state: str, secret: str) -> str:
    return hmac.new(secret.encode(), b"signin:" + state.encode(), hashlib.sha256).hexdigest()


def bind_sign_in(response: Response, auth_url: str, secret: str, *, secure: bool) -> None:
    """Tie the flow whose authorization URL is `auth_url` to this browser (login CSRF)."""
    state = (parse_qs(urlsplit(auth_url).query).get("state") or [""])[0]
    response.set_cookie(
        SIGNIN_COOKIE,
        _state_mac(state, secret),
        max_age=SIGNIN_SECONDS,
        path=SIGNIN_PATH,
        httponly=True,
        secure=secure,
        samesite="none" if secure else "lax",
    )


def sign_in_binding(request: Request, form: dict[str, str], secret: str) -> Binding:
    """Whether the posted `state` is the one this browser's sign-in started with."""
    sent = request.cookies.get(SIGNIN_COOKIE)
    if sent is None:
        # Only what looks like Microsoft's answer is relayed (MSAL's state is
        # token_urlsafe); anything else is refused at once.
        answer = _STATE.fullmatch(form.get("state", "")) and ("code" in form or "error" in form)
        return Binding.RELAY if answer and not form.get(RELAYED_FIELD) else Binding.FOREIGN
    expected = _state_mac(form.get("state", ""), secret)
    return Binding.MATCHES if hmac.compare_digest(sent, expected) else Binding.FOREIGN


def unbind_sign_in(response: Response, *, secure: bool) -> None:
    """The flow is used: its cookie goes (a second post of the same answer is refused)."""
    response.delete_cookie(
        SIGNIN_COOKIE,
        path=SIGNIN_PATH,
        httponly=True,
        secure=secure,
        samesite="none" if secure else "lax",
    )
