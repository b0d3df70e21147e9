"""The sign-in page driven by a real browser (Debian's chromium via Playwright), with
MSAL on both ends of the flow (issue 4, R19).

`/authorize` is part of the authority, so it is served on the TLS port; the browser
context is told to accept the emulator's certificate (`ignore_https_errors`) rather than
installing the CA into chromium's NSS store. The redirect URI is intercepted by the
test, which plays the web app receiving the `form_post`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from playwright.sync_api import Route, sync_playwright

from m365emu.demo import DEMO_TENANT_ID
from m365emu.testing import TEST_REDIRECT_URI, RunningEmulator
from support.browser import CHROMIUM_ARGS

SCOPES = ["User.Read", "Calendars.ReadWrite", "MailboxSettings.ReadWrite"]


@pytest.mark.browser
def test_alice_signs_in_through_the_page_in_chromium_R19(
    running: RunningEmulator,
    make_msal: Any,
    chromium_path: str,
    artifacts_dir: Path,
    pytestconfig: pytest.Config,
) -> None:
    app = make_msal()
    flow = app.initiate_auth_code_flow(
        SCOPES, redirect_uri=TEST_REDIRECT_URI, response_mode="form_post"
    )
    posted: dict[str, str] = {}

    def capture(route: Route) -> None:
        posted.update(parse_qsl(route.request.post_data or ""))
        route.fulfill(status=200, content_type="text/html", body="<p>signed in</p>")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(ignore_https_errors=True)
            page = context.new_page()
            page.route(TEST_REDIRECT_URI, capture)
            page.goto(flow["auth_uri"])
            page.get_by_role("radio", name=re.compile("Alice Martin")).check()
            page.screenshot(path=str(artifacts_dir / "m365emu-sign-in.png"), full_page=True)
            page.get_by_role("button", name="Accept").click()
            page.get_by_text("signed in").wait_for()
        finally:
            browser.close()

    assert set(posted) >= {"code", "state", "client_info"}
    result = app.acquire_token_by_auth_code_flow(flow, posted)
    assert "access_token" in result, result
    assert result["id_token_claims"]["preferred_username"] == "alice@contoso.example"
    assert result["id_token_claims"]["tid"] == DEMO_TENANT_ID
