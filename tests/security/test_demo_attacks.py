"""Attacks on the running demo over plain HTTP (issue 14; R19, R22; OWASP ASVS v4 V3, V5,
V13, V51): open redirects, forged/expired/replayed `state`, a code from another sign-in or
for another client, session fixation, XSS in every field a user or System Five supplies,
SQL injection in every form field and query parameter, oversized and malformed posts.

Each attack is answered with a refusal page or a redirect to our own pages, never a 5xx,
and the demo keeps serving afterwards.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import ssl
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest

from m365emu.demo import DEMO_TENANT_ID
from s5emu.desk import Desk, TaskForm
from s5emu.schema import engine_for
from support.demo_runner import Demo
from support.security_browser import (
    begin,
    browser,
    consent,
    csrf,
    onboard,
    plant_session,
    post_callback,
    session_cookie,
    sign_in,
)

EVIL = "https://evil.example/phish"
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>\'"'
SQL = "1' OR '1'='1'; DROP TABLE app_user;--"


def env(demo: Demo) -> dict[str, str]:
    lines = (demo.data_dir / "s5sync.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def redirect_uri(demo: Demo) -> str:
    return env(demo)["S5SYNC_REDIRECT_URI"]


def healthy(demo: Demo) -> None:
    assert httpx.get(demo.url(0, "/healthz"), timeout=30).status_code == 200


def signed_out(client: httpx.Client, demo: Demo) -> bool:
    answer = client.get(demo.url(0, "/dashboard"))
    return answer.status_code == 303 and answer.headers["location"] == "/"


def session_payload(cookie: str) -> dict[str, object]:
    """Starlette's signed session cookie: base64(JSON).timestamp.signature."""
    data = cookie.split(".")[0]
    return dict(json.loads(base64.b64decode(data + "=" * (-len(data) % 4))))


# -- open redirects (ASVS 5.1.5) -------------------------------------------------------


def test_sign_in_ignores_every_redirect_parameter_and_the_host_header_R19_R22(
    demo: Demo,
) -> None:
    client = browser()
    query = urlencode(
        {"next": EVIL, "redirect_uri": EVIL, "return_to": "//evil.example", "url": EVIL}
    )
    answer = client.get(demo.url(0, f"/auth/login?{query}"), headers={"Host": "evil.example"})
    assert answer.status_code == 303
    authorize = urlsplit(answer.headers["location"])
    # The emulator's sign-in page (P+1) or its identity platform (P+2), nowhere else.
    assert authorize.netloc in {f"127.0.0.1:{demo.port + 1}", f"127.0.0.1:{demo.port + 2}"}
    assert parse_qs(authorize.query)["redirect_uri"] == [redirect_uri(demo)]
    assert "evil" not in answer.headers["location"]


def test_callback_redirects_only_to_our_own_pages_R19_R22(demo: Demo) -> None:
    client, authorize, _ = begin(demo)
    callback, fields = consent(authorize, "dave@contoso.example")
    fields.update({"next": EVIL, "redirect_uri": EVIL, "return_to": "//evil.example"})
    answer = client.post(callback + "?" + urlencode({"next": EVIL}), data=fields)
    assert answer.status_code == 303
    assert answer.headers["location"] in ("/dashboard", "/onboarding")


def test_sign_out_redirects_only_home_R22(demo: Demo) -> None:
    client = sign_in(demo, "dave@contoso.example")
    token = csrf(client, demo, "/onboarding")
    answer = client.post(
        demo.url(0, "/auth/logout?" + urlencode({"next": EVIL})),
        data={"csrf_token": token, "next": EVIL, "return_to": "//evil.example"},
    )
    assert answer.status_code == 303
    home = urlsplit(answer.headers["location"])  # home, saying so: "/?signed_out=1"
    assert (home.scheme, home.netloc, home.path) == ("", "", "/")
    assert "evil" not in answer.headers["location"]
    assert signed_out(client, demo)


@pytest.mark.parametrize("path", ["//evil.example/", "/\\evil.example", "/%2F%2Fevil.example"])
def test_scheme_relative_paths_never_redirect_off_site_R22(demo: Demo, path: str) -> None:
    answer = browser().get(demo.url(0, path))
    location = answer.headers.get("location", "")
    assert "evil.example" not in location
    assert answer.status_code < 500


# -- state, nonce, PKCE, client (ASVS 3.5, 51.x OAuth) ---------------------------------


