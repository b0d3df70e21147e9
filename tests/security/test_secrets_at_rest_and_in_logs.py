"""No token, secret or event body in any log line, nor readable in a stolen CALENDAREVENT
database; keys rotate (issue 14; R22; OWASP ASVS v4 6.1.1, 6.2.1, 6.4.2, 7.1.1, 8.3.4).

One demo-like story runs in-process (secrets_story): MSAL sign-in, a push, an import, an
edit, a throttled read, and a second store whose System Five password is a canary and
whose database is down — with every logger recording at DEBUG.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from m365emu.testing import RunningEmulator
from s5sync.entrypoints.bootstrap import build_services
from s5sync.store.secrets import SecretBox, SecretUnreadable
from support.cycle_stack import emulator_running
from support.secrets_story import (
    BODY,
    FOREIGN_S5,
    NOTES,
    NOW,
    Recorder,
    Story,
    release,
    settings_for,
    start_recording,
    story,
)


@pytest.fixture(scope="module")
def running() -> Iterator[RunningEmulator]:
    with emulator_running() as emulator:
        yield emulator


@pytest.fixture
async def told(tmp_path: Path, running: RunningEmulator) -> AsyncIterator[tuple[Story, Recorder]]:
    recorder = Recorder()
    try:
        async with story(tmp_path, running, lambda: start_recording(recorder)) as built:
            yield built, recorder
    finally:
        release(recorder)


async def test_the_story_really_ran_every_path_R22(told: tuple[Story, Recorder]) -> None:
    built, recorder = told
    first, second, foreign = built.results
    assert first.outcome == "ok", first.error
    assert second.outcome == "ok", second.error
    assert foreign.outcome != "ok"
    assert any("refresh" in name.lower() for name in built.canaries), sorted(built.canaries)
    assert any("access" in name.lower() for name in built.canaries), sorted(built.canaries)
    texts = recorder.texts()
    assert any("graph.throttled" in t for t in texts)  # the retry path ran and logged
    assert any("cycle.systemfive_unreadable" in t for t in texts)  # so did the broken store


async def test_no_token_secret_or_event_body_in_any_log_line_R22(
    told: tuple[Story, Recorder],
) -> None:
    built, recorder = told
    texts = recorder.texts()
    leaks = {
        name: [t[:200] for t in texts if value in t]
        for name, value in built.canaries.items()
        if any(value in t for t in texts)
    }
    assert leaks == {}


async def test_a_raw_copy_of_the_database_gives_away_no_secret_R22(
    told: tuple[Story, Recorder],
) -> None:
    built, _ = told
    dump = built.database_bytes()
    assert b"app_user" in dump  # it is the database, with its users in it
    # Tokens, keys, passwords and codes — and, since issue 23, the event text of the
    # window cache (a task's notes pushed as a body, an event's body read back).
    found = {name for name, value in built.canaries.items() if value.encode() in dump}
    assert found == set(), found
    assert FOREIGN_S5.encode() not in dump
    assert b"systemfive.db" not in dump  # even the demo's own connection is sealed


async def test_the_window_cache_holds_no_event_subject_nor_body_in_clear_R22(
    told: tuple[Story, Recorder],
) -> None:
    """Issue 23 item 6: `event_cache` rows, as a raw dump of the table shows them."""
    built, _ = told
    with sqlite3.connect(built.data_dir / "calendarevent.db") as raw:
        rows = [text for (text,) in raw.execute("SELECT CAST(data AS TEXT) FROM event_cache")]
    raw.close()
    assert len(rows) >= 2  # the pushed task's event and the imported tagged event
    for text in rows:
        for plain in ("Measure vault", "Deliver safe", NOTES, BODY, '"subject"', '"body"'):
            assert plain not in text, text
        assert '"sealed"' in text
        assert '"start"' in text  # times stay readable
    # And the cycle reads it back whole: the tagged event's subject, opened.
    cached = await built.services.cycle_store(built.tenant_id).cached(built.user_id, None)
    assert {e.data.get("subject") for e in cached.values()} >= {"Measure vault [sync]"}


async def test_rotated_keys_read_everything_and_the_old_key_alone_reads_nothing_R22(
    told: tuple[Story, Recorder], running: RunningEmulator
) -> None:
    built, _ = told
    old = built.keys[0]
    new = SecretBox.generate_key()
    both = build_services(settings_for(built.data_dir, running, [new, old]))
    try:
        assert await both.directory.rotate_keys() >= 4  # two stores, tokens, delta links
    finally:
        await both.aclose()
    rotated = build_services(settings_for(built.data_dir, running, [new]))
    try:
        [tenant, _] = sorted(await rotated.directory.tenants(), key=lambda t: t.id)
        assert (await rotated.directory.s5_connection(tenant.id)).startswith("sqlite:///")
        [user] = await rotated.directory.users(tenant.id)
        result = await rotated.cycle_engine("rotated").run_user_cycle(user, NOW.replace(hour=16))
        assert result.outcome == "ok", result.error  # the token cache opened with the new key
    finally:
        await rotated.aclose()
    stale = build_services(settings_for(built.data_dir, running, [old]))
    try:
        [tenant, _] = sorted(await stale.directory.tenants(), key=lambda t: t.id)
        with pytest.raises(SecretUnreadable):
            await stale.directory.s5_connection(tenant.id)
    finally:
        await stale.aclose()
