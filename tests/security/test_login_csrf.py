"""Login CSRF (issue 23 item 1; R19, ASVS 5.0 V3.5): a sign-in answer that this browser's
sign-in did not start is refused before its code is redeemed.

The attacker starts a sign-in as themselves and keeps the `form_post` fields (`code`,
`state`, `client_info`) without posting them; a page of another origin then
auto-submits them into the victim's browser. The victim must stay signed in as
themselves (in Chromium: the header still shows their name), and the attacker's code is
never redeemed for them.
"""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import sync_playwright

from s5sync.entrypoints.web.security import RELAYED_FIELD
from support.browser import CHROMIUM_ARGS
from support.demo_runner import Demo
from support.security_browser import begin, consent, post_callback, session_cookie, sign_in

VICTIM, ATTACKER = "carol@contoso.example", "bob@contoso.example"


def captured_answer(demo: Demo) -> tuple[str, dict[str, str]]:
    """The attacker's own sign-in, stopped before its answer is posted."""
    _, authorize, _ = begin(demo)
    return consent(authorize, ATTACKER)


def test_an_answer_from_a_sign_in_this_browser_did_not_start_is_refused_R19(
    demo: Demo,
) -> None:
    callback, fields = captured_answer(demo)
    victim = sign_in(demo, VICTIM)
    before = session_cookie(victim)
    answer = post_callback(victim, callback, fields)
    assert answer.status_code == 403, answer.text[:300]
    assert "not started in this browser" in answer.text
    assert session_cookie(victim) == before
    page = victim.get(demo.url(0, "/onboarding"))
    assert "Carol Diaz" in page.text
    assert "Bob Nguyen" not in page.text


def test_the_sign_in_cookie_is_httponly_short_lived_and_holds_no_state_R19(
    demo: Demo,
) -> None:
    client, _, state = begin(demo)
    [cookie] = [c for c in client.cookies.jar if c.name == "s5sync_signin"]
    assert cookie.path == "/auth"
    assert cookie.value != state
    assert cookie.value is not None
    assert state not in cookie.value
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert cookie.expires is not None


@pytest.fixture
def other_origin() -> Iterator[tuple[str, dict[str, str]]]:
    """A server on another origin answering one page: a form of `page[...]` fields that
    submits itself to `page['action']` (the attacker's page; no CSP there)."""
    page: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            inputs = "".join(
                f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                for k, v in page.items()
                if k != "action"
            )
            body = (
                f'<html><body><form id="f" method="post" action="{html.escape(page["action"])}">'
                f"{inputs}</form><script>document.getElementById('f').submit()</script>"
                "</body></html>"
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            return

    server = ThreadingHTTPServer(("localhost", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}/", page
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.browser
def test_another_origin_posting_captured_fields_leaves_the_victim_signed_in_as_themselves_R19(
    demo: Demo, chromium_path: str, other_origin: tuple[str, dict[str, str]]
) -> None:
    evil_url, evil_page = other_origin
    callback, fields = captured_answer(demo)
    evil_page.update(fields, action=callback)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        page = browser.new_page()
        posted: list[str] = []
        page.on(
            "request",
            lambda r: (
                posted.append(r.post_data or "")
                if r.method == "POST" and r.url.endswith("/auth/callback")
                else None
            ),
        )
        try:
            # The victim signs in through the real pages (the binding must not stop them).
            page.goto(demo.url())
            page.get_by_role("link", name="Sign in with Microsoft").click()
            page.get_by_label(re.compile(re.escape(VICTIM))).check()
            page.get_by_role("button", name="Accept").click()
            page.wait_for_url(re.compile(r"/(onboarding|dashboard)$"))
            assert "Carol Diaz" in page.locator("header").inner_text()
            # The emulator's page is on 127.0.0.1 too (same site): its answer came with
            # the binding cookie, at once (the cross-site case: the next test).
            assert len(posted) == 1, posted
            # The attacker's page auto-submits the captured answer into the victim's browser.
            page.goto(evil_url)
            page.wait_for_load_state("networkidle")
            assert "not started in this browser" in page.content()
            page.goto(demo.url(0, "/onboarding"))
            header = page.locator("header").inner_text()
            assert "Carol Diaz" in header, header
            assert "Bob Nguyen" not in header, header
        finally:
            browser.close()


@pytest.mark.browser
def test_a_sign_in_answer_posted_from_another_site_still_signs_in_through_the_relay_R19(
    demo: Demo, chromium_path: str, other_origin: tuple[str, dict[str, str]]
) -> None:
    """The binding must not stop a real sign-in whose answer arrives cross-site (Microsoft's
    page is another site; on plain HTTP the binding cookie is SameSite=Lax, so a
    cross-site POST comes without it): the answer is posted again from s5sync's origin,
    with the cookie, and the user is signed in."""
    site_url, site_page = other_origin  # http://localhost:…: another site than 127.0.0.1
    posted: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.on(
            "request",
            lambda r: (
                posted.append(r.post_data or "")
                if r.method == "POST" and r.url.endswith("/auth/callback")
                else None
            ),
        )
        try:
            page.goto(demo.url(0, "/auth/login"))  # this browser starts the sign-in
            page.wait_for_url(re.compile(r"/authorize\?"))
            # The identity provider's answer to *this* sign-in, posted from another site.
            callback, fields = consent(page.url, VICTIM)
            site_page.update(fields, action=callback)
            page.goto(site_url)
            page.wait_for_url(re.compile(r"/(onboarding|dashboard)$"))
            header = page.locator("header").inner_text()
            assert "Carol Diaz" in header, header
        finally:
            browser.close()
    assert len(posted) == 2, posted  # the cross-site post, then the relay's
    assert RELAYED_FIELD not in posted[0]
    assert f"{RELAYED_FIELD}=1" in posted[1]