def test_forged_state_is_refused_and_signs_nobody_in_R19(demo: Demo) -> None:
    client, authorize, _ = begin(demo)
    callback, fields = consent(authorize, "dave@contoso.example")
    fields["state"] = "forged-" + fields["state"][::-1]
    answer = client.post(callback, data=fields)
    assert answer.status_code == 403
    assert signed_out(client, demo)


def test_replayed_state_and_code_are_refused_R19(demo: Demo) -> None:
    client, authorize, _ = begin(demo)
    callback, fields = consent(authorize, "dave@contoso.example")
    assert client.post(callback, data=fields).status_code == 303
    attacker = browser()
    answer = post_callback(attacker, callback, fields)
    assert answer.status_code == 403
    assert signed_out(attacker, demo)


def test_expired_state_is_refused_R19(demo: Demo) -> None:
    client, authorize, state = begin(demo)
    database = sqlite3.connect(demo.data_dir / "calendarevent.db", timeout=30)
    try:
        past = (datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1)).isoformat(sep=" ")
        changed = database.execute(
            "UPDATE auth_flow SET expires_at = ? WHERE state = ?", (past, state)
        ).rowcount
        database.commit()
    finally:
        database.close()
    assert changed == 1
    callback, fields = consent(authorize, "dave@contoso.example")
    answer = client.post(callback, data=fields)
    assert answer.status_code == 403
    assert signed_out(client, demo)


def test_mismatched_nonce_is_refused_R19(demo: Demo) -> None:
    """The stored flow's nonce no longer matches the one the id token carries (as when a
    token minted for another sign-in is injected): MSAL refuses it."""
    from cryptography.fernet import Fernet, MultiFernet

    client, authorize, state = begin(demo)
    box = MultiFernet([Fernet(k) for k in env(demo)["S5SYNC_SECRET_KEYS"].split(",")])
    database = sqlite3.connect(demo.data_dir / "calendarevent.db", timeout=30)
    try:
        [(sealed,)] = database.execute("SELECT flow_enc FROM auth_flow WHERE state = ?", (state,))
        flow = json.loads(box.decrypt(sealed))
        assert flow["nonce"]
        flow["nonce"] = "attacker-chosen-nonce"
        database.execute(
            "UPDATE auth_flow SET flow_enc = ? WHERE state = ?",
            (box.encrypt(json.dumps(flow).encode()), state),
        )
        database.commit()
    finally:
        database.close()
    callback, fields = consent(authorize, "dave@contoso.example")
    answer = client.post(callback, data=fields)
    assert answer.status_code == 403, answer.text[:300]
    assert signed_out(client, demo)


def test_code_from_another_sign_in_is_refused_nonce_and_pkce_differ_R19(demo: Demo) -> None:
    _victim, victim_authorize, _ = begin(demo)
    attacker, _, attacker_state = begin(demo)
    callback, fields = consent(victim_authorize, "dave@contoso.example")
    # The victim's code (bound to the victim's nonce and PKCE challenge) under the
    # attacker's own state.
    fields["state"] = attacker_state
    answer = post_callback(attacker, callback, fields)
    assert answer.status_code == 403
    assert signed_out(attacker, demo)


def test_code_issued_to_another_client_is_refused_R19(demo: Demo) -> None:
    other = "7d0e4b6c-1111-4a2b-9c3d-aaaaaaaaaaaa"
    httpx.post(
        demo.url(1, "/_emulator/apps"),
        json={
            "tenant_id": DEMO_TENANT_ID,
            "client_id": other,
            "client_secret": "other-app-secret",
            "redirect_uris": [redirect_uri(demo)],
        },
        timeout=30,
    ).raise_for_status()
    client, authorize, _ = begin(demo)
    parts = urlsplit(authorize)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query["client_id"] = other
    callback, fields = consent(
        urlunsplit(parts._replace(query=urlencode(query))), "dave@contoso.example"
    )
    answer = client.post(callback, data=fields)
    assert answer.status_code == 403
    assert signed_out(client, demo)


# -- sessions (ASVS 3.2, 3.3, 3.4) -----------------------------------------------------


