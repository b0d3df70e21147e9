"""Who holds a user's lease, and whether that process is gone (issue 23 item 6; R16).

A lease names its holder as `kind:host:pid:start` — the process's host name, id and
start time (clock ticks since boot, `/proc/<pid>/stat` field 22). A cycle killed with
`kill -9` leaves its lease until it expires (0.9 × the interval, at most 8 minutes), and
every *Sync now* meanwhile answers "already running". A process on the same host can
tell that holder is gone — no process with that id, or one started at another time (the
id was reused) — and take the lease over at once; the fencing token still grows, so
nothing the dead cycle might still send is accepted.

Only a holder on this host is ever judged gone: another host's process cannot be seen
(its lease expires, or the distributed reaper frees it). This assumes host names are
unique among processes that see different process tables, as containers get by default
(Docker, Podman, Kubernetes, Azure Container Apps). Any other holder text (older
releases, tests) is never judged gone.
"""

from __future__ import annotations

import os
import socket
from functools import cache
from pathlib import Path

PROC = Path("/proc")


def _start_ticks(pid: int, proc: Path = PROC) -> int | None:
    """The process's start time in clock ticks since boot; None if there is none."""
    try:
        stat = (proc / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces or ')'.
    fields = stat[stat.rfind(")") + 2 :].split()
    try:
        return int(fields[19])  # field 22 of the whole line
    except (IndexError, ValueError):
        return None


@cache
def _host() -> str:
    return socket.gethostname()[:60].replace(":", "-")


def holder_name(kind: str) -> str:
    """This process as a lease holder, e.g. `worker:host:4242:981234`."""
    pid = os.getpid()
    start = _start_ticks(pid)
    return f"{kind}:{_host()}:{pid}:{'' if start is None else start}"


def holder_gone(holder: str | None, proc: Path = PROC, host: str | None = None) -> bool:
    """True only when `holder` ran on this host and that process is no longer there."""
    if holder is None:
        return False
    parts = holder.split(":")
    if len(parts) != 4 or parts[1] != (host if host is not None else _host()):
        return False
    try:
        pid, start = int(parts[2]), int(parts[3])
    except ValueError:
        return False
    if not (proc / "self" / "stat").exists():
        return False  # no process table to look at (not Linux): wait for the expiry
    return _start_ticks(pid, proc) != start
