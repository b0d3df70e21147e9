"""The load generator of the notification-endpoint benchmark (issue 19; bench/push.py).

Run as its own process (`python -m s5sync.bench.flood HOST PORT IN_FLIGHT FILE`), so the
web process's CPU is its own: `FILE` holds one notification body (JSON) per line; the
bodies are POSTed to `/graph/notifications` over `IN_FLIGHT` keep-alive HTTP/1.1
connections — a minimal client on asyncio streams, far cheaper than a full HTTP client,
as Graph's own senders are not in our process either. Prints one JSON line: the wall
time, the answer time of every request (seconds) and the count of each status.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from pathlib import Path


async def _connection(
    host: str, port: int, bodies: list[bytes], latencies: list[float], statuses: Counter[int]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while bodies:
            body = bodies.pop()
            head = (
                f"POST /graph/notifications HTTP/1.1\r\nHost: {host}:{port}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            )
            started = time.monotonic()
            writer.write(head.encode() + body)
            await writer.drain()
            answer = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in answer.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            if length:
                await reader.readexactly(length)
            latencies.append(time.monotonic() - started)
            statuses[int(answer.split(b" ", 2)[1])] += 1
    finally:
        writer.close()
        await writer.wait_closed()


async def flood(host: str, port: int, in_flight: int, bodies: list[bytes]) -> dict[str, object]:
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    queue = list(reversed(bodies))
    started = time.monotonic()
    await asyncio.gather(
        *(_connection(host, port, queue, latencies, statuses) for _ in range(in_flight))
    )
    return {
        "wall_s": time.monotonic() - started,
        "latencies": latencies,
        "statuses": {str(k): v for k, v in statuses.items()},
    }


def main() -> None:
    host, port, in_flight, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    bodies = [line.encode() for line in Path(path).read_text().splitlines() if line]
    print(json.dumps(asyncio.run(flood(host, port, in_flight, bodies))))


if __name__ == "__main__":
    main()
