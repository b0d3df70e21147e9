"""Running the whole emulator in-process for tests of any package.

    with run_emulator(seed=True) as running:
        running.urls.authority(DEMO_TENANT_ID)   # https://127.0.0.1:P/<tenant>
        running.urls.graph                       # https://127.0.0.1:P/v1.0
        running.urls.control                     # http://127.0.0.1:Q/_emulator
        running.urls.ca_cert                     # PEM of the CA that signed the TLS cert
        running.emulator                         # the live `Emulator` (clock, faults…)

Both ports listen on 127.0.0.1 on free ports, served by uvicorn in daemon threads.
`configure(emulator)` runs before the apps are built: append Graph or page routers there.
`sign_in_with_form_posts(auth_uri, email, verify)` plays the browser on the sign-in page.
"""

from __future__ import annotations

import ssl
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urljoin, urlsplit

import httpx
from bs4 import BeautifulSoup

from m365emu.app import Emulator, build_emulator, create_browser_app, create_tls_app
from m365emu.demo import seed_demo
from m365emu.server import BackgroundServer, EmulatorUrls, bind, make_server
from m365emu.tls import ensure_tls_files

TEST_CLIENT_ID = "0b5a7c1e-9d2f-4e6a-8b3c-5f1d2e3a4b5c"
TEST_CLIENT_SECRET = "test-client-secret"  # noqa: S105 - a test fixture, not a secret
TEST_REDIRECT_URI = "http://127.0.0.1:8000/auth/callback"


@dataclass(frozen=True)
class RunningEmulator:
    emulator: Emulator
    urls: EmulatorUrls

    def ssl_context(self) -> ssl.SSLContext:
        """A client context trusting only the emulator's CA (for httpx `verify=`)."""
        return ssl.create_default_context(cafile=str(self.urls.ca_cert))


@contextmanager
def run_emulator(
    *,
    data_dir: Path | None = None,
    tls_dir: Path | None = None,
    seed: bool = False,
    configure: Callable[[Emulator], None] | None = None,
    host: str = "127.0.0.1",
) -> Iterator[RunningEmulator]:
    """Serve an emulator (in memory unless `data_dir`) until the block ends.

    `tls_dir` reuses a CA across runs (pass a session-wide directory to save the key
    generation); by default the CA lives in `data_dir/tls` or a temporary directory.
    """
    with ExitStack() as stack:
        if tls_dir is None:
            tls_dir = (
                data_dir / "tls"
                if data_dir
                else Path(stack.enter_context(tempfile.TemporaryDirectory()))
            )
        emulator = build_emulator(data_dir)
        stack.callback(emulator.close)
        files = ensure_tls_files(tls_dir, emulator.persistence if data_dir else None)
        if seed:
            seed_demo(emulator)
        if configure is not None:
            configure(emulator)
        tls_sock, browser_sock = bind(host, 0), bind(host, 0)
        tls = BackgroundServer(
            make_server(
                create_tls_app(emulator), certfile=files.server_cert, keyfile=files.server_key
            ),
            tls_sock,
        )
        browser = BackgroundServer(make_server(create_browser_app(emulator)), browser_sock)
        for server in (tls, browser):
            server.start()
            stack.callback(server.stop)
        urls = EmulatorUrls(
            tls_root=f"https://{host}:{tls_sock.getsockname()[1]}",
            browser_root=f"http://{host}:{browser_sock.getsockname()[1]}",
            ca_cert=files.ca_cert,
        )
        emulator.start_notifications()  # stopped by emulator.close (registered first)
        yield RunningEmulator(emulator, urls)


def hidden_form(html: str) -> tuple[str, dict[str, str]]:
    """The first form of a page: its action and its hidden inputs."""
    form = BeautifulSoup(html, "html.parser").find("form")
    if form is None:
        raise AssertionError("the page has no form")
    fields = {
        str(field["name"]): str(field.get("value", ""))
        for field in form.find_all("input", attrs={"type": "hidden"})
    }
    return str(form.get("action", "")), fields


def sign_in_with_form_posts(
    auth_uri: str,
    email: str,
    verify: ssl.SSLContext,
    consent: str = "accept",
) -> tuple[str, dict[str, str]]:
    """Drive the emulator's sign-in page with plain HTTP, as a browser would: open the
    `/authorize` URL, pick `email`, accept (or cancel) the consent. Returns where the
    browser would go next and with what: for `response_mode=form_post` the redirect URI
    and the posted fields, for `query` the redirect URL and its query fields."""
    with httpx.Client(verify=verify) as client:
        page = client.get(auth_uri)
        if page.status_code != 200:
            raise AssertionError(f"sign-in page answered {page.status_code}: {page.text[:200]}")
        action, fields = hidden_form(page.text)
        fields.update({"login": email, "consent": consent})
        answer = client.post(urljoin(auth_uri, action), data=fields)
        if answer.status_code == 302:
            location = answer.headers["location"]
            return location.split("?", 1)[0], dict(parse_qsl(urlsplit(location).query))
        if "hiddenform" not in answer.text:
            raise AssertionError(f"sign-in refused: {answer.text[:300]}")
        return hidden_form(answer.text)
