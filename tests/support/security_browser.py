"""A browser made of form posts, for attacking the demo over HTTP (R19, R22).

`begin(demo)` opens `/auth/login` and returns the browser, the emulator's `/authorize`
URL and the `state` s5sync stored; `consent(url, email)` signs in on the emulator's page
and returns the callback URL and the fields the page would post (`code`, `state`…)
without posting them, so tests can forge, replay or swap them.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import httpx

from m365emu.testing import hidden_form
from support.demo_runner import Demo

OPEN: list[httpx.Client] = []


def browser() -> httpx.Client:
    """A cookie-keeping client, closed after each test (conftest)."""
    client = httpx.Client(follow_redirects=False, timeout=30)
    OPEN.append(client)
    return client


def session_cookie(client: httpx.Client) -> str | None:
    """The s5sync session cookie the client holds (the newest when several)."""
    values = [c.value for c in client.cookies.jar if c.name == "s5sync_session"]
    return values[-1] if values else None


def plant_session(client: httpx.Client, value: str) -> None:
    client.cookies.clear()
    client.cookies.set("s5sync_session", value, domain="127.0.0.1", path="/")


def begin(demo: Demo, client: httpx.Client | None = None) -> tuple[httpx.Client, str, str]:
    client = client or browser()
    login = client.get(demo.url(0, "/auth/login"))
    assert login.status_code == 303, login.text
    authorize = login.headers["location"]
    state = parse_qs(urlsplit(authorize).query)["state"][0]
    return client, authorize, state


def consent(authorize: str, email: str) -> tuple[str, dict[str, str]]:
    """Sign in on the emulator's page; the form it would post to s5sync, not posted."""
    with httpx.Client(follow_redirects=False, timeout=30) as page_client:
        page = page_client.get(authorize)
        if page.status_code != 200:
            raise AssertionError(f"sign-in page answered {page.status_code}: {page.text[:300]}")
        action, fields = hidden_form(page.text)
        fields.update({"login": email, "consent": "accept"})
        posted = page_client.post(httpx.URL(authorize).join(action), data=fields)
        return hidden_form(posted.text)


def post_callback(client: httpx.Client, callback: str, fields: dict[str, str]) -> httpx.Response:
    """Post a sign-in answer as a browser would: a callback reached without the sign-in
    cookie answers a page that posts the fields again from s5sync's origin (login CSRF,
    web/security.py); that second post is followed, as the page's script would."""
    answer = client.post(callback, data=fields)
    if answer.status_code == 200 and "data-autosubmit" in answer.text:
        action, relayed = hidden_form(answer.text)
        answer = client.post(httpx.URL(callback).join(action), data=relayed)
    return answer


def sign_in(demo: Demo, email: str) -> httpx.Client:
    client, authorize, _ = begin(demo)
    callback, fields = consent(authorize, email)
    done = client.post(callback, data=fields)
    assert done.status_code == 303, done.text[:500]
    return client


def csrf(client: httpx.Client, demo: Demo, path: str = "/dashboard") -> str:
    page = client.get(demo.url(0, path))
    found = re.search(r'name="csrf-token" content="([^"]+)"', page.text) or re.search(
        r'name="csrf_token" value="([^"]+)"', page.text
    )
    assert found is not None, page.text[:500]
    return found.group(1)


def onboard(demo: Demo, client: httpx.Client) -> None:
    page = client.get(demo.url(0, "/onboarding"))
    token = csrf(client, demo, "/onboarding")
    employee = re.search(r'name="employee_id" value="(\d+)"', page.text)
    assert employee is not None, page.text[:500]
    answer = client.post(
        demo.url(0, "/onboarding"), data={"csrf_token": token, "employee_id": employee.group(1)}
    )
    assert answer.status_code == 303, answer.text[:300]
