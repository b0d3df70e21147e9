"""HTTP routes of the emulated Microsoft identity platform v2.0 (served over TLS).

    GET      /{tenant}/v2.0/.well-known/openid-configuration   OpenID Connect discovery
    GET      /{tenant}/discovery/v2.0/keys                      JWKS
    GET/POST /{tenant}/oauth2/v2.0/authorize                    sign-in and consent page
    POST     /{tenant}/oauth2/v2.0/token                        code, refresh, client creds
    GET      /{tenant}/oauth2/v2.0/logout                       end the sign-in session

`{tenant}` is a tenant id (or name), `organizations` or `common`. Discovery follows
learn.microsoft.com "OpenID Connect on the Microsoft identity platform": endpoints carry
the path's tenant, and for an alias the issuer is the template
`https://{host}/{tenantid}/v2.0`. MSAL Python (authority `https://host/<tenant>`,
`instance_discovery=False`) fetches only discovery, `/authorize` and `/token`.

The sign-in session (cookie `m365emu_session`, signed) lets `prompt=none` succeed
silently; without it `prompt=none` answers `login_required`, and with it but without
consent `interaction_required`. Any other prompt shows the page.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeSerializer

from m365emu.identity import errors
from m365emu.identity.claims import ScopeRequest, client_info
from m365emu.identity.errors import IdentityError, error_response
from m365emu.identity.pages import error_page, form_post_page, sign_in_page
from m365emu.identity.platform import AuthorizeRequest, IdentityPlatform

SESSION_COOKIE = "m365emu_session"
OAUTH_PARAMS = (
    "client_id",
    "response_type",
    "redirect_uri",
    "response_mode",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "login_hint",
    "client_info",
    "domain_hint",
)


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def discovery_document(
    base: str, segment: str, tenant_id: str | None, browser_base: str | None = None
) -> dict[str, Any]:
    """The OpenID configuration. `browser_base`, when set, is where browsers are sent to
    sign in (the plain-HTTP port: no certificate warning in a real browser); MSAL checks
    only that the authority and the token endpoint are https (graph.md §9)."""
    path = tenant_id or segment
    front = browser_base or base
    issuer_tenant = tenant_id or "{tenantid}"
    return {
        "token_endpoint": f"{base}/{path}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "jwks_uri": f"{base}/{path}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": f"{base}/{issuer_tenant}/v2.0",
        "request_uri_parameter_supported": False,
        "authorization_endpoint": f"{front}/{path}/oauth2/v2.0/authorize",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{front}/{path}/oauth2/v2.0/logout",
        "claims_supported": [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "nonce",
            "preferred_username",
            "name",
            "tid",
            "ver",
            "email",
        ],
        "tenant_region_scope": "EU" if tenant_id else None,
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": urlsplit(base).netloc,
        "rbac_url": "https://pas.windows.net",
    }


def _with_query(url: str, fields: list[tuple[str, str]]) -> str:
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(fields)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _answer(request: AuthorizeRequest, fields: dict[str, str | None]) -> Response:
    """Send the authorization response (or error) back to the client's redirect URI."""
    pairs = [(k, v) for k, v in fields.items() if v is not None]
    if request.state is not None:
        pairs.append(("state", request.state))
    if request.response_mode == "form_post":
        return HTMLResponse(form_post_page(request.redirect_uri, pairs))
    return RedirectResponse(_with_query(request.redirect_uri, pairs), status_code=302)


def _error_answer(request: AuthorizeRequest, err: IdentityError) -> Response:
    return _answer(
        request, {"error": err.error, "error_description": f"AADSTS{err.code}: {err.message}"}
    )


