"""`m365emu serve [--host] [--port] [--tls-port] [--data-dir] [--demo/--no-demo]`.

Serves the browser-facing pages and the control plane on plain HTTP at `--port`, and
the identity platform and Graph over TLS at `--tls-port` (default `--port` + 1), with a
certificate from the emulator's own CA (tls.py). With `--data-dir` every change is
written to `DATA_DIR/state.sqlite3` at once, so a restart — even after `kill -9` — has
every tenant, user, app, refresh token and calendar. On start it prints, one per line:
the authority URL, the Graph base URL (ending `/v1.0`), the control plane URL (ending
`/_emulator`), the Outlook page URL and the CA certificate's path.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from m365emu.app import build_emulator, create_browser_app, create_tls_app
from m365emu.demo import seed_demo
from m365emu.server import BackgroundServer, EmulatorUrls, bind, make_server
from m365emu.tls import ensure_tls_files

cli = typer.Typer(help="Microsoft 365 emulator: identity platform and Graph calendar API.")


@cli.callback()
def _root() -> None:
    """Microsoft 365 emulator."""


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Plain HTTP port (pages, control plane).")] = 8300,
    tls_port: Annotated[
        int | None, typer.Option(help="TLS port (identity, Graph); default port + 1.")
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="Keep state and the CA here (default: in memory).")
    ] = None,
    demo: Annotated[
        bool, typer.Option(help="Seed the demo tenants and users when the state is empty.")
    ] = True,
) -> None:
    """Serve the emulator until interrupted."""
    scratch = None if data_dir else tempfile.TemporaryDirectory()
    tls_dir = data_dir / "tls" if data_dir else Path(scratch.name if scratch else ".")
    emulator = build_emulator(data_dir)
    files = ensure_tls_files(tls_dir, emulator.persistence)
    if demo and not emulator.directory.tenants:
        seed_demo(emulator)
    tls_sock = bind(host, tls_port if tls_port is not None else (port + 1 if port else 0))
    browser_sock = bind(host, port)
    urls = EmulatorUrls(
        tls_root=f"https://{host}:{tls_sock.getsockname()[1]}",
        browser_root=f"http://{host}:{browser_sock.getsockname()[1]}",
        ca_cert=files.ca_cert,
    )
    emulator.browser_root = urls.browser_root  # browsers sign in on the plain-HTTP port
    emulator.start_notifications()
    tls = BackgroundServer(
        make_server(create_tls_app(emulator), certfile=files.server_cert, keyfile=files.server_key),
        tls_sock,
    )
    tls.start()
    for line in urls.banner():
        typer.echo(line)
    try:
        # The browser port runs in the main thread so uvicorn handles SIGINT/SIGTERM.
        make_server(create_browser_app(emulator)).run(sockets=[browser_sock])
    finally:
        tls.stop()
        emulator.close()
        if scratch is not None:
            scratch.cleanup()


def main() -> None:
    # Issue 23 (R22): every file this process writes (databases, state, keys) is its
    # owner's alone: 0600, directories 0700.
    os.umask(0o077)
    cli()
