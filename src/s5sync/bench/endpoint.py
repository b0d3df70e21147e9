"""The notification endpoint of the push benchmark (issue 19; bench/push.py): the product's
`/graph/notifications` routes (`GraphEndpoints`, inside the security headers as the web
app has them) served by uvicorn on loopback http in the bench's loop, and the flood of
notifications sent to it by `bench/flood.py` in a process of its own (so this process's
CPU over the flood is the web side's: the HTTP stack, the intake, the wake-ups' writes).

The intake's rate bound (5,000 a second, a product constant) is raised here: the flood
measures what one process can take, and a 429 would hide it.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from s5sync.entrypoints.web.graph_routes import install_graph_routes
from s5sync.entrypoints.web.security import SecurityHeadersMiddleware
from s5sync.outlook.notifications import Bucket
from s5sync.scheduling.push import PushService

FLOOD_IN_FLIGHT = 64
UNBOUNDED = 1e9  # notifications a second: the bench's rate bound (see above)


def spread(samples: list[float]) -> dict[str, float]:
    """p50 / p95 / p99 / max in milliseconds."""
    ordered = sorted(samples)

    def at(q: float) -> float:
        return 1000 * ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    return {
        "n": len(ordered),
        "p50_ms": round(at(0.50), 1),
        "p95_ms": round(at(0.95), 1),
        "p99_ms": round(at(0.99), 1),
        "max_ms": round(1000 * ordered[-1], 1),
    }


class Endpoint:
    """`/graph/notifications` and `/graph/lifecycle` on loopback http, in this loop."""

    def __init__(self, push: PushService) -> None:
        app = FastAPI()
        install_graph_routes(app, push.intake)
        push.intake.bucket = Bucket(UNBOUNDED, UNBOUNDED)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(
            SecurityHeadersMiddleware(app), log_level="warning", lifespan="off", access_log=False
        )
        self.server = uvicorn.Server(config)
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Endpoint:
        self.task = asyncio.create_task(self.server.serve(sockets=[self.sock]))
        while not self.server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
            await asyncio.sleep(0.01)
        return self

    async def __aexit__(self, *_: object) -> None:
        self.server.should_exit = True
        if self.task is not None:
            await self.task
        self.sock.close()


def note(item: dict[str, Any]) -> bytes:
    return json.dumps({"value": [item]}).encode()


async def flood_endpoint(
    endpoint: Endpoint, bodies: list[bytes], flush: Callable[[], Awaitable[object]]
) -> dict[str, Any]:
    """POST `bodies` from `bench/flood.py` (`FLOOD_IN_FLIGHT` connections); the answer
    times, the rate, and this process's CPU per notification."""
    total = len(bodies)
    with tempfile.NamedTemporaryFile("wb", suffix=".jsonl", delete=False) as out:
        out.write(b"\n".join(bodies))
    host, port = endpoint.sock.getsockname()
    cpu0 = time.process_time()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "s5sync.bench.flood",
        host,
        str(port),
        str(FLOOD_IN_FLIGHT),
        out.name,
        stdout=asyncio.subprocess.PIPE,
    )
    stdout, _ = await process.communicate()
    await flush()
    cpu = time.process_time() - cpu0
    await asyncio.to_thread(Path(out.name).unlink)
    if process.returncode != 0:
        raise RuntimeError("the load generator failed")
    answer = json.loads(stdout)
    return {
        "notifications": total,
        "per_second": round(total / answer["wall_s"]),
        "answers": answer["statuses"],
        "web_cpu_ms_per_notification": round(1000 * cpu / total, 3),
        "per_second_one_core_cpu_bound": round(total / max(cpu, 1e-9)),
        **spread(answer["latencies"]),
    }
