"""The push figures of `s5sync bench` as rich tables (issue 19; docs/performance.md)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def _latency_row(table: Table, label: str, row: dict[str, Any]) -> None:
    table.add_row(
        label,
        str(row["n"]),
        f"{row['p50_ms']:.0f} ms",
        f"{row['p95_ms']:.0f} ms",
        f"{row['max_ms']:.0f} ms",
    )


def render_push(push: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console(width=120)
    settings = push["settings"]
    latency = Table(title=f"Change -> other side, with push ({push['users']:,} users)")
    for column in ("direction", "tries", "p50", "p95", "max"):
        latency.add_column(column, justify="right")
    inbound = push["outlook_to_system_five"]
    _latency_row(latency, "Outlook -> System Five, delivered at once", inbound["at_once"])
    _latency_row(
        latency, "Outlook -> System Five, 1 s delivery delay", inbound["delivery_delayed_1s"]
    )
    workers = inbound.get("two_procrastinate_workers", {})
    if "n" in workers:
        _latency_row(latency, "Outlook -> System Five, two procrastinate workers", workers)
    _latency_row(
        latency,
        f"System Five -> Outlook (s5_poll_seconds {settings['s5_poll_seconds']})",
        push["system_five_to_outlook"],
    )
    latency.add_row("polling, either way", "", "", "", f"{settings['interval_minutes']} min")
    console.print(latency)

    idle = push["idle_user_hour"]
    hour = Table(title="Per idle user-hour (measured unit costs, composed per hour)")
    for column in ("mode", "Graph requests", "worker CPU"):
        hour.add_column(column, justify="right")
    for mode in ("poll", "push"):
        row = idle[mode]
        hour.add_row(
            mode,
            f"{row['requests_per_idle_user_hour']:.2f}",
            f"{row['cpu_ms_per_idle_user_hour']:.1f} ms",
        )
    hour.add_row("poll / push", "", f"{idle['cpu_poll_over_push']:.1f}x")
    console.print(hour)

    endpoint, burst = push["endpoint"], push["burst"]
    load = Table(title="The notification endpoint and a burst")
    load.add_column("what")
    load.add_column("figure", justify="right")
    load.add_row("notifications accepted per second (measured)", f"{endpoint['per_second']:,}")
    load.add_row("answer time p50 / p99", f"{endpoint['p50_ms']:.0f} / {endpoint['p99_ms']:.0f} ms")
    load.add_row("web CPU per notification", f"{endpoint['web_cpu_ms_per_notification']:.2f} ms")
    load.add_row(
        f"burst of {burst['users']:,} users' notifications -> finished cycles",
        f"{burst['all_cycles_finished_s']:.1f} s",
    )
    console.print(load)