def test_a_planted_session_cookie_is_worth_nothing_after_sign_in_R22(demo: Demo) -> None:
    attacker = browser()
    attacker.get(demo.url(0, "/"))
    planted = session_cookie(attacker)
    victim = browser()
    if planted is not None:
        plant_session(victim, planted)
    client, authorize, _ = begin(demo, victim)
    callback, fields = consent(authorize, "dave@contoso.example")
    answer = client.post(callback, data=fields)
    assert answer.status_code == 303
    fresh = session_cookie(client)
    assert fresh is not None
    assert fresh != planted
    before = session_payload(planted) if planted else {}
    after = session_payload(fresh)
    assert after.get("sid")
    assert after.get("sid") != before.get("sid")
    assert signed_out(attacker, demo)


def test_a_session_cookie_copied_before_sign_out_is_dead_after_it_R22(demo: Demo) -> None:
    client = sign_in(demo, "dave@contoso.example")
    copied = session_cookie(client)
    token = csrf(client, demo, "/onboarding")
    assert client.post(demo.url(0, "/auth/logout"), data={"csrf_token": token}).status_code == 303
    thief = browser()
    plant_session(thief, str(copied))
    assert signed_out(thief, demo)


def test_session_cookie_is_httponly_samesite_and_holds_no_token_R22(demo: Demo) -> None:
    client, authorize, _ = begin(demo)
    callback, fields = consent(authorize, "dave@contoso.example")
    answer = client.post(callback, data=fields)
    header = answer.headers["set-cookie"].lower()
    assert "httponly" in header
    assert "samesite=lax" in header
    payload = session_payload(str(session_cookie(client)))
    assert set(payload) <= {"uid", "sid", "tid", "gen"}, payload


# -- XSS (ASVS 5.3.3) ------------------------------------------------------------------


def hostile_world(demo: Demo) -> tuple[httpx.Client, int]:
    """Mallory: an emulator user and a System Five employee whose names are payloads, with a
    task and a tagged event whose title and subject are payloads, onboarded and synced."""
    email = "mallory@contoso.example"
    httpx.post(
        demo.url(1, "/_emulator/users"),
        json={"tenant_id": DEMO_TENANT_ID, "email": email, "display_name": XSS},
        timeout=30,
    ).raise_for_status()
    desk = Desk(engine_for(f"sqlite:///{demo.data_dir / 'systemfive.db'}"))
    try:
        employee = desk.add_employee("MAL<b>", XSS, email)
        start = datetime.now(UTC).replace(tzinfo=None).replace(
            microsecond=0, second=0, minute=0
        ) + timedelta(days=2)
        desk.create_task(
            TaskForm(
                "delivery", employee, None, XSS, XSS, start, start + timedelta(hours=1), None, True
            )
        )
    finally:
        desk.engine.dispose()
    token = httpx.post(
        demo.url(1, "/_emulator/token"),
        json={"email": email, "scopes": ["Calendars.ReadWrite"]},
        timeout=30,
    ).json()["access_token"]
    ca = env(demo)["S5SYNC_CA_BUNDLE"]
    when = (datetime.now(UTC).replace(tzinfo=None) + timedelta(days=3)).strftime(
        "%Y-%m-%dT10:00:00"
    )
    until = (datetime.now(UTC).replace(tzinfo=None) + timedelta(days=3)).strftime(
        "%Y-%m-%dT11:00:00"
    )
    httpx.post(
        env(demo)["S5SYNC_GRAPH_BASE_URL"].rstrip("/") + "/me/events",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "subject": XSS + " [sync]",
            "start": {"dateTime": when, "timeZone": "UTC"},
            "end": {"dateTime": until, "timeZone": "UTC"},
            "body": {"contentType": "html", "content": XSS},
        },
        verify=ssl.create_default_context(cafile=ca),
        timeout=30,
    ).raise_for_status()
    client = sign_in(demo, email)
    return client, employee


def assert_inert(html: str) -> None:
    assert "<script>alert(" not in html
    assert "<img src=x onerror" not in html
    assert "onerror=alert(1)>" not in html


def test_xss_payloads_are_escaped_on_onboarding_dashboard_and_activity_R22(demo: Demo) -> None:
    client, _ = hostile_world(demo)
    page = client.get(demo.url(0, "/onboarding"))
    assert "&lt;script&gt;" in page.text, page.text[:800]
    assert_inert(page.text)
    onboard(demo, client)
    token = csrf(client, demo)
    client.post(demo.url(0, "/dashboard/sync-now"), headers={"X-CSRF-Token": token})
    html = ""
    for _ in range(60):
        html = client.get(demo.url(0, "/dashboard")).text
        if html.count("&lt;script&gt;") >= 3:
            break
        time.sleep(0.5)
    assert html.count("&lt;script&gt;") >= 3, html[-3000:]  # name, pushed task, imported event
    assert_inert(html)
    partial = client.get(
        demo.url(0, "/dashboard"), headers={"HX-Request": "true", "HX-Target": "activity"}
    )
    assert_inert(partial.text)
    status = client.get(demo.url(0, "/dashboard/status"))
    assert_inert(status.text)


