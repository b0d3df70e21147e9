"""`s5sync worker` processes for the scale-out tests (R14, R16; issue 18): each runs
`tests/integration/scale/scale_worker.py` (the production worker on a clock `SPEED` times
faster), configured through its environment; `rows` reads what they wrote."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg

from s5sync.bench.world import EmulatorProcess

WORKER = Path(__file__).resolve().parents[1] / "integration" / "scale" / "scale_worker.py"
SPEED = 3.0


def worker_env(
    ce: str, s5: str, key: str, emulator: EmulatorProcess, anchor: float
) -> dict[str, str]:
    return {
        **os.environ,
        "S5SYNC_DATABASE_URL": ce.replace("postgresql://", "postgresql+asyncpg://", 1),
        "S5SYNC_SECRET_KEYS": key,
        "S5SYNC_SCHEDULER": "procrastinate",
        "S5SYNC_PROCRASTINATE_DSN": ce,
        "SCALE_ANCHOR": repr(anchor),
        "SCALE_SPEED": repr(SPEED),
        "SCALE_GRAPH": emulator.urls["graph"],
        "SCALE_CA": emulator.urls["ca"],
        "SCALE_CONTROL": emulator.urls["control"],
        "SCALE_S5": s5,
    }


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, str(WORKER)], env=env, stdout=out, stderr=out)


def rows(url: str, query: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return list(conn.execute(query, args).fetchall())


def upgrade_database(env: dict[str, str]) -> None:
    """`s5sync db upgrade` as the operator runs it, against the workers' database."""
    done = subprocess.run(
        [sys.executable, "-m", "s5sync", "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    """Ask each worker still running to stop (SIGTERM), kill it after 30 s."""
    for worker in workers:
        if worker.poll() is None:
            worker.terminate()
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