def build_identity_router(
    platform: IdentityPlatform,
    session_secret: str,
    browser_base: Callable[[], str | None] = lambda: None,
) -> APIRouter:
    router = APIRouter()
    signer = URLSafeSerializer(session_secret, salt="m365emu-session")

    def session_user(request: Request) -> tuple[str, str] | None:
        raw = request.cookies.get(SESSION_COOKIE)
        if not raw:
            return None
        try:
            value = signer.loads(raw)
        except BadSignature:
            return None
        return (str(value[0]), str(value[1])) if isinstance(value, list) else None

    def fail(request: Request, err: IdentityError) -> JSONResponse:
        return error_response(
            err, platform.clock.now(), _base(request), request.headers.get("client-request-id")
        )

    @router.get("/{tenant}/v2.0/.well-known/openid-configuration")
    async def discovery(tenant: str, request: Request) -> Response:
        try:
            found = platform.resolve_tenant(tenant)
        except IdentityError as err:
            return fail(request, err)
        document = discovery_document(
            _base(request), tenant, found.id if found else None, browser_base()
        )
        return JSONResponse(document)

    @router.get("/{tenant}/discovery/v2.0/keys")
    async def keys(tenant: str, request: Request) -> Response:
        try:
            found = platform.resolve_tenant(tenant)
        except IdentityError as err:
            return fail(request, err)
        issuer = f"{_base(request)}/{found.id if found else '{tenantid}'}/v2.0"
        return JSONResponse(platform.keys.jwks(issuer))

    @router.api_route("/{tenant}/oauth2/v2.0/authorize", methods=["GET", "POST"])
    async def authorize(tenant: str, request: Request) -> Response:
        params = {k: v for k, v in request.query_params.items()}
        submitted: dict[str, str] = {}
        if request.method == "POST":
            form = await request.form()
            submitted = {k: v for k, v in form.items() if isinstance(v, str)}
            params.update({k: v for k, v in submitted.items() if k in OAUTH_PARAMS})
        try:
            auth = platform.check_authorize(tenant, params)
        except IdentityError as err:
            return HTMLResponse(error_page(f"AADSTS{err.code}: {err.message}"), status_code=400)
        try:
            platform.check_redirectable(auth, params)
        except IdentityError as err:
            return _error_answer(auth, err)
        if "consent" in submitted:
            return _submit(request, tenant, auth, params, submitted)
        if auth.prompt == "none":
            return _silent(request, auth)
        return _page(request, tenant, auth, params, auth.login_hint or _session_email(request))

    def _session_email(request: Request) -> str | None:
        current = session_user(request)
        user = platform.directory.user(*current) if current else None
        return user.email if user else None

    def _page(
        request: Request,
        segment: str,
        auth: AuthorizeRequest,
        params: dict[str, str],
        selected: str | None,
        error: str | None = None,
    ) -> Response:
        users = platform.directory.users_of(auth.tenant.id if auth.tenant else None)
        scopes = ScopeRequest.parse(auth.scope)
        shown = scopes.graph + sorted(scopes.oidc)
        html = sign_in_page(
            action=f"/{segment}/oauth2/v2.0/authorize",
            hidden=[(k, params[k]) for k in OAUTH_PARAMS if k in params],
            app_name=auth.app.display_name,
            tenant_name=auth.tenant.name if auth.tenant else None,
            users=[(u.email, u.display_name) for u in users],
            scopes=shown,
            selected=selected,
            error=error,
        )
        return HTMLResponse(html, status_code=200)

    def _submit(
        request: Request,
        segment: str,
        auth: AuthorizeRequest,
        params: dict[str, str],
        submitted: dict[str, str],
    ) -> Response:
        if submitted.get("consent") != "accept":
            return _error_answer(auth, errors.user_declined())
        login = (submitted.get("typed_login") or submitted.get("login") or "").strip()
        if not login:
            return _page(request, segment, auth, params, None, "Enter a valid email address.")
        try:
            user = platform.user_for_sign_in(auth, login)
        except IdentityError as err:
            return _page(request, segment, auth, params, login, f"AADSTS{err.code}: {err.message}")
        code = platform.issue_code(auth, user)
        response = _answer(auth, _code_fields(auth, code, user.id, user.tenant_id, params))
        response.set_cookie(
            SESSION_COOKIE,
            signer.dumps([user.tenant_id, user.id]),
            httponly=True,
            secure=True,
            samesite="lax",
        )
        return response

    def _silent(request: Request, auth: AuthorizeRequest) -> Response:
        current = session_user(request)
        user = platform.directory.user(*current) if current else None
        if user is None or (auth.tenant is not None and user.tenant_id != auth.tenant.id):
            return _error_answer(auth, errors.login_required())
        if platform.needs_consent(auth, user):
            return _error_answer(
                auth, errors.interaction_required(auth.app.client_id, auth.app.display_name)
            )
        code = platform.issue_code(auth, user)
        return _answer(auth, _code_fields(auth, code, user.id, user.tenant_id, {}))

    def _code_fields(
        auth: AuthorizeRequest, code: str, oid: str, tid: str, params: dict[str, str]
    ) -> dict[str, str | None]:
        fields: dict[str, str | None] = {"code": code}
        if params.get("client_info") == "1":
            user = platform.directory.user(tid, oid)
            if user is not None:
                fields["client_info"] = client_info(user)
        fields["session_state"] = str(uuid.uuid4())
        return fields

    @router.post("/{tenant}/oauth2/v2.0/token")
    async def token(tenant: str, request: Request) -> Response:
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        basic = _basic_credentials(request.headers.get("authorization", ""))
        if basic is not None:
            form.setdefault("client_id", basic[0])
            form.setdefault("client_secret", basic[1])
        try:
            body = platform.token(tenant, form, _base(request))
        except IdentityError as err:
            return fail(request, err)
        return JSONResponse(body, headers={"Cache-Control": "no-store, no-cache"})

    @router.get("/{tenant}/oauth2/v2.0/logout")
    async def logout(tenant: str, request: Request) -> Response:
        target = request.query_params.get("post_logout_redirect_uri")
        response: Response = (
            RedirectResponse(target, status_code=302)
            if target
            else HTMLResponse(error_page("You signed out of your account."), status_code=200)
        )
        response.delete_cookie(SESSION_COOKIE)
        return response

    return router


def _basic_credentials(header: str) -> tuple[str, str] | None:
    """client_secret_basic (RFC 6749 §2.3.1): both parts form-urlencoded, then base64."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (unquote(client_id), unquote(secret)) if sep else None
