"""Lease holders and whether they are gone (issue 23 item 6; R16): `sync/holders.py`."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from s5sync.sync.holders import _start_ticks, holder_gone, holder_name


def test_a_holder_names_kind_host_process_and_its_start() -> None:
    kind, host, pid, start = holder_name("worker").split(":")
    assert kind == "worker"
    assert host
    assert int(pid) == os.getpid()
    assert int(start) == _start_ticks(os.getpid())
    assert len(holder_name("worker")) <= 100  # app_user.lease_holder


def test_this_process_and_a_live_child_are_not_gone() -> None:
    assert not holder_gone(holder_name("web"))
    child = subprocess.Popen(["sleep", "30"])
    try:
        alive = holder_name("cli").split(":")
        alive[2:] = [str(child.pid), str(_start_ticks(child.pid))]
        assert not holder_gone(":".join(alive))
    finally:
        child.kill()
        child.wait()
    assert holder_gone(":".join(alive))  # killed: gone


def test_a_reused_process_id_is_gone(tmp_path: Path) -> None:
    """Same id, another start time: the holder's process ended and the id was reused."""
    proc = tmp_path / "proc"
    (proc / "self").mkdir(parents=True)
    (proc / "self" / "stat").write_text("1 (x) S " + " ".join(["0"] * 40))
    (proc / "4242").mkdir()
    fields = ["S"] + ["0"] * 40  # from field 3 (the state) on
    fields[19] = "777"  # field 22: started at tick 777
    (proc / "4242" / "stat").write_text("4242 (python3 (s5) x) " + " ".join(fields))
    assert not holder_gone("worker:h:4242:777", proc, host="h")
    assert holder_gone("worker:h:4242:555", proc, host="h")
    assert holder_gone("worker:h:4243:777", proc, host="h")  # no such process


def test_holders_that_cannot_be_judged_are_never_gone(tmp_path: Path) -> None:
    assert not holder_gone(None)
    assert not holder_gone("worker:another-host:1:1")  # another host: wait for the expiry
    assert not holder_gone("web-1234")  # an older release's holder
    assert not holder_gone("story")
    assert not holder_gone("worker:h:x:y", tmp_path, host="h")
    assert not holder_gone("worker:h:1:1", tmp_path, host="h")  # no process table
