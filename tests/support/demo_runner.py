"""`s5sync demo` as a subprocess on free ports with a fresh data dir, for end-to-end tests."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_base_port() -> int:
    """A port P with P..P+4 free (the demo's five ports)."""
    for _ in range(50):
        base = random.randint(20000, 50000)
        socks = []
        try:
            for offset in range(5):
                sock = socket.socket()
                socks.append(sock)  # closed below even when bind fails
                sock.bind(("127.0.0.1", base + offset))
            return base
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
    raise RuntimeError("no five free consecutive ports")


class Demo:
    def __init__(self, data_dir: Path, port: int, env: dict[str, str] | None = None) -> None:
        self.data_dir, self.port = data_dir, port
        self.extra_env = dict(env or {})
        self.process: subprocess.Popen[str] | None = None

    def url(self, offset: int = 0, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port + offset}{path}"

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("S5SYNC_")}
        env.update(self.extra_env)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "s5sync",
                "demo",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                out = self.process.stdout.read() if self.process.stdout else ""
                raise AssertionError(f"the demo stopped: {out}")
            try:
                if httpx.get(self.url(0, "/healthz"), timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise AssertionError("the demo did not answer /healthz within 60 s")

    def stop(self) -> str:
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        try:
            out, _ = self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, _ = self.process.communicate()
        return out
