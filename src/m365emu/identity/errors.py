"""OAuth 2.0 error answers shaped exactly as the Microsoft identity platform returns them.

Body (learn.microsoft.com "Microsoft identity platform and OAuth 2.0 authorization code
flow", section "Error response", and "Microsoft Entra authentication and authorization
error codes"):

    {"error": "invalid_grant",
     "error_description": "AADSTS70008: … \\r\\nTrace ID: …\\r\\nCorrelation ID: …
                           \\r\\nTimestamp: 2026-11-25 20:01:02Z",
     "error_codes": [70008], "timestamp": "2026-11-25 20:01:02Z",
     "trace_id": "<guid>", "correlation_id": "<guid>", "error_uri": "https://…/error?code=70008"}

The correlation id echoes the client's `client-request-id` header, as Entra does. Status
400, except `invalid_client` (401). MSAL Python reads `error`, `error_description`,
`suberror` and `error_codes`; on `invalid_grant` during a refresh it drops its refresh token.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi.responses import JSONResponse


class IdentityError(Exception):
    """An AADSTS error: `error` (the OAuth code), `code` (AADSTS number), `message`."""

    def __init__(
        self,
        error: str,
        code: int,
        message: str,
        status: int = 400,
        suberror: str | None = None,
    ) -> None:
        super().__init__(f"AADSTS{code}: {message}")
        self.error = error
        self.code = code
        self.message = message
        self.status = status
        self.suberror = suberror


def error_body(
    err: IdentityError, now: datetime, base_url: str, correlation_id: str | None
) -> dict[str, Any]:
    trace_id = str(uuid.uuid4())
    correlation = correlation_id or str(uuid.uuid4())
    stamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
    body: dict[str, Any] = {
        "error": err.error,
        "error_description": (
            f"AADSTS{err.code}: {err.message}\r\nTrace ID: {trace_id}\r\n"
            f"Correlation ID: {correlation}\r\nTimestamp: {stamp}"
        ),
        "error_codes": [err.code],
        "timestamp": stamp,
        "trace_id": trace_id,
        "correlation_id": correlation,
        "error_uri": f"{base_url.rstrip('/')}/error?code={err.code}",
    }
    if err.suberror:
        body["suberror"] = err.suberror
    return body


def error_response(
    err: IdentityError, now: datetime, base_url: str, correlation_id: str | None
) -> JSONResponse:
    return JSONResponse(
        error_body(err, now, base_url, correlation_id),
        status_code=err.status,
        headers={"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"},
    )


# -- the catalogue (messages as Entra words them) ------------------------------------------


def missing_parameter(name: str) -> IdentityError:
    return IdentityError(
        "invalid_request",
        900144,
        f"The request body must contain the following parameter: '{name}'.",
    )


def tenant_not_found(tenant: str) -> IdentityError:
    return IdentityError(
        "invalid_tenant",
        90002,
        f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and "
        "are signing into the correct cloud. Check with your subscription administrator, this "
        "may happen if there are no active subscriptions for the tenant.",
    )


def app_not_found(client_id: str, tenant: str) -> IdentityError:
    return IdentityError(
        "unauthorized_client",
        700016,
        f"Application with identifier '{client_id}' was not found in the directory '{tenant}'. "
        "This can happen if the application has not been installed by the administrator of "
        "the tenant or consented to by any user in the tenant. You may have sent your "
        "authentication request to the wrong tenant.",
    )


def missing_client_secret() -> IdentityError:
    return IdentityError(
        "invalid_client",
        7000218,
        "The request body must contain the following parameter: 'client_assertion' or "
        "'client_secret'.",
        status=401,
    )


def wrong_client_secret(client_id: str) -> IdentityError:
    return IdentityError(
        "invalid_client",
        7000215,
        "Invalid client secret provided. Ensure the secret being sent in the request is the "
        f"client secret value, not the client secret ID, for a secret added to app "
        f"'{client_id}'.",
        status=401,
    )


def unsupported_grant(grant_type: str) -> IdentityError:
    return IdentityError(
        "unsupported_grant_type",
        70003,
        f"The app requested an unsupported grant type '{grant_type}'.",
    )


def invalid_code() -> IdentityError:
    return IdentityError(
        "invalid_grant", 70000, "The provided value for the 'code' parameter is not valid."
    )


def code_redeemed() -> IdentityError:
    return IdentityError(
        "invalid_grant",
        54005,
        "OAuth2 Authorization code was already redeemed, please retry with a new valid code "
        "or use an existing refresh token.",
    )


def grant_expired() -> IdentityError:
    return IdentityError(
        "invalid_grant",
        70008,
        "The provided authorization code or refresh token has expired due to inactivity. "
        "Send a new interactive authorization request for this user and resource.",
    )


def redirect_uri_mismatch_at_token() -> IdentityError:
    return IdentityError(
        "invalid_grant",
        500117,
        "The reply uri specified in the token request does not match the reply uri "
        "specified in the authorization request.",
    )


def pkce_mismatch() -> IdentityError:
    return IdentityError(
        "invalid_grant",
        501481,
        "The Code_Verifier does not match the code_challenge supplied in the authorization "
        "request.",
    )


def pkce_verifier_missing() -> IdentityError:
    return IdentityError(
        "invalid_grant",
        50148,
        "The code_verifier does not match the code_challenge supplied in the authorization "
        "request for PKCE.",
    )


def invalid_refresh_token() -> IdentityError:
    return IdentityError(
        "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid."
    )


def refresh_token_revoked(issued: str, valid_from: str) -> IdentityError:
    return IdentityError(
        "invalid_grant",
        50173,
        "The provided grant has expired due to it being revoked, a fresh auth token is "
        "needed. The user might have changed or reset their password. The grant was issued "
        f"on '{issued}' and the TokensValidFrom date (before which tokens are not valid) for "
        f"this user is '{valid_from}'.",
        suberror="bad_token",
    )


def refresh_token_inactive(issued: str) -> IdentityError:
    return IdentityError(
        "invalid_grant",
        700082,
        f"The refresh token has expired due to inactivity. The token was issued on {issued} "
        "and was inactive for 90.00:00:00.",
        suberror="bad_token",
    )


def consent_required(client_id: str, app_name: str) -> IdentityError:
    return IdentityError(
        "invalid_grant",
        65001,
        f"The user or administrator has not consented to use the application with ID "
        f"'{client_id}' named '{app_name}'. Send an interactive authorization request for "
        "this user and resource.",
        suberror="consent_required",
    )


def interaction_required(client_id: str, app_name: str) -> IdentityError:
    return IdentityError(
        "interaction_required",
        65001,
        f"The user or administrator has not consented to use the application with ID "
        f"'{client_id}' named '{app_name}'. Send an interactive authorization request for "
        "this user and resource.",
        suberror="consent_required",
    )


def login_required() -> IdentityError:
    return IdentityError(
        "login_required",
        50058,
        "A silent sign-in request was sent but no user is signed in. The cookies used to "
        "represent the user's session were not sent in the request to Azure AD.",
    )


def user_declined() -> IdentityError:
    return IdentityError("access_denied", 65004, "User declined to consent to access the app.")


def unknown_resource(resource: str, tenant: str) -> IdentityError:
    return IdentityError(
        "invalid_resource",
        500011,
        f"The resource principal named {resource} was not found in the tenant named {tenant}. "
        "This can happen if the application has not been installed by the administrator of "
        "the tenant or consented to by any user in the tenant.",
    )


def invalid_default_scope() -> IdentityError:
    return IdentityError(
        "invalid_scope",
        1002012,
        "The provided value for scope is not valid. Client credential flows must have a "
        "scope value with /.default suffixed to the resource identifier "
        "(application ID URI).",
    )


def no_tenant_for_client_credentials() -> IdentityError:
    return IdentityError(
        "invalid_request",
        50059,
        "No tenant-identifying information found in either the request or implied by any "
        "provided credentials.",
    )


def redirect_uri_not_registered(client_id: str) -> IdentityError:
    return IdentityError(
        "invalid_request",
        50011,
        "The redirect URI specified in the request does not match the redirect URIs "
        f"configured for the application '{client_id}'. Make sure the redirect URI sent in "
        "the request matches one added to your application in the Azure portal.",
    )


def unsupported_response_type(value: str) -> IdentityError:
    return IdentityError(
        "unsupported_response_type",
        700054,
        f"response_type '{value}' is not enabled for the application.",
    )


def user_not_in_tenant(email: str, tenant: str) -> IdentityError:
    return IdentityError(
        "invalid_request",
        50034,
        f"The user account {email} does not exist in the {tenant} directory. To sign into "
        "this application, the account must be added to the directory.",
    )


def transient(status: int) -> IdentityError:
    return IdentityError(
        "temporarily_unavailable",
        90033 if status != 429 else 50196,
        "A transient error has occurred. Please try again."
        if status != 429
        else "The server terminated an operation because it encountered a client request loop.",
        status=status,
    )
