"""The identity platform's behaviour between HTTP and the directory: who may ask for
what at `/authorize` and `/token`, and the token responses it answers.

Follows learn.microsoft.com "Microsoft identity platform and OAuth 2.0 authorization code
flow" (PKCE S256 and plain, `response_mode` query and form_post, refresh tokens) and
"OAuth 2.0 client credentials flow". Every failure is an `IdentityError` from errors.py.

Tenants: a tenant id (or its name), `organizations` or `common`. With an alias any
user of any tenant may sign in and tokens carry the user's own tenant; client
credentials need a real tenant (AADSTS50059).

Not emulated: implicit and hybrid flows, device code, on-behalf-of, ROPC, client
assertions (certificates), `claims`/`max_age` requests, MFA and conditional access.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from m365emu.clock import EmulatorClock
from m365emu.identity import errors
from m365emu.identity.claims import (
    ACCESS_TOKEN_LIFETIME,
    ScopeRequest,
    UnknownResource,
    app_access_claims,
    client_info,
    delegated_access_claims,
    id_token_claims,
)
from m365emu.identity.keys import KeySet
from m365emu.identity.models import (
    TENANT_ALIASES,
    AppRegistration,
    AuthCode,
    Directory,
    DirectoryError,
    Tenant,
    User,
)

DEFAULT_DELEGATED = ["User.Read"]


@dataclass(frozen=True)
class AuthorizeRequest:
    """The validated parameters of an `/authorize` request."""

    tenant: Tenant | None  # None: `organizations` or `common`
    tenant_segment: str
    app: AppRegistration
    redirect_uri: str
    response_mode: str  # "query" or "form_post"
    scope: str
    state: str | None
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    prompt: str | None
    login_hint: str | None


class IdentityPlatform:
    """Authorization and token grants over one `Directory` and `KeySet`."""

    def __init__(self, directory: Directory, keys: KeySet, clock: EmulatorClock) -> None:
        self.directory = directory
        self.keys = keys
        self.clock = clock

    # -- tenants and apps --------------------------------------------------------------

    def resolve_tenant(self, segment: str) -> Tenant | None:
        """The tenant a path names, None for an alias; `IdentityError` when unknown."""
        if segment.lower() in TENANT_ALIASES:
            return None
        tenant = self.directory.tenant(segment)
        if tenant is None:
            raise errors.tenant_not_found(segment)
        return tenant

    def find_app(self, client_id: str | None, segment: str) -> AppRegistration:
        if not client_id:
            raise errors.missing_parameter("client_id")
        app = self.directory.app(client_id)
        if app is None:
            raise errors.app_not_found(client_id, segment)
        return app

    def check_authorize(self, segment: str, params: dict[str, str]) -> AuthorizeRequest:
        """Errors raised here are shown as a page (never redirected): the redirect URI
        cannot be trusted yet. Errors after this point are redirected to the client."""
        tenant = self.resolve_tenant(segment)
        app = self.find_app(params.get("client_id"), segment)
        redirect_uri = params.get("redirect_uri") or (app.redirect_uris or [""])[0]
        if redirect_uri not in app.redirect_uris:
            raise errors.redirect_uri_not_registered(app.client_id)
        return AuthorizeRequest(
            tenant=tenant,
            tenant_segment=segment,
            app=app,
            redirect_uri=redirect_uri,
            response_mode=params.get("response_mode") or "query",
            scope=params.get("scope", ""),
            state=params.get("state"),
            nonce=params.get("nonce"),
            code_challenge=params.get("code_challenge"),
            code_challenge_method=params.get("code_challenge_method"),
            prompt=params.get("prompt"),
            login_hint=params.get("login_hint"),
        )

    def check_redirectable(self, request: AuthorizeRequest, params: dict[str, str]) -> None:
        """The checks whose failures go back to the client's redirect URI."""
        response_type = params.get("response_type", "")
        if response_type != "code":
            raise errors.unsupported_response_type(response_type)
        if request.response_mode not in ("query", "form_post"):
            raise errors.IdentityError(
                "invalid_request",
                900144,
                f"The provided value for the input parameter 'response_mode' is not valid: "
                f"'{request.response_mode}'.",
            )
        method = request.code_challenge_method
        if request.code_challenge and method not in (None, "S256", "plain"):
            raise errors.IdentityError(
                "invalid_request",
                501491,
                f"Invalid code_challenge_method '{method}'.",
            )
        try:
            ScopeRequest.parse(request.scope)
        except UnknownResource as unknown:
            raise errors.unknown_resource(str(unknown), request.tenant_segment) from unknown

    def user_for_sign_in(self, request: AuthorizeRequest, login: str) -> User:
        user = self.directory.user_by_email(login)
        tenant_name = request.tenant.name if request.tenant else request.tenant_segment
        if user is None or (request.tenant is not None and user.tenant_id != request.tenant.id):
            raise errors.user_not_in_tenant(login.strip(), tenant_name)
        return user

    def granted_scopes(self, scopes: ScopeRequest, user: User, app: AppRegistration) -> list[str]:
        if scopes.default or not scopes.graph:
            consented = sorted(self.directory.consented(user, app.client_id))
            return sorted(set(consented) | set(scopes.graph)) or list(DEFAULT_DELEGATED)
        return list(scopes.graph)

    def needs_consent(self, request: AuthorizeRequest, user: User) -> bool:
        scopes = ScopeRequest.parse(request.scope)
        wanted = set(self.granted_scopes(scopes, user, request.app))
        return not wanted <= self.directory.consented(user, request.app.client_id)

    def issue_code(self, request: AuthorizeRequest, user: User) -> str:
        scopes = ScopeRequest.parse(request.scope)
        granted = self.granted_scopes(scopes, user, request.app)
        self.directory.grant_consent(user, request.app.client_id, granted)
        return self.directory.issue_code(
            AuthCode(
                tenant_id=user.tenant_id,
                user_id=user.id,
                client_id=request.app.client_id,
                redirect_uri=request.redirect_uri,
                scopes=request.scope.split(),
                nonce=request.nonce,
                code_challenge=request.code_challenge,
                code_challenge_method=request.code_challenge_method,
                issued_at=self.clock.now(),
            )
        )

    # -- /token ---------------------------------------------------------------------------

    def authenticate_client(self, form: dict[str, str], segment: str) -> AppRegistration:
        app = self.find_app(form.get("client_id"), segment)
        if app.client_secret is None:
            return app  # a public client proves nothing but PKCE
        secret = form.get("client_secret")
        if not secret:
            raise errors.missing_client_secret()
        if not hmac.compare_digest(secret.encode(), app.client_secret.encode()):
            raise errors.wrong_client_secret(app.client_id)
        return app

    def token(self, segment: str, form: dict[str, str], issuer_base: str) -> dict[str, Any]:
        """The JSON of a successful `/token` answer, or `IdentityError`."""
        tenant = self.resolve_tenant(segment)
        grant_type = form.get("grant_type")
        if not grant_type:
            raise errors.missing_parameter("grant_type")
        if grant_type not in ("authorization_code", "refresh_token", "client_credentials"):
            raise errors.unsupported_grant(grant_type)
        app = self.authenticate_client(form, segment)
        try:
            scopes = ScopeRequest.parse(form.get("scope", ""))
        except UnknownResource as unknown:
            raise errors.unknown_resource(str(unknown), segment) from unknown
        if grant_type == "client_credentials":
            return self._client_credentials(tenant, app, scopes)
        if grant_type == "authorization_code":
            user, code_scopes, nonce = self._redeem_code(form, app)
            scopes = scopes if form.get("scope") else ScopeRequest.parse(" ".join(code_scopes))
        else:
            user = self._use_refresh_token(form, app)
            nonce = None
        if tenant is not None and user.tenant_id != tenant.id:
            raise errors.user_not_in_tenant(user.email, tenant.name)
        return self._delegated(user, app, scopes, nonce, issuer_base, form)

    def _redeem_code(
        self, form: dict[str, str], app: AppRegistration
    ) -> tuple[User, list[str], str | None]:
        secret = form.get("code")
        if not secret:
            raise errors.missing_parameter("code")
        try:
            code = self.directory.redeem_code(secret, self.clock.now())
        except DirectoryError as refused:
            raise {
                "redeemed": errors.code_redeemed(),
                "expired": errors.grant_expired(),
            }.get(refused.code, errors.invalid_code()) from refused
        if code.client_id != app.client_id:
            raise errors.invalid_code()
        if form.get("redirect_uri", code.redirect_uri) != code.redirect_uri:
            raise errors.redirect_uri_mismatch_at_token()
        if code.code_challenge:
            verifier = form.get("code_verifier")
            if not verifier:
                raise errors.pkce_verifier_missing()
            if code.code_challenge_method == "S256":
                digest = hashlib.sha256(verifier.encode("ascii")).digest()
                computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
            else:
                computed = verifier
            if not hmac.compare_digest(computed, code.code_challenge):
                raise errors.pkce_mismatch()
        user = self.directory.user(code.tenant_id, code.user_id)
        if user is None:
            raise errors.invalid_code()
        return user, code.scopes, code.nonce

    def _use_refresh_token(self, form: dict[str, str], app: AppRegistration) -> User:
        secret = form.get("refresh_token")
        if not secret:
            raise errors.missing_parameter("refresh_token")
        try:
            grant = self.directory.use_refresh_token(secret, app.client_id, self.clock.now())
        except DirectoryError as refused:
            if refused.code == "revoked":
                holder = self._holder(secret)
                valid_from = holder.tokens_valid_from if holder else None
                raise errors.refresh_token_revoked(
                    str(refused), valid_from.isoformat() if valid_from else ""
                ) from refused
            if refused.code == "expired":
                raise errors.refresh_token_inactive(str(refused)) from refused
            raise errors.invalid_refresh_token() from refused
        user = self.directory.user(grant.tenant_id, grant.user_id)
        if user is None:
            raise errors.invalid_refresh_token()
        return user

    def _holder(self, secret: str) -> User | None:
        grant = self.directory.refresh_grant(secret)
        return self.directory.user(grant.tenant_id, grant.user_id) if grant else None

    def _delegated(
        self,
        user: User,
        app: AppRegistration,
        scopes: ScopeRequest,
        nonce: str | None,
        issuer_base: str,
        form: dict[str, str],
    ) -> dict[str, Any]:
        now = self.clock.now()
        granted = self.granted_scopes(scopes, user, app)
        if not set(granted) <= self.directory.consented(user, app.client_id):
            raise errors.consent_required(app.client_id, app.display_name)
        access = delegated_access_claims(user, app, granted, scopes.audience, now)
        lifetime = int(ACCESS_TOKEN_LIFETIME.total_seconds())
        body: dict[str, Any] = {
            "token_type": "Bearer",
            "scope": scopes.echo(granted),
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": self.keys.sign(access),
        }
        # A refresh grant always answers a new refresh token ("replace the old refresh
        # token with this newly acquired one"); a code grant only with offline_access.
        if "offline_access" in scopes.oidc or form.get("grant_type") == "refresh_token":
            body["refresh_token"] = self.directory.issue_refresh_token(
                user, app.client_id, sorted(set(granted) | scopes.oidc), now
            )
        if "openid" in scopes.oidc:
            issuer = f"{issuer_base.rstrip('/')}/{user.tenant_id}/v2.0"
            claims = id_token_claims(user, app, issuer, now, nonce, "email" in scopes.oidc)
            body["id_token"] = self.keys.sign(claims)
        if form.get("client_info") == "1":
            body["client_info"] = client_info(user)
        return body

    def _client_credentials(
        self, tenant: Tenant | None, app: AppRegistration, scopes: ScopeRequest
    ) -> dict[str, Any]:
        if tenant is None:
            raise errors.no_tenant_for_client_credentials()
        if not scopes.default or scopes.graph:
            raise errors.invalid_default_scope()
        if app.client_secret is None:
            raise errors.missing_client_secret()
        claims = app_access_claims(app, tenant.id, scopes.audience, self.clock.now())
        lifetime = int(ACCESS_TOKEN_LIFETIME.total_seconds())
        return {
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": self.keys.sign(claims),
        }

    def test_token(self, user: User, scopes: list[str], app: AppRegistration) -> dict[str, Any]:
        """An access token for a user without a sign-in (the control plane's `token`)."""
        request = ScopeRequest.parse(" ".join(scopes))
        granted = request.graph or list(DEFAULT_DELEGATED)
        claims = delegated_access_claims(user, app, granted, request.audience, self.clock.now())
        return {
            "access_token": self.keys.sign(claims),
            "token_type": "Bearer",
            "expires_in": int(ACCESS_TOKEN_LIFETIME.total_seconds()),
        }
