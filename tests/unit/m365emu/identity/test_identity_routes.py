"""Wire behaviour of discovery, JWKS, /authorize and /token, checked against what the
Microsoft identity platform answers (issue 4; R19, R19b)."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import jwt
import pytest

from m365emu.app import Emulator
from m365emu.demo import DEMO_TENANT_ID, FABRIKAM_TENANT_ID
from m365emu.identity.routes import SESSION_COOKIE
from m365emu.testing import TEST_CLIENT_ID, TEST_CLIENT_SECRET, TEST_REDIRECT_URI, hidden_form

CLIENT_ID = TEST_CLIENT_ID
SECRET = TEST_CLIENT_SECRET
REDIRECT = TEST_REDIRECT_URI
PUBLIC_CLIENT_ID = "11111111-aaaa-4bbb-8ccc-000000000002"  # registered by conftest.py
BASE = "https://login.emu.test"  # the ASGI client's base URL (conftest.py)

VERIFIER = "v" * 43
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=")


def _authorize_params(**extra: str) -> dict[str, str]:
    params = {
        "client_id": CLIENT_ID,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "openid profile offline_access Calendars.ReadWrite",
        "state": "st-1",
        "nonce": "n-1",
        "code_challenge": CHALLENGE.decode(),
        "code_challenge_method": "S256",
    }
    params.update(extra)
    return params


async def _code(
    client: httpx.AsyncClient,
    email: str = "alice@contoso.example",
    tenant: str = DEMO_TENANT_ID,
    **extra: str,
) -> dict[str, str]:
    """Sign in through the page with response_mode=query; the redirect's query."""
    url = f"/{tenant}/oauth2/v2.0/authorize"
    page = await client.get(url, params=_authorize_params(**extra))
    action, fields = hidden_form(page.text)
    answer = await client.post(action, data={**fields, "login": email, "consent": "accept"})
    assert answer.status_code == 302, answer.text
    location = answer.headers["location"]
    assert location.startswith(REDIRECT + "?")
    return dict(parse_qsl(urlsplit(location).query))


async def _redeem(
    client: httpx.AsyncClient, code: str, tenant: str = DEMO_TENANT_ID, **extra: str
) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": VERIFIER,
        "scope": "openid profile offline_access Calendars.ReadWrite",
        "client_info": "1",
    }
    form.update(extra)
    return await client.post(f"/{tenant}/oauth2/v2.0/token", data=form)