def test_xss_in_a_refused_sign_in_is_escaped_R22(demo: Demo) -> None:
    client, _authorize, state = begin(demo)
    callback = redirect_uri(demo)
    answer = client.post(
        callback, data={"state": state, "error": XSS, "error_description": XSS, "code": XSS}
    )
    assert answer.status_code == 403
    assert_inert(answer.text)


# -- SQL injection (ASVS 5.3.4) --------------------------------------------------------


def test_sql_injection_in_every_form_field_and_query_parameter_is_inert_R22(
    demo: Demo,
) -> None:
    client = sign_in(demo, "carol@contoso.example")
    token = csrf(client, demo, "/onboarding")
    answers = [
        client.get(demo.url(0, "/dashboard?" + urlencode({"page": SQL}))),
        client.get(demo.url(0, "/?" + urlencode({"q": SQL}))),
        client.post(demo.url(0, "/onboarding"), data={"csrf_token": token, "employee_id": SQL}),
        client.post(demo.url(0, "/onboarding"), data={"csrf_token": SQL, "employee_id": "1"}),
        client.post(demo.url(0, "/dashboard/sync-now"), headers={"X-CSRF-Token": SQL}),
        client.post(demo.url(0, "/dashboard/heartbeat"), data={"csrf_token": SQL}),
        client.post(demo.url(0, "/auth/logout"), data={"csrf_token": SQL}),
        post_callback(browser(), redirect_uri(demo), {"state": SQL, "code": SQL}),
        browser().get(demo.url(0, "/auth/login?" + urlencode({"state": SQL}))),
    ]
    assert [a.status_code < 500 for a in answers] == [True] * len(answers)
    assert answers[2].status_code == 422  # employee_id must be a number
    assert {a.status_code for a in answers[3:7]} == {403}  # CSRF refused
    assert answers[7].status_code == 403  # no such state
    # The tables are all still there and the demo still signs people in.
    database = sqlite3.connect(demo.data_dir / "calendarevent.db", timeout=30)
    try:
        tables = {row[0] for row in database.execute("SELECT name FROM sqlite_master")}
    finally:
        database.close()
    assert {"app_user", "tenant", "auth_flow", "activity"} <= tables
    assert not signed_out(sign_in(demo, "carol@contoso.example"), demo)
    healthy(demo)


# -- oversized and malformed posts (ASVS 13.1, 5.1.4) ----------------------------------


def test_an_eight_megabyte_form_post_is_refused_without_harm_R22(demo: Demo) -> None:
    answer = browser().post(
        redirect_uri(demo),
        content=b"state=" + b"A" * 8_000_000,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert 400 <= answer.status_code < 500
    healthy(demo)


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        (
            "too_many_fields",
            "&".join(f"f{i}=x" for i in range(5000)).encode(),
            "application/x-www-form-urlencoded",
        ),
        (
            "broken_multipart",
            b"--XX\r\nContent-Disposition: form-data; na",
            "multipart/form-data; boundary=XX",
        ),
        ("multipart_without_boundary", b"state=x", "multipart/form-data"),
        ("not_utf8", b"state=\xff\xfe\xfd&code=\xc3\x28", "application/x-www-form-urlencoded"),
        ("json_instead_of_a_form", b'{"state": "x"}', "application/json"),
        ("nul_bytes", b"state=a%00b&code=%00", "application/x-www-form-urlencoded"),
    ],
)
def test_malformed_callback_posts_are_refused_without_harm_R22(
    demo: Demo, name: str, content: bytes, content_type: str
) -> None:
    answer = browser().post(
        redirect_uri(demo), content=content, headers={"Content-Type": content_type}
    )
    assert 400 <= answer.status_code < 500, (name, answer.status_code, answer.text[:300])
    healthy(demo)


