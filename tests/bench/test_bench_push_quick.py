"""`s5sync bench --quick --push-only --json` runs and prints the push figures (issue 19;
R14b, R23b). No timing is asserted (the machine is shared): only what holds by
construction — every notification of the flood is accepted, every change crossed in
each latency sample, an idle user costs about one Graph request an hour with push and
six when polled, and the burst finished one cycle per user."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.postgres


def test_quick_push_bench_prints_every_figure_R14b_R23b(pg_database: str) -> None:
    env = {**os.environ, "S5SYNC_BENCH_DATABASE_URL": pg_database}
    done = subprocess.run(
        [sys.executable, "-m", "s5sync", "bench", "--quick", "--push-only", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    push = json.loads(done.stdout)["push"]
    print(json.dumps(push, indent=2))  # the table CI shows (pytest -s or on failure)

    inbound = push["outlook_to_system_five"]
    for sample in (inbound["at_once"], inbound["delivery_delayed_1s"]):
        assert sample["n"] == 4
    assert push["system_five_to_outlook"]["n"] == 4
    idle = push["idle_user_hour"]
    assert idle["measured"]["requests_per_idle_cycle"] == 1.0  # R23b
    assert idle["poll"]["requests_per_idle_user_hour"] == 6.0
    assert idle["push"]["requests_per_idle_user_hour"] <= 1.1  # issue 19's goal
    endpoint = push["endpoint"]
    assert endpoint["answers"] == {"202": endpoint["notifications"]}
    assert endpoint["web_cpu_ms_per_notification"] > 0
    assert push["burst"]["users"] == push["users"]
