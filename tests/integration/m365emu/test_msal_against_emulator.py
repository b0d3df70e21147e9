"""MSAL Python, unchanged, against the emulator over real TLS (issue 4, R19, R19b)."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import httpx
import jwt
import msal
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from m365emu.demo import DEMO_TENANT_ID, FABRIKAM_TENANT_ID
from m365emu.testing import (
    TEST_CLIENT_ID,
    TEST_CLIENT_SECRET,
    TEST_REDIRECT_URI,
    RunningEmulator,
    hidden_form,
    sign_in_with_form_posts,
)
from m365emu.tokens import TokenRejected

CLIENT_ID = TEST_CLIENT_ID
REDIRECT_URI = TEST_REDIRECT_URI

SCOPES = ["User.Read", "Calendars.ReadWrite", "MailboxSettings.ReadWrite"]


def _posted(running: RunningEmulator, flow: dict[str, Any], email: str) -> dict[str, str]:
    target, posted = sign_in_with_form_posts(flow["auth_uri"], email, running.ssl_context())
    assert target == REDIRECT_URI
    return posted


def _sign_in(running: RunningEmulator, app: Any, email: str) -> dict[str, Any]:
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI, response_mode="form_post")
    result: dict[str, Any] = app.acquire_token_by_auth_code_flow(
        flow, _posted(running, flow, email)
    )
    return result


def test_auth_code_flow_with_pkce_state_and_nonce_signs_alice_in_R19(
    running: RunningEmulator, make_msal: Any
) -> None:
    app = make_msal()
    result = _sign_in(running, app, "alice@contoso.example")
    assert "access_token" in result, result
    claims = result["id_token_claims"]
    assert isinstance(claims, dict)
    assert claims["preferred_username"] == "alice@contoso.example"
    assert claims["tid"] == DEMO_TENANT_ID
    assert claims["aud"] == CLIENT_ID
    assert claims["ver"] == "2.0"
    [account] = app.get_accounts()
    alice = running.emulator.directory.user_by_email("alice@contoso.example")
    assert alice is not None
    assert account["home_account_id"] == f"{alice.id}.{DEMO_TENANT_ID}"
    granted = running.emulator.verifier.verify(str(result["access_token"]))
    assert granted.oid == alice.id
    assert {"Calendars.ReadWrite", "MailboxSettings.ReadWrite"} <= granted.scopes


def test_tampered_state_is_refused_by_msal_R19(running: RunningEmulator, make_msal: Any) -> None:
    app = make_msal()
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI, response_mode="form_post")
    posted = _posted(running, flow, "bob@contoso.example")
    posted["state"] = "forged"
    with pytest.raises(ValueError, match="state"):
        app.acquire_token_by_auth_code_flow(flow, posted)


def test_code_with_wrong_pkce_verifier_gets_invalid_grant_R19(
    running: RunningEmulator, make_msal: Any
) -> None:
    app = make_msal()
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI, response_mode="form_post")
    posted = _posted(running, flow, "bob@contoso.example")
    flow["code_verifier"] = "x" * 43
    result = app.acquire_token_by_auth_code_flow(flow, posted)
    assert result["error"] == "invalid_grant"
    assert result["error_codes"] == [501481]


def test_silent_refresh_after_the_access_token_expired_R19(
    running: RunningEmulator, make_msal: Any
) -> None:
    app = make_msal()
    first = _sign_in(running, app, "carol@contoso.example")
    later = running.emulator.clock.now() + timedelta(hours=2)
    running.emulator.clock.set(later)
    with pytest.raises(TokenRejected, match="expired"):
        running.emulator.verifier.verify(str(first["access_token"]))
    # MSAL reads its own clock: age the cached token the way two hours would.
    cache = json.loads(app.token_cache.serialize())
    for entry in cache["AccessToken"].values():
        entry["expires_on"] = str(int(time.time()) - 60)
    app.token_cache.deserialize(json.dumps(cache))
    [account] = app.get_accounts()
    refreshed = app.acquire_token_silent(SCOPES, account=account)
    assert refreshed is not None
    assert "access_token" in refreshed, refreshed
    assert refreshed["token_source"] == "identity_provider"
    assert refreshed["access_token"] != first["access_token"]
    claims = running.emulator.verifier.verify(refreshed["access_token"])
    assert claims.preferred_username == "carol@contoso.example"


def test_revoked_user_gets_invalid_grant_on_refresh_R19b(
    running: RunningEmulator, make_msal: Any
) -> None:
    app = make_msal()
    _sign_in(running, app, "dave@contoso.example")
    revoked = httpx.post(f"{running.urls.control}/users/dave@contoso.example/revoke")
    assert revoked.json() == {"revoked": 1}
    [account] = app.get_accounts()
    result = app.acquire_token_silent_with_error(SCOPES, account=account, force_refresh=True)
    assert result is not None
    assert result["error"] == "invalid_grant"
    assert result["error_codes"] == [50173]
    assert result["error_description"].startswith("AADSTS50173: ")
    assert {"trace_id", "correlation_id", "timestamp"} <= set(result)


def test_wrong_client_secret_gets_invalid_client(running: RunningEmulator, make_msal: Any) -> None:
    app = make_msal(secret="not-the-secret")
    result = app.acquire_token_for_client(["https://graph.microsoft.com/.default"])
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [7000215]


def test_client_credentials_give_an_app_only_graph_token(
    running: RunningEmulator, make_msal: Any
) -> None:
    app = make_msal()
    result = app.acquire_token_for_client(["https://graph.microsoft.com/.default"])
    assert "access_token" in result, result
    claims = running.emulator.verifier.verify(result["access_token"])
    assert claims.app_id == CLIENT_ID
    assert claims.preferred_username == ""
    assert jwt.decode(result["access_token"], options={"verify_signature": False})["idtyp"] == (
        "app"
    )


@pytest.mark.parametrize("alias", ["organizations", "common"])
def test_organizations_authority_signs_in_a_user_of_their_own_tenant(
    running: RunningEmulator, make_msal: Any, alias: str
) -> None:
    app = make_msal(tenant=alias)
    result = _sign_in(running, app, "erin@fabrikam.example")
    assert "access_token" in result, result
    assert result["id_token_claims"]["tid"] == FABRIKAM_TENANT_ID
    assert running.emulator.verifier.verify(result["access_token"]).tid == FABRIKAM_TENANT_ID
    [account] = app.get_accounts()
    again = app.acquire_token_silent(SCOPES, account=account, force_refresh=True)
    assert again is not None
    assert "access_token" in again, again


def test_tenant_authority_refuses_a_user_of_another_tenant(
    running: RunningEmulator, make_msal: Any
) -> None:
    app = make_msal()
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT_URI, response_mode="form_post")
    with httpx.Client(verify=running.ssl_context()) as client:
        action, fields = hidden_form(client.get(flow["auth_uri"]).text)
        fields.update({"typed_login": "erin@fabrikam.example", "consent": "accept"})
        page = client.post(f"{running.urls.tls_root}{action}", data=fields)
    assert "AADSTS50034" in page.text
    assert "hiddenform" not in page.text


def test_tokens_verify_against_the_jwks_and_a_foreign_key_is_refused(
    running: RunningEmulator, make_msal: Any
) -> None:
    app = make_msal()
    result = _sign_in(running, app, "alice@contoso.example")
    jwks_uri = f"{running.urls.authority(DEMO_TENANT_ID)}/discovery/v2.0/keys"
    client = jwt.PyJWKClient(jwks_uri, ssl_context=running.ssl_context())
    id_token = str(result["id_token"])
    key = client.get_signing_key_from_jwt(id_token)
    claims = jwt.decode(
        id_token,
        key.key,
        algorithms=["RS256"],
        audience=CLIENT_ID,
        issuer=f"{running.urls.tls_root}/{DEMO_TENANT_ID}/v2.0",
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )
    assert claims["nonce"]
    access = jwt.decode(
        str(result["access_token"]),
        client.get_signing_key_from_jwt(str(result["access_token"])).key,
        algorithms=["RS256"],
        audience="00000003-0000-0000-c000-000000000000",
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )
    assert access["iss"] == f"https://sts.windows.net/{DEMO_TENANT_ID}/"
    forged = jwt.encode(
        access,
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        algorithm="RS256",
        headers={"kid": jwt.get_unverified_header(str(result["access_token"]))["kid"]},
    )
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(forged, key.key, algorithms=["RS256"], audience=access["aud"])
    with pytest.raises(TokenRejected):
        running.emulator.verifier.verify(forged)


def test_msal_with_its_own_session_trusts_the_ca_despite_a_ca_bundle_in_the_environment(
    running: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """requests lets REQUESTS_CA_BUNDLE override `verify=` (psf/requests#3829); an
    `http_client` session that ignores the environment is the way round it."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    session = requests.Session()
    session.trust_env = False
    session.verify = str(running.urls.ca_cert)
    app = msal.ConfidentialClientApplication(
        CLIENT_ID,
        client_credential=TEST_CLIENT_SECRET,
        authority=running.urls.authority(DEMO_TENANT_ID),
        instance_discovery=False,
        http_client=session,
    )
    result = app.acquire_token_for_client(["https://graph.microsoft.com/.default"])
    session.close()
    assert "access_token" in result, result


def test_msal_sees_a_throttled_token_endpoint_as_an_error_with_retry_after(
    running: RunningEmulator, make_msal: Any
) -> None:
    app = make_msal()
    httpx.post(
        f"{running.urls.control}/faults",
        json={"path": "/*/oauth2/v2.0/token", "kind": "throttle", "retry_after": 3},
    )
    result = app.acquire_token_for_client(["https://graph.microsoft.com/.default"])
    assert result["error"] == "temporarily_unavailable", result
