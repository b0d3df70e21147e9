"""Every `/_emulator/` call over real HTTP, including faults on the token endpoint
(issue 4, "Control plane")."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import jwt
import pytest

from m365emu.demo import DEMO_TENANT_ID
from m365emu.testing import (
    TEST_CLIENT_ID,
    TEST_CLIENT_SECRET,
    TEST_REDIRECT_URI,
    RunningEmulator,
    sign_in_with_form_posts,
)

CLIENT_CREDENTIALS = {
    "grant_type": "client_credentials",
    "client_id": TEST_CLIENT_ID,
    "client_secret": TEST_CLIENT_SECRET,
    "scope": "https://graph.microsoft.com/.default",
}


def _token_url(running: RunningEmulator) -> str:
    return f"{running.urls.authority(DEMO_TENANT_ID)}/oauth2/v2.0/token"


def test_tenants_users_and_apps_are_created_and_listed(running: RunningEmulator) -> None:
    control = running.urls.control
    made = httpx.post(f"{control}/tenants", json={"id": "t-1", "name": "northwind"})
    assert made.status_code == 201
    assert made.json() == {"id": "t-1", "name": "northwind"}
    assert httpx.post(f"{control}/tenants", json={"id": "t-1", "name": "x"}).status_code == 409
    names = {t["name"] for t in httpx.get(f"{control}/tenants").json()["value"]}
    assert names == {"contoso", "fabrikam", "northwind"}

    user = httpx.post(
        f"{control}/users",
        json={"tenant_id": "t-1", "email": "Nina@Northwind.example", "display_name": "Nina"},
    )
    assert user.status_code == 201
    assert user.json()["email"] == "nina@northwind.example"
    assert len(user.json()["id"]) == 36
    missing = httpx.post(
        f"{control}/users", json={"tenant_id": "nope", "email": "a@b.c", "display_name": "A"}
    )
    assert missing.status_code == 404
    emails = {u["email"] for u in httpx.get(f"{control}/users").json()["value"]}
    assert "nina@northwind.example" in emails

    app = httpx.post(
        f"{control}/apps",
        json={
            "tenant_id": "t-1",
            "client_id": "c-1",
            "client_secret": "s",
            "redirect_uris": ["http://127.0.0.1/cb"],
        },
    )
    assert app.status_code == 201
    assert app.json()["confidential"] is True
    assert "client_secret" not in app.json()
    token = httpx.post(
        _token_url(running).replace(DEMO_TENANT_ID, "t-1"),
        data={
            "grant_type": "client_credentials",
            "client_id": "c-1",
            "client_secret": "s",
            "scope": "https://graph.microsoft.com/.default",
        },
        verify=running.ssl_context(),
    )
    assert token.status_code == 200, token.text


def test_token_call_mints_a_graph_token_on_the_emulator_clock(running: RunningEmulator) -> None:
    control = running.urls.control
    instant = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    clock = httpx.put(f"{control}/clock", json={"now": instant.isoformat()})
    assert clock.json() == {"now": instant.isoformat(), "fixed": True}
    answer = httpx.post(
        f"{control}/token", json={"email": "bob@contoso.example", "scopes": ["Calendars.ReadWrite"]}
    )
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3599
    claims = running.emulator.verifier.verify(body["access_token"])
    assert claims.preferred_username == "bob@contoso.example"
    assert claims.scopes == {"Calendars.ReadWrite"}
    raw = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert raw["exp"] == int(instant.timestamp()) + 3599
    released = httpx.delete(f"{control}/clock").json()
    assert released["fixed"] is False
    assert httpx.get(f"{control}/clock").json()["fixed"] is False
    unknown = httpx.post(f"{control}/token", json={"email": "nobody@x.example", "scopes": []})
    assert unknown.status_code == 404


def test_revoke_of_an_unknown_user_is_404(running: RunningEmulator) -> None:
    assert httpx.post(f"{running.urls.control}/users/ghost@x.example/revoke").status_code == 404


def test_throttle_fault_on_the_token_endpoint_answers_429_once(running: RunningEmulator) -> None:
    path = f"/{DEMO_TENANT_ID}/oauth2/v2.0/token"
    armed = httpx.post(
        f"{running.urls.control}/faults",
        json={"method": "POST", "path": path, "kind": "throttle", "retry_after": 7},
    )
    assert armed.status_code == 201
    with httpx.Client(verify=running.ssl_context()) as client:
        first = client.post(_token_url(running), data=CLIENT_CREDENTIALS)
        second = client.post(_token_url(running), data=CLIENT_CREDENTIALS)
    assert first.status_code == 429
    assert first.headers["retry-after"] == "7"
    assert first.json()["error"] == "temporarily_unavailable"
    assert second.status_code == 200


def test_a_throttle_fault_says_a_fractional_retry_after_as_graph_can(
    running: RunningEmulator,
) -> None:
    # throttling.md's sample answers "Retry-After: 2.128" (issue 24 item 5).
    armed = httpx.post(
        f"{running.urls.control}/faults",
        json={"path": "/*/oauth2/v2.0/token", "kind": "throttle", "retry_after": 2.128},
    )
    assert armed.status_code == 201
    assert armed.json()["retry_after"] == 2.128
    with httpx.Client(verify=running.ssl_context()) as client:
        first = client.post(_token_url(running), data=CLIENT_CREDENTIALS)
    assert first.status_code == 429
    assert first.headers["retry-after"] == "2.128"


def test_error_fault_with_a_wildcard_path_until_faults_are_cleared(
    running: RunningEmulator,
) -> None:
    httpx.post(
        f"{running.urls.control}/faults",
        json={"path": "/*/oauth2/v2.0/token", "kind": "error", "status": 503, "count": 5},
    )
    with httpx.Client(verify=running.ssl_context()) as client:
        failed = client.post(_token_url(running), data=CLIENT_CREDENTIALS)
        assert failed.status_code == 503
        assert failed.json()["error_codes"] == [90033]
        assert httpx.delete(f"{running.urls.control}/faults").json() == {"cleared": True}
        assert client.post(_token_url(running), data=CLIENT_CREDENTIALS).status_code == 200


def test_timeout_fault_leaves_the_client_waiting(running: RunningEmulator) -> None:
    httpx.post(
        f"{running.urls.control}/faults",
        json={"path": "/*/oauth2/v2.0/token", "kind": "timeout", "timeout_seconds": 1.5},
    )
    with (
        httpx.Client(verify=running.ssl_context(), timeout=0.3) as client,
        pytest.raises(httpx.ReadTimeout),
    ):
        client.post(_token_url(running), data=CLIENT_CREDENTIALS)


def test_applied_then_timeout_redeems_the_code_but_loses_the_answer(
    running: RunningEmulator,
) -> None:
    """The code is spent although the client never saw tokens: a retry gets AADSTS54005."""
    auth_uri = (
        f"{running.urls.authority(DEMO_TENANT_ID)}/oauth2/v2.0/authorize?"
        + httpx.QueryParams(
            client_id=TEST_CLIENT_ID,
            response_type="code",
            redirect_uri=TEST_REDIRECT_URI,
            scope="openid offline_access Calendars.ReadWrite",
            response_mode="form_post",
            state="s1",
        ).__str__()
    )
    _, posted = sign_in_with_form_posts(auth_uri, "alice@contoso.example", running.ssl_context())
    httpx.post(
        f"{running.urls.control}/faults",
        json={
            "path": "/*/oauth2/v2.0/token",
            "kind": "applied_then_timeout",
            "timeout_seconds": 1.5,
        },
    )
    redeem = {
        "grant_type": "authorization_code",
        "client_id": TEST_CLIENT_ID,
        "client_secret": TEST_CLIENT_SECRET,
        "code": posted["code"],
        "redirect_uri": TEST_REDIRECT_URI,
    }
    with httpx.Client(verify=running.ssl_context(), timeout=0.5) as client:
        with pytest.raises(httpx.ReadTimeout):
            client.post(_token_url(running), data=redeem)
        retry = client.post(_token_url(running), data=redeem)
    assert retry.json()["error_codes"] == [54005]


def test_stats_latency_and_reset(running: RunningEmulator) -> None:
    control = running.urls.control
    stats = httpx.get(f"{control}/stats").json()
    assert {k: stats[k] for k in ("requests", "total", "max_in_flight")} == {
        "requests": {},
        "total": 0,
        "max_in_flight": {},
    }
    # Issue 19: the change notifications' section.
    assert stats["subscriptions"] == []
    assert stats["deliveries"] == {"pending": 0, "outcomes": {}, "recent": []}
    running.emulator.stats.count("alice@contoso.example", "GET", "/me/events")
    assert httpx.get(f"{control}/stats").json()["requests"] == {
        "alice@contoso.example": {"GET /me/events": 1}
    }
    assert httpx.post(f"{control}/latency", json={"ms": 40}).json() == {"ms": 40}
    assert running.emulator.latency_ms == 40
    assert httpx.post(f"{control}/latency", json={"ms": -1}).status_code == 422

    assert httpx.post(f"{control}/reset").json() == {"reset": True, "tenants": 0}
    assert running.emulator.latency_ms == 0
    assert httpx.get(f"{control}/stats").json()["total"] == 0
    assert httpx.get(f"{control}/users").json() == {"value": []}
    seeded = httpx.post(f"{control}/reset", json={"demo": True}).json()
    assert seeded == {"reset": True, "tenants": 2}


def test_bulk_users_makes_every_mailbox_and_a_working_token_for_each(
    running: RunningEmulator,
) -> None:
    control = running.urls.control
    httpx.post(f"{control}/tenants", json={"id": "t-bulk", "name": "bulk"})
    people = [{"email": f"Bulk{i}@Bulk.example", "display_name": f"Bulk {i}"} for i in range(3)]
    made = httpx.post(
        f"{control}/users/bulk",
        json={
            "tenant_id": "t-bulk",
            "users": people,
            "tokens": True,
            "scopes": ["Calendars.ReadWrite", "User.Read"],
        },
    )
    assert made.status_code == 201, made.text
    answers = made.json()["value"]
    emails = [f"bulk{i}@bulk.example" for i in range(3)]
    assert [a["email"] for a in answers] == emails
    assert {a["tenant_id"] for a in answers} == {"t-bulk"}
    assert len({a["id"] for a in answers}) == 3
    listed = {u["email"]: u["id"] for u in httpx.get(f"{control}/users").json()["value"]}
    assert all(listed[a["email"]] == a["id"] for a in answers)

    with httpx.Client(base_url=running.urls.graph + "/", verify=running.ssl_context()) as graph:
        for answer in answers:
            token = answer["token"]
            assert (token["token_type"], token["expires_in"]) == ("Bearer", 3599)
            auth = {"Authorization": f"Bearer {token['access_token']}"}
            me = graph.get("me", headers=auth)
            assert me.status_code == 200, me.text
            assert (me.json()["id"], me.json()["mail"]) == (answer["id"], answer["email"])
            assert graph.get("me/events", headers=auth).status_code == 200

    plain = httpx.post(
        f"{control}/users/bulk",
        json={"tenant_id": "bulk", "users": [{"email": "p@bulk.example", "display_name": "P"}]},
    )
    assert plain.status_code == 201
    assert plain.json()["value"][0]["tenant_id"] == "t-bulk"  # by name, as `users` takes
    assert "token" not in plain.json()["value"][0]


def test_bulk_users_makes_none_when_one_is_refused(running: RunningEmulator) -> None:
    control = running.urls.control
    fresh = {"email": "fresh@contoso.example", "display_name": "Fresh"}
    before = httpx.get(f"{control}/users").json()["value"]
    taken = httpx.post(
        f"{control}/users/bulk",
        json={
            "tenant_id": DEMO_TENANT_ID,
            "users": [fresh, {"email": "bob@contoso.example", "display_name": "Bob"}],
        },
    )
    assert taken.status_code == 409
    assert "bob@contoso.example" in taken.json()["error"]
    repeated = httpx.post(
        f"{control}/users/bulk", json={"tenant_id": DEMO_TENANT_ID, "users": [fresh, fresh]}
    )
    assert repeated.status_code == 409
    missing = httpx.post(f"{control}/users/bulk", json={"tenant_id": "nope", "users": [fresh]})
    assert missing.status_code == 404
    assert httpx.get(f"{control}/users").json()["value"] == before
    bad = {"email": "no-at-sign", "display_name": "X"}
    invalid = httpx.post(
        f"{control}/users/bulk", json={"tenant_id": DEMO_TENANT_ID, "users": [fresh, bad]}
    )
    assert invalid.status_code == 422


def test_control_url_the_demo_prints_lists_the_control_routes_issue20(
    running: RunningEmulator,
) -> None:
    control = running.urls.control.rstrip("/")
    for url in (control, control + "/"):
        page = httpx.get(url)
        assert page.status_code == 200, url
        assert page.headers["content-type"].startswith("text/html")
        assert "<code>/_emulator/reset</code>" in page.text
        assert "<code>/_emulator/faults</code>" in page.text
