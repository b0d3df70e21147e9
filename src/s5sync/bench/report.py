"""The benchmark's figures as rich tables (`s5sync bench`; docs/performance.md)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def render(figures: dict[str, Any], console: Console | None = None) -> None:
    """Every table and line of `s5sync bench` (one function per table below)."""
    console = console or Console(width=120)
    fakes, emu = figures["engine_on_fakes"], figures["worker_on_emulator"]
    _ratios(console, fakes, emu)
    _cpu(console, figures)
    _throughput(console, emu)
    _token_path(console, emu)
    if "graph_clients" in emu:
        console.print(_peers(emu["graph_clients"]))
    console.print(
        f"peak worker memory: {figures['peak_memory_mb']} MB · "
        f"latency {figures['config']['latency_ms']} ms · elapsed {figures['elapsed_s']} s"
    )
    for note in figures["notes"]:
        console.print(f"· {note}", highlight=False)


def _ratios(console: Console, fakes: dict[str, Any], emu: dict[str, Any]) -> None:
    ratios = Table(title="Graph requests per cycle vs the physical minimum (on fakes)")
    for column in ("cycle", "writes k", "inbound m", "requests", "minimum", "ratio"):
        ratios.add_column(column, justify="right")
    for name, row in fakes["ratios"].items():
        ratios.add_row(
            name,
            str(row["writes"]),
            str(row["inbound"]),
            str(row["requests"]),
            str(row["minimum"]),
            f"{row['ratio']:.2f}",
        )
    ratios.add_row("idle (emulator)", "0", "0", "", "1", f"{_last(emu)['idle_ratio']:.2f}")
    ratios.add_row("mixed (emulator)", "", "2", "", "", f"{emu['mixed_ratio']:.2f}")
    console.print(ratios)


def _cpu(console: Console, figures: dict[str, Any]) -> None:
    fakes, emu = figures["engine_on_fakes"], figures["worker_on_emulator"]
    stored = figures["engine_with_database"]
    cpu = Table(title="CPU of the worker process per cycle (measured)")
    cpu.add_column("where")
    cpu.add_column("idle cycle", justify="right")
    cpu.add_column("5-change cycle", justify="right")
    cpu.add_row(
        f"engine alone, everything in memory ({fakes['users']} users)",
        f"{fakes['cpu_ms_idle_cycle']:.2f} ms",
        f"{fakes['cpu_ms_5_change_cycle']:.2f} ms",
    )
    cpu.add_row(
        f"engine, fakes, CALENDAREVENT in {figures['database']}",
        f"{stored['cpu_ms_idle_cycle']:.2f} ms",
        f"{stored['cpu_ms_5_change_cycle']:.2f} ms",
    )
    cpu.add_row(
        "worker vs emulator process + databases",
        f"{emu['cpu_ms_idle_cycle']:.2f} ms",
        f"{emu['cpu_ms_5_change_cycle']:.2f} ms",
    )
    for label, where in (("engine alone", fakes), (figures["database"], stored)):
        for size, row in where["by_events_in_window"].items():
            cpu.add_row(
                f"{label}, {size} other events in the window",
                f"{row['cpu_ms_idle_cycle']:.2f} ms",
                f"{row['cpu_ms_5_change_cycle']:.2f} ms",
            )
    console.print(cpu)
    if "sql_statements_per_idle_cycle" in stored:
        console.print(
            f"CALENDAREVENT statements per idle cycle: {stored['sql_statements_per_idle_cycle']}"
            " (two transactions; BEGIN, COMMIT and pool pings not counted)"
        )


def _throughput(console: Console, emu: dict[str, Any]) -> None:
    through = Table(title="Throughput of one worker process (emulator latency set)")
    for column in (
        "users",
        "wall s / pass",
        "CPU ms / idle cycle",
        "user-cycles / 10 min",
        "CPU-bound / 10 min",
        "requests / idle cycle",
    ):
        through.add_column(column, justify="right")
    for row in emu["throughput"].values():
        through.add_row(
            f"{row['users']:,}",
            f"{row['wall_s']}",
            f"{row['cpu_ms_idle_cycle']:.2f}",
            f"{row['user_cycles_per_10_min_measured']:,} (measured)",
            f"{row['user_cycles_per_10_min_cpu_bound']:,}",
            f"{row['requests_per_idle_cycle']}",
        )
    through.add_row(
        "100,000",
        "",
        "",
        f"{emu['user_cycles_per_10_min_100000_extrapolated']:,} (extrapolated)",
        "",
        "",
    )
    console.print(through)


def _token_path(console: Console, emu: dict[str, Any]) -> None:
    if "token_path" in emu:
        token = emu["token_path"]
        console.print(
            f"token path ({token['users']} users signed in through MSAL): "
            f"{token['cpu_ms_held_token']:.3f} ms held in memory, "
            f"{token['cpu_ms_cached_token']:.2f} ms from the sealed cache, "
            f"{token['cpu_ms_refreshed_token']:.2f} ms refreshed (1 cycle in 6) → "
            f"{token['cpu_ms_per_cycle']:.2f} ms per cycle on one worker "
            f"({token['cpu_ms_per_cycle_every_cycle_on_another_worker']:.2f} ms if every "
            "cycle ran on another worker); idle cycle with its token "
            f"{emu['cpu_ms_idle_cycle_with_token']:.2f} ms, 100,000 users "
            f"{emu['user_cycles_per_10_min_100000_extrapolated_with_token']:,} "
            "user-cycles / 10 min (extrapolated)",
            highlight=False,
        )


def _last(emu: dict[str, Any]) -> dict[str, Any]:
    return dict(list(emu["throughput"].values())[-1])


def _peers(clients: dict[str, Any]) -> Table:
    """bench/peers.py: CPU per request of each Graph client, and s5sync ÷ that client."""
    table = Table(
        title=f"Graph clients side by side: client CPU per request ({clients['rounds']} reads, "
        f"{clients['batch_rounds']} batches)"
    )
    for column in ("client", "idle delta read", "5-create $batch", "s5sync ÷ this"):
        table.add_column(column, justify="right")
    for name in ("s5sync", "msgraph_sdk", "httpx", "aiohttp"):
        row = clients.get(name, {})
        if "missing" in row or not row:
            table.add_row(name, "not installed", "", "")
            continue
        ratio = ""
        if name != "s5sync":
            ratio = (
                f"{row['s5sync_to_this_idle_delta_read']:.2f} / "
                f"{row['s5sync_to_this_batch_of_5_creates']:.2f}"
            )
        table.add_row(
            name,
            f"{row['cpu_ms_idle_delta_read']:.3f} ms",
            f"{row['cpu_ms_batch_of_5_creates']:.3f} ms",
            ratio,
        )
    return table