def _assert_aadsts(response: httpx.Response, error: str, code: int, status: int = 400) -> None:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert re.fullmatch(
        rf"AADSTS{code}: .+\r\nTrace ID: [0-9a-f-]{{36}}\r\nCorrelation ID: [0-9a-f-]{{36}}"
        r"\r\nTimestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ",
        body["error_description"],
        re.DOTALL,
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ", body["timestamp"])
    assert body["trace_id"] != body["correlation_id"]


# -- discovery and keys -----------------------------------------------------------------


async def test_discovery_of_a_tenant_names_its_id_in_every_endpoint(
    client: httpx.AsyncClient,
) -> None:
    doc = (await client.get("/contoso/v2.0/.well-known/openid-configuration")).json()
    assert doc["issuer"] == f"{BASE}/{DEMO_TENANT_ID}/v2.0"
    assert doc["authorization_endpoint"] == f"{BASE}/{DEMO_TENANT_ID}/oauth2/v2.0/authorize"
    assert doc["token_endpoint"] == f"{BASE}/{DEMO_TENANT_ID}/oauth2/v2.0/token"
    assert doc["jwks_uri"] == f"{BASE}/{DEMO_TENANT_ID}/discovery/v2.0/keys"
    assert "form_post" in doc["response_modes_supported"]


async def test_discovery_of_organizations_templates_the_issuer(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/organizations/v2.0/.well-known/openid-configuration")).json()
    assert doc["issuer"] == f"{BASE}/{{tenantid}}/v2.0"
    assert doc["token_endpoint"] == f"{BASE}/organizations/oauth2/v2.0/token"


async def test_unknown_tenant_is_invalid_tenant_with_the_full_error_body(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get(
        "/nowhere/v2.0/.well-known/openid-configuration",
        headers={"client-request-id": "0e1d2c3b-4a59-4876-9a0b-1c2d3e4f5a6b"},
    )
    _assert_aadsts(answer, "invalid_tenant", 90002)
    assert answer.json()["correlation_id"] == "0e1d2c3b-4a59-4876-9a0b-1c2d3e4f5a6b"


async def test_jwks_publishes_the_signing_key_as_entra_does(client: httpx.AsyncClient) -> None:
    [key] = (await client.get(f"/{DEMO_TENANT_ID}/discovery/v2.0/keys")).json()["keys"]
    assert {"kty", "use", "kid", "x5t", "n", "e", "x5c", "issuer"} <= set(key)
    assert key["kty"] == "RSA"
    assert key["use"] == "sig"
    assert key["issuer"] == f"{BASE}/{DEMO_TENANT_ID}/v2.0"
    assert jwt.PyJWK(key).key is not None


# -- /authorize --------------------------------------------------------------------------


async def test_unknown_client_gets_an_error_page_not_a_redirect(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get(
        f"/{DEMO_TENANT_ID}/oauth2/v2.0/authorize", params=_authorize_params(client_id="nope")
    )
    assert answer.status_code == 400
    assert "AADSTS700016" in answer.text


async def test_unregistered_redirect_uri_gets_an_error_page(client: httpx.AsyncClient) -> None:
    answer = await client.get(
        f"/{DEMO_TENANT_ID}/oauth2/v2.0/authorize",
        params=_authorize_params(redirect_uri="https://evil.example/cb"),
    )
    assert answer.status_code == 400
    assert "AADSTS50011" in answer.text


async def test_unsupported_response_type_is_redirected_with_the_state(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get(
        f"/{DEMO_TENANT_ID}/oauth2/v2.0/authorize", params=_authorize_params(response_type="token")
    )
    assert answer.status_code == 302
    query = dict(parse_qsl(urlsplit(answer.headers["location"]).query))
    assert query["error"] == "unsupported_response_type"
    assert query["state"] == "st-1"


async def test_cancel_on_the_consent_page_is_access_denied(client: httpx.AsyncClient) -> None:
    page = await client.get(f"/{DEMO_TENANT_ID}/oauth2/v2.0/authorize", params=_authorize_params())
    action, fields = hidden_form(page.text)
    answer = await client.post(
        action, data={**fields, "login": "bob@contoso.example"} | {"consent": "cancel"}
    )
    query = dict(parse_qsl(urlsplit(answer.headers["location"]).query))
    assert query["error"] == "access_denied"
    assert query["error_description"].startswith("AADSTS65004")


async def test_query_response_carries_code_state_and_client_info(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    answer = await _code(client, client_info="1")
    assert answer["state"] == "st-1"
    assert answer["code"]
    alice = emulator.directory.user_by_email("alice@contoso.example")
    assert alice is not None
    padded = answer["client_info"] + "=" * (-len(answer["client_info"]) % 4)
    assert base64.urlsafe_b64decode(padded) == (
        f'{{"uid":"{alice.id}","utid":"{DEMO_TENANT_ID}"}}'.encode()
    )


async def test_prompt_none_without_a_session_is_login_required(client: httpx.AsyncClient) -> None:
    answer = await client.get(
        f"/{DEMO_TENANT_ID}/oauth2/v2.0/authorize", params=_authorize_params(prompt="none")
    )
    query = dict(parse_qsl(urlsplit(answer.headers["location"]).query))
    assert query["error"] == "login_required"


async def test_prompt_none_with_a_session_signs_in_silently_until_new_scopes_need_consent(
    client: httpx.AsyncClient,
) -> None:
    await _code(client)
    assert client.cookies.get(SESSION_COOKIE)
    url = f"/{DEMO_TENANT_ID}/oauth2/v2.0/authorize"
    silent = await client.get(url, params=_authorize_params(prompt="none"))
    assert "code" in dict(parse_qsl(urlsplit(silent.headers["location"]).query))
    more = await client.get(url, params=_authorize_params(prompt="none", scope="openid Mail.Read"))
    query = dict(parse_qsl(urlsplit(more.headers["location"]).query))
    assert query["error"] == "interaction_required"


# -- /token -----------------------------------------------------------------------------


async def test_code_redeemed_twice_is_invalid_grant_54005(client: httpx.AsyncClient) -> None:
    code = (await _code(client))["code"]
    first = await _redeem(client, code)
    assert first.status_code == 200
    body = first.json()
    assert {"access_token", "refresh_token", "id_token", "client_info", "scope"} <= set(body)
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "Calendars.ReadWrite profile openid"
    _assert_aadsts(await _redeem(client, code), "invalid_grant", 54005)


async def test_code_older_than_ten_minutes_is_invalid_grant_70008(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    code = (await _code(client))["code"]
    emulator.clock.set(emulator.clock.now() + timedelta(minutes=11))
    _assert_aadsts(await _redeem(client, code), "invalid_grant", 70008)


async def test_pkce_verifier_missing_or_wrong_is_refused(client: httpx.AsyncClient) -> None:
    code = (await _code(client))["code"]
    _assert_aadsts(await _redeem(client, code, code_verifier=""), "invalid_grant", 50148)
    code = (await _code(client))["code"]
    _assert_aadsts(await _redeem(client, code, code_verifier="w" * 43), "invalid_grant", 501481)


async def test_redirect_uri_must_match_the_authorization_request(
    client: httpx.AsyncClient,
) -> None:
    code = (await _code(client))["code"]
    answer = await _redeem(client, code, redirect_uri="http://127.0.0.1:8000/other")
    _assert_aadsts(answer, "invalid_grant", 500117)


async def test_public_client_redeems_with_pkce_and_no_secret(client: httpx.AsyncClient) -> None:
    code = (await _code(client, client_id=PUBLIC_CLIENT_ID))["code"]
    answer = await _redeem(client, code, client_id=PUBLIC_CLIENT_ID, client_secret="")
    assert answer.status_code == 200, answer.text


async def test_client_secret_missing_wrong_or_in_basic_auth(client: httpx.AsyncClient) -> None:
    code = (await _code(client))["code"]
    _assert_aadsts(
        await _redeem(client, code, client_secret=""), "invalid_client", 7000218, status=401
    )
    _assert_aadsts(
        await _redeem(client, code, client_secret="nope"), "invalid_client", 7000215, status=401
    )
    basic = base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": VERIFIER,
    }
    answer = await client.post(
        f"/{DEMO_TENANT_ID}/oauth2/v2.0/token",
        data=form,
        headers={"Authorization": f"Basic {basic}"},
    )
    assert answer.status_code == 200, answer.text


async def test_missing_and_unsupported_grant_types(client: httpx.AsyncClient) -> None:
    url = f"/{DEMO_TENANT_ID}/oauth2/v2.0/token"
    _assert_aadsts(await client.post(url, data={"client_id": CLIENT_ID}), "invalid_request", 900144)
    answer = await client.post(url, data={"grant_type": "password", "client_id": CLIENT_ID})
    _assert_aadsts(answer, "unsupported_grant_type", 70003)


async def test_refresh_rotates_and_the_old_token_stays_valid_as_in_entra(
    client: httpx.AsyncClient,
) -> None:
    tokens = (await _redeem(client, (await _code(client))["code"])).json()
    form = {
        "grant_type": "refresh_token",
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "scope": "Calendars.ReadWrite openid",
        "refresh_token": tokens["refresh_token"],
    }
    url = f"/{DEMO_TENANT_ID}/oauth2/v2.0/token"
    first = (await client.post(url, data=form)).json()
    assert first["refresh_token"] != tokens["refresh_token"]
    assert "nonce" not in jwt.decode(first["id_token"], options={"verify_signature": False})
    assert (await client.post(url, data=form)).status_code == 200


async def test_refresh_token_errors_unknown_inactive_and_unconsented(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    tokens = (await _redeem(client, (await _code(client))["code"])).json()
    url = f"/{DEMO_TENANT_ID}/oauth2/v2.0/token"
    form = {
        "grant_type": "refresh_token",
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "refresh_token": tokens["refresh_token"],
        "scope": "Calendars.ReadWrite",
    }
    _assert_aadsts(
        await client.post(url, data=form | {"refresh_token": "1.Abogus"}), "invalid_grant", 9002313
    )
    answer = await client.post(url, data=form | {"scope": "Mail.Read"})
    _assert_aadsts(answer, "invalid_grant", 65001)
    assert answer.json()["suberror"] == "consent_required"
    emulator.clock.set(emulator.clock.now() + timedelta(days=91))
    _assert_aadsts(await client.post(url, data=form), "invalid_grant", 700082)


async def test_revoked_refresh_token_is_invalid_grant_50173_even_on_a_still_clock_R19b(
    client: httpx.AsyncClient, emulator: Emulator
) -> None:
    emulator.clock.set(emulator.clock.now())
    tokens = (await _redeem(client, (await _code(client))["code"])).json()
    alice = emulator.directory.user_by_email("alice@contoso.example")
    assert alice is not None
    emulator.directory.revoke(alice, emulator.clock.now())
    form = {
        "grant_type": "refresh_token",
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "refresh_token": tokens["refresh_token"],
    }
    _assert_aadsts(
        await client.post(f"/{DEMO_TENANT_ID}/oauth2/v2.0/token", data=form), "invalid_grant", 50173
    )
    # Signing in again after the revocation works at the very same instant.
    fresh = (await _redeem(client, (await _code(client))["code"])).json()
    again = await client.post(
        f"/{DEMO_TENANT_ID}/oauth2/v2.0/token",
        data=form | {"refresh_token": fresh["refresh_token"]},
    )
    assert again.status_code == 200


async def test_user_of_another_tenant_is_refused_on_a_tenant_authority(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get(f"/{DEMO_TENANT_ID}/oauth2/v2.0/authorize", params=_authorize_params())
    action, fields = hidden_form(page.text)
    answer = await client.post(
        action, data={**fields, "typed_login": "erin@fabrikam.example", "consent": "accept"}
    )
    assert answer.status_code == 200
    assert "AADSTS50034" in answer.text


async def test_organizations_issues_tokens_of_the_users_own_tenant(
    client: httpx.AsyncClient,
) -> None:
    code = (await _code(client, "erin@fabrikam.example", tenant="organizations"))["code"]
    body = (await _redeem(client, code, tenant="organizations")).json()
    claims = jwt.decode(body["id_token"], options={"verify_signature": False})
    assert claims["tid"] == FABRIKAM_TENANT_ID
    assert claims["iss"] == f"{BASE}/{FABRIKAM_TENANT_ID}/v2.0"
    assert claims["nonce"] == "n-1"


@pytest.mark.parametrize(
    ("tenant", "scope", "code"),
    [
        ("organizations", "https://graph.microsoft.com/.default", 50059),
        (DEMO_TENANT_ID, "Calendars.ReadWrite", 1002012),
    ],
)
async def test_client_credentials_need_a_tenant_and_a_default_scope(
    client: httpx.AsyncClient, tenant: str, scope: str, code: int
) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "scope": scope,
    }
    answer = await client.post(f"/{tenant}/oauth2/v2.0/token", data=form)
    assert answer.json()["error_codes"] == [code]
