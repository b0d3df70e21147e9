"""Running the emulator's two ports with uvicorn: the TLS port (identity + Graph) and the
plain HTTP port (control plane + pages), each on a socket bound before serving so the
URLs (even of port 0) are known up front.

Used by `m365emu serve` (cli.py) and by `m365emu.testing.run_emulator()`.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

from m365emu.app import CONTROL_PREFIX, GRAPH_PREFIX, OUTLOOK_PATH


@dataclass(frozen=True)
class EmulatorUrls:
    """Where a running emulator answers."""

    tls_root: str  # https://127.0.0.1:PORT (the identity authority's host)
    browser_root: str  # http://127.0.0.1:PORT
    ca_cert: Path

    def authority(self, tenant: str = "organizations") -> str:
        return f"{self.tls_root}/{tenant}"

    @property
    def graph(self) -> str:
        return f"{self.tls_root}{GRAPH_PREFIX}"

    @property
    def control(self) -> str:
        return f"{self.browser_root}{CONTROL_PREFIX}"

    @property
    def outlook(self) -> str:
        return f"{self.browser_root}{OUTLOOK_PATH}"

    def banner(self, tenant: str = "organizations") -> list[str]:
        """The lines `m365emu serve` prints, one URL (or path) per line."""
        return [
            f"authority: {self.authority(tenant)}",
            f"graph: {self.graph}",
            f"control: {self.control}",
            f"outlook: {self.outlook}",
            f"ca: {self.ca_cert}",
        ]


def bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.set_inheritable(True)
    except OSError:
        sock.close()
        raise
    return sock


class _Server(uvicorn.Server):
    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # Abort, not close: a TLS close waits for the peer's close_notify, which an idle
        # pooled client connection never sends, leaving the loop to end with live
        # transports. An emulator loses nothing by cutting its connections.
        for connection in list(self.server_state.connections):
            transport = getattr(connection, "transport", None)
            if transport is not None:
                transport.abort()
        await super().shutdown(sockets)


def make_server(
    app: ASGIApp, *, certfile: Path | None = None, keyfile: Path | None = None
) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        log_level="warning",
        lifespan="off",
        ssl_certfile=str(certfile) if certfile else None,
        ssl_keyfile=str(keyfile) if keyfile else None,
        timeout_graceful_shutdown=1,
    )
    return _Server(config)


class BackgroundServer:
    """A uvicorn server on a bound socket, in a daemon thread."""

    def __init__(self, server: uvicorn.Server, sock: socket.socket) -> None:
        self.server = server
        self.sock = sock
        self.thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="m365emu-server"
        )

    def start(self, timeout: float = 10.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the emulator's server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()