def test_malformed_onboarding_post_is_refused_without_harm_R22(demo: Demo) -> None:
    client = sign_in(demo, "carol@contoso.example")
    token = csrf(client, demo, "/onboarding")
    answer = client.post(
        demo.url(0, "/onboarding"),
        content=b"csrf_token=" + token.encode() + b"&employee_id=" + b"9" * 5000,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert 400 <= answer.status_code < 500
    healthy(demo)


def test_unused_path_is_a_plain_404_R22(demo: Demo) -> None:
    for path in (
        "/static/../../etc/passwd",
        "/static/%2e%2e/%2e%2e/s5sync.env",
        "/admin/../s5sync.env",
    ):
        answer = browser().get(demo.url(0, path))
        assert answer.status_code == 404, (path, answer.status_code)
        assert "S5SYNC_" not in answer.text


# -- the administrator's pages ---------------------------------------------------------


def administrator(demo: Demo, email: str) -> httpx.Client:
    """A user with a payload for a name, made administrator from the command line."""
    httpx.post(
        demo.url(1, "/_emulator/users"),
        json={"tenant_id": DEMO_TENANT_ID, "email": email, "display_name": XSS},
        timeout=30,
    ).raise_for_status()
    client = sign_in(demo, email)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "s5sync",
            "--env-file",
            str(demo.data_dir / "s5sync.env"),
            "user",
            "admin",
            "grant",
            email,
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return client


def test_xss_and_sql_in_the_admin_forms_are_inert_R21_R22(demo: Demo) -> None:
    admin = administrator(demo, "oscar@contoso.example")
    token = csrf(admin, demo, "/admin/options")
    fields = {
        "csrf_token": token,
        "category_name": XSS,
        "category_color": "preset4",
        "removed_category": "on",
        "removed_category_name": "Removed in System5",
        "removed_category_color": "preset0",
        "sync_tag": "[sync]",
        "import_window_days": "14",
        "interval_minutes": "10",
        "retention_days": "30",
        "time_zone": "America/New_York",
    }
    saved = admin.post(demo.url(0, "/admin/options"), data=fields)
    assert saved.status_code in (200, 303), saved.text[:300]
    for path in ("/admin", "/admin/options", "/admin/users", "/dashboard", "/onboarding"):
        page = admin.get(demo.url(0, path))
        assert page.status_code in (200, 303), (path, page.status_code)
        assert_inert(page.text)
    assert "&lt;script&gt;" in admin.get(demo.url(0, "/admin/options")).text
    assert "&lt;script&gt;" in admin.get(demo.url(0, "/admin/users")).text  # the name
    answers = [
        admin.post(
            demo.url(0, "/admin/options"), data={k: SQL for k in fields} | {"csrf_token": token}
        ),
        admin.post(demo.url(0, "/admin/options"), data=fields | {"time_zone": SQL}),
        admin.post(demo.url(0, "/admin/options"), data=fields | {"interval_minutes": SQL}),
        admin.post(
            demo.url(0, "/admin/users/1/map"), data={"csrf_token": token, "employee_id": SQL}
        ),
        admin.post(
            demo.url(0, f"/admin/users/{SQL}/map"), data={"csrf_token": token, "employee_id": "1"}
        ),
        admin.post(demo.url(0, f"/admin/users/{SQL}/unmap"), data={"csrf_token": token}),
        admin.post(demo.url(0, f"/admin/users/{SQL}/remove"), data={"csrf_token": token}),
        admin.get(demo.url(0, "/admin/options?" + urlencode({"saved": SQL}))),
    ]
    assert [a.status_code < 500 for a in answers] == [True] * len(answers), [
        a.status_code for a in answers
    ]
    for answer in answers:
        assert_inert(answer.text)
    restored = admin.post(
        demo.url(0, "/admin/options"), data=fields | {"category_name": "Received From System5"}
    )
    assert restored.status_code in (200, 303)
    healthy(demo)


def test_a_staff_member_cannot_reach_the_admin_pages_R21c_R22(demo: Demo) -> None:
    staff = sign_in(demo, "bob@contoso.example")
    for path in ("/admin", "/admin/options", "/admin/users"):
        answer = staff.get(demo.url(0, path))
        assert answer.status_code in (303, 403), (path, answer.status_code)
    token = csrf(staff, demo, "/onboarding")
    posted = staff.post(
        demo.url(0, "/admin/options"), data={"csrf_token": token, "category_name": "x"}
    )
    assert posted.status_code in (303, 403, 422)
