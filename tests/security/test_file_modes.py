"""Files s5sync and its emulators write are their owner's alone (issue 23 item 6; R22):
the demo's data dir holds event text (`calendarevent.db`), the emulator's state (its
client secret and signing key) and keys — every file 0600, every directory 0700."""

from __future__ import annotations

import stat

from support.demo_runner import Demo


def test_every_file_in_the_demo_data_dir_is_private_R22(demo: Demo) -> None:
    seen = {p.relative_to(demo.data_dir).as_posix(): p for p in demo.data_dir.rglob("*")}
    assert {"calendarevent.db", "s5sync.env", "systemfive.db"} <= seen.keys()
    assert any(name.startswith("m365emu/") for name in seen)
    loose = {
        name: oct(stat.S_IMODE(path.stat().st_mode))
        for name, path in {".": demo.data_dir, **seen}.items()
        if stat.S_IMODE(path.stat().st_mode) & 0o077
    }
    assert loose == {}
