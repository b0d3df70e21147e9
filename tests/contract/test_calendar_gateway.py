"""The CalendarGateway contract (ports.py), one suite run on every implementation
(STYLE.md habit 6): the in-memory fake, the Graph adapter on the Microsoft 365 emulator
in-process (httpx.ASGITransport) and over a real TLS socket with MSAL sign-in, and — when
S5SYNC_TEST_GRAPH_ACCESS_TOKEN is set — on a real Microsoft 365 mailbox; the last two on
production's transport (aiohttp)."""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from m365emu.app import build_emulator
from m365emu.demo import DEMO_TENANT_ID, register_app, seed_demo
from m365emu.testing import (
    TEST_CLIENT_ID,
    TEST_CLIENT_SECRET,
    TEST_REDIRECT_URI,
    RunningEmulator,
    run_emulator,
    sign_in_with_form_posts,
)
from s5sync.outlook.categories import ensure_category_once
from s5sync.outlook.errors import MalformedEventId
from s5sync.outlook.identity import IdentityConfig, MsalIdentity
from s5sync.outlook.tokens import UserTokens
from s5sync.outlook.transport import AiohttpTransport
from s5sync.sync.ports import EventUpdate, EventWrite, WriteStatus
from s5sync.testing.graph_emulator import (
    EmulatorTokens,
    UserActions,
    in_process_client,
    install_graph_api,
)
from support.calendar_harness import (
    REAL_BASE_ENV,
    CalendarHarness,
    FakeHarness,
    GraphHarness,
    real_tenant_tokens,
)
from support.event_writes import create_events, update_events

NOW = datetime.now(UTC).replace(microsecond=0)
WINDOW = (NOW - timedelta(days=1), NOW + timedelta(days=30))


def write(n: int, *, days: float = 2, run: str = "") -> EventWrite:
    start = NOW + timedelta(days=days, hours=n % 8)
    return EventWrite(
        subject=f"Delivery {n} {run}",
        body_html=f"<p>Bring the ladder #{n}</p>",
        start=start,
        end=start + timedelta(hours=1),
        reminder_minutes=30,
        categories=("Received From System5",),
        task_ref=f"task:{run}:{n}",
        transaction_id=f"tx-{run}-{n}",
    )


class CalendarGatewayContract:
    """Behaviour every CalendarGateway keeps; subclasses provide `harness`."""

    @pytest.fixture
    def run(self) -> str:
        return uuid.uuid4().hex[:8]

    async def test_created_event_reads_back_with_owned_fields_and_task_identity_R5_R16b(
        self, harness: CalendarHarness, run: str
    ) -> None:
        (result,) = await create_events(harness.gateway, [write(1, run=run)])
        assert result.status is WriteStatus.OK
        assert result.event is not None
        again = await harness.gateway.get_event(result.event.id)
        assert again is not None
        assert again.subject == f"Delivery 1 {run}"
        assert (again.start, again.end) == (write(1).start, write(1).end)
        assert again.reminder_minutes == 30
        assert again.categories == ("Received From System5",)
        assert again.task_ref == f"task:{run}:1"
        assert "Bring the ladder #1" in again.body
        assert not again.body_is_html
        assert again.change_key == result.event.change_key

    async def test_unknown_event_reads_as_none_R7b(self, harness: CalendarHarness) -> None:
        created = await harness.user_creates(
            "Dentist", NOW + timedelta(days=1), NOW + timedelta(days=1, hours=1)
        )
        await harness.user_deletes(created)
        assert await harness.gateway.get_event(created) is None

    async def test_a_damaged_event_id_is_malformed_not_gone_R7b(
        self, harness: CalendarHarness, run: str
    ) -> None:
        # Graph answers 400 ErrorInvalidIdMalformed to an id it cannot decode (graph.md §1).
        (created,) = await create_events(harness.gateway, [write(1, run=run)])
        assert created.event
        for damaged in ("abc", created.event.id[:-6]):
            with pytest.raises(MalformedEventId):
                await harness.gateway.get_event(damaged)
            (result,) = await update_events(
                harness.gateway, [EventUpdate(damaged, None, write(1, run=run))]
            )
            assert result.status is WriteStatus.BAD_ID

    async def test_idle_window_read_costs_one_request_R23b(self, harness: CalendarHarness) -> None:
        await harness.user_creates(
            "Dentist", NOW + timedelta(days=1), NOW + timedelta(days=1, hours=1)
        )
        first = await harness.gateway.read_window(None, *WINDOW)
        assert first.rebaselined
        before = harness.counter.total
        idle = await harness.new_cycle().read_window(first.delta_link, *WINDOW)
        assert (idle.changed, idle.removed, idle.rebaselined) == ([], [], False)
        assert harness.counter.total - before == 1

    @pytest.mark.parametrize("k", [1, 20, 21])
    async def test_k_creates_cost_ceil_k_over_20_requests_R23b(
        self, harness: CalendarHarness, run: str, k: int
    ) -> None:
        before = harness.counter.total
        results = await create_events(harness.gateway, [write(n, run=run) for n in range(k)])
        assert [r.status for r in results] == [WriteStatus.OK] * k
        assert len({r.event.id for r in results if r.event}) == k
        assert harness.counter.total - before == math.ceil(k / 20)

    async def test_a_repeated_transaction_id_leaves_one_event_R16(
        self, harness: CalendarHarness, run: str
    ) -> None:
        (first,) = await create_events(harness.gateway, [write(1, run=run)])
        (second,) = await create_events(harness.new_cycle(), [write(1, run=run)])
        assert second.status is WriteStatus.OK
        assert second.event
        assert first.event
        found = await harness.gateway.find_by_task_refs([f"task:{run}:1"])
        assert found[f"task:{run}:1"].id == first.event.id == second.event.id
        read = await harness.gateway.read_window(None, *WINDOW)
        subjects = [c.fields.get("subject") for c in read.changed]
        assert subjects.count(f"Delivery 1 {run}") == 1

    async def test_lookup_by_task_identity_finds_events_anywhere_in_time_R16b(
        self, harness: CalendarHarness, run: str
    ) -> None:
        near, far = await create_events(
            harness.gateway, [write(1, run=run), write(2, days=200, run=run)]
        )
        found = await harness.new_cycle().find_by_task_refs(
            [f"task:{run}:1", f"task:{run}:2", f"task:{run}:missing"]
        )
        assert near.event
        assert far.event
        assert {ref: e.id for ref, e in found.items()} == {
            f"task:{run}:1": near.event.id,
            f"task:{run}:2": far.event.id,
        }
        assert found[f"task:{run}:2"].task_ref == f"task:{run}:2"

    async def test_update_with_current_change_key_overwrites_owned_fields_R5(
        self, harness: CalendarHarness, run: str
    ) -> None:
        (created,) = await create_events(harness.gateway, [write(1, run=run)])
        assert created.event
        changed = write(1, days=3, run=run)
        changed = EventWrite(
            "Moved delivery", "<p>new notes</p>", changed.start, changed.end, None, ("Mine",)
        )
        (updated,) = await update_events(
            harness.gateway, [EventUpdate(created.event.id, created.event.change_key, changed)]
        )
        assert updated.status is WriteStatus.OK
        assert updated.event
        assert updated.event.change_key != created.event.change_key
        now = await harness.gateway.get_event(created.event.id)
        assert now is not None
        assert (now.subject, now.start, now.reminder_minutes) == (
            "Moved delivery",
            changed.start,
            None,
        )
        assert now.categories == ("Mine",)
        assert "new notes" in now.body
        assert now.task_ref == f"task:{run}:1"  # the identity stays (R16b)

    async def test_creates_and_updates_share_one_batch_in_order_R23b(
        self, harness: CalendarHarness, run: str
    ) -> None:
        (created,) = await create_events(harness.gateway, [write(1, run=run)])
        assert created.event
        before = harness.counter.count("POST", "$batch")
        made, patched = await harness.gateway.write_events(
            [write(2, run=run), write(3, run=run)],
            [EventUpdate(created.event.id, created.event.change_key, write(4, run=run))],
        )
        assert harness.counter.count("POST", "$batch") - before == 1
        assert [r.status for r in (*made, *patched)] == [WriteStatus.OK] * 3
        assert [r.event.subject for r in made if r.event] == [
            f"Delivery 2 {run}",
            f"Delivery 3 {run}",
        ]
        assert patched[0].event
        assert patched[0].event.id == created.event.id
        assert patched[0].event.subject == f"Delivery 4 {run}"

    async def test_update_after_a_user_edit_is_a_conflict_R12b(
        self, harness: CalendarHarness, run: str
    ) -> None:
        (created,) = await create_events(harness.gateway, [write(1, run=run)])
        assert created.event
        await harness.user_edits(created.event.id, "Edited in Outlook")
        (result,) = await update_events(
            harness.gateway,
            [EventUpdate(created.event.id, created.event.change_key, write(1, run=run))],
        )
        assert result.status is WriteStatus.CONFLICT
        still = await harness.gateway.get_event(created.event.id)
        assert still is not None
        assert still.subject == "Edited in Outlook"

    async def test_update_of_a_deleted_event_is_gone_R7b(
        self, harness: CalendarHarness, run: str
    ) -> None:
        (created,) = await create_events(harness.gateway, [write(1, run=run)])
        assert created.event
        await harness.user_deletes(created.event.id)
        (result,) = await update_events(
            harness.gateway, [EventUpdate(created.event.id, None, write(1, run=run))]
        )
        assert result.status is WriteStatus.GONE

    async def test_delta_brings_user_edits_creations_and_deletions_R10_R11(
        self, harness: CalendarHarness
    ) -> None:
        day = NOW + timedelta(days=2)
        kept = await harness.user_creates("Kept", day, day + timedelta(hours=1))
        edited = await harness.user_creates("Before", day, day + timedelta(hours=1))
        gone = await harness.user_creates("Gone", day, day + timedelta(hours=1))
        first = await harness.gateway.read_window(None, *WINDOW)
        assert {kept, edited, gone} <= {c.event_id for c in first.changed}
        await harness.user_edits(edited, "After [sync]")
        await harness.user_deletes(gone)
        new = await harness.user_creates("New", day, day + timedelta(hours=2))
        later = await harness.new_cycle().read_window(first.delta_link, *WINDOW)
        assert not later.rebaselined
        changed = {c.event_id: c.fields for c in later.changed}
        assert changed.keys() == {edited, new}
        assert changed[edited]["subject"] == "After [sync]"
        assert later.removed == [gone]
        assert later.delta_link

    @pytest.mark.parametrize("kind", ["gone410", "syncStateNotFound", "resyncRequired"])
    async def test_an_expired_delta_link_rebaselines_the_whole_window(
        self, harness: CalendarHarness, kind: str
    ) -> None:
        day = NOW + timedelta(days=2)
        event_id = await harness.user_creates("Kept", day, day + timedelta(hours=1))
        first = await harness.gateway.read_window(None, *WINDOW)
        harness.expire_delta(kind)
        again = await harness.new_cycle().read_window(first.delta_link, *WINDOW)
        assert again.rebaselined
        assert event_id in {c.event_id for c in again.changed}
        idle = await harness.gateway.read_window(again.delta_link, *WINDOW)
        assert (idle.changed, idle.removed, idle.rebaselined) == ([], [], False)

    async def test_the_category_is_created_once_and_matched_in_any_case_R3(
        self, harness: CalendarHarness, run: str
    ) -> None:
        name = f"Received From System5 {run}"
        assert await harness.gateway.ensure_category(name, "preset4") is True
        assert await harness.new_cycle().ensure_category(name, "preset4") is False
        assert await harness.new_cycle().ensure_category(name.upper(), "preset4") is False

    async def test_category_check_costs_no_request_after_the_first_cycle_R3(
        self, harness: CalendarHarness, run: str
    ) -> None:
        name = f"Received From System5 {run}"
        remembered = await ensure_category_once(harness.gateway, None, name, "preset4")
        before = harness.counter.total
        assert await ensure_category_once(harness.new_cycle(), remembered, name, "preset4") == name
        assert harness.counter.total == before
        await ensure_category_once(harness.new_cycle(), remembered, name + " renamed", "preset4")
        assert harness.counter.total > before  # R21b: a new name is ensured again


class TestFakeCalendarGateway(CalendarGatewayContract):
    @pytest.fixture
    def harness(self) -> CalendarHarness:
        return FakeHarness()


class TestGraphAdapterOnEmulatorInProcess(CalendarGatewayContract):
    @pytest.fixture
    async def harness(self) -> AsyncIterator[CalendarHarness]:
        emulator = build_emulator(None)
        parts = install_graph_api(emulator)
        seed_demo(emulator)
        try:
            async with in_process_client(emulator) as http:
                tokens = EmulatorTokens(emulator, "alice@contoso.example")
                yield GraphHarness(
                    http, tokens, UserActions(http, tokens), parts, tokens.mailbox_key(), emulator
                )
        finally:
            emulator.close()


def _install_for_socket(emulator: object) -> None:
    from m365emu.app import Emulator

    assert isinstance(emulator, Emulator)
    emulator.socket_parts = install_graph_api(emulator)  # type: ignore[attr-defined]
    register_app(
        emulator,
        client_id=TEST_CLIENT_ID,
        client_secret=TEST_CLIENT_SECRET,
        redirect_uris=[TEST_REDIRECT_URI],
    )


@pytest.fixture(scope="module")
def socket_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    tls = Path(tmp_path_factory.mktemp("outlook-tls"))
    with run_emulator(tls_dir=tls, seed=True, configure=_install_for_socket) as running:
        yield running


class InMemoryCache:
    def __init__(self, text: str | None) -> None:
        self.text = text
        self.saves = 0

    async def load(self) -> str | None:
        return self.text

    async def save(self, serialized: str) -> None:
        self.text, self.saves = serialized, self.saves + 1


async def sign_in(running: RunningEmulator, identity: MsalIdentity, email: str) -> UserTokens:
    """The auth-code flow as the web app runs it, with the browser played by form posts."""
    flow = await identity.begin_sign_in(TEST_REDIRECT_URI, login_hint=email)
    _, posted = sign_in_with_form_posts(flow["auth_uri"], email, running.ssl_context())
    signed = await identity.complete_sign_in(flow, posted)
    return UserTokens(identity, InMemoryCache(signed.token_cache), object_id=signed.object_id)


class TestGraphAdapterOnEmulatorOverTls(CalendarGatewayContract):
    @pytest.fixture
    async def harness(
        self, socket_emulator: RunningEmulator, run: str
    ) -> AsyncIterator[CalendarHarness]:
        running = socket_emulator
        email = f"user-{run}@contoso.example"
        user = running.emulator.directory.add_user(DEMO_TENANT_ID, email, f"User {run}")
        identity = MsalIdentity(
            IdentityConfig(
                TEST_CLIENT_ID,
                TEST_CLIENT_SECRET,
                running.urls.authority(DEMO_TENANT_ID),
                ca_bundle=running.urls.ca_cert,
            )
        )
        tokens = await sign_in(running, identity, email)
        graph = AiohttpTransport(running.urls.graph, running.ssl_context())  # production's
        try:
            async with httpx.AsyncClient(
                base_url=running.urls.graph, verify=running.ssl_context(), trust_env=False
            ) as http:
                yield GraphHarness(
                    http,
                    tokens,
                    UserActions(http, tokens),
                    running.emulator.socket_parts,  # type: ignore[attr-defined]
                    f"{DEMO_TENANT_ID}/{user.id}",
                    graph=graph,
                )
        finally:
            await graph.aclose()
            identity.close()


class TestGraphAdapterOnRealMicrosoft365(CalendarGatewayContract):
    """Runs only with a real mailbox's token; every event it makes is deleted after."""

    @pytest.fixture
    async def harness(self, run: str) -> AsyncIterator[CalendarHarness]:
        tokens = real_tenant_tokens()
        base = os.environ.get(REAL_BASE_ENV, "https://graph.microsoft.com/v1.0")
        graph = AiohttpTransport(base, timeout=30)  # production's
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            harness = GraphHarness(http, tokens, UserActions(http, tokens), graph=graph)
            yield harness
            # Leave the mailbox as found: the events this run made, by their task identity.
            found = await harness.new_cycle().find_by_task_refs(
                [f"task:{run}:{n}" for n in range(25)]
            )
            for event_id in {*harness.made, *(e.id for e in found.values())}:
                await http.delete(
                    f"/me/events/{quote(event_id, safe='')}",
                    headers={"Authorization": f"Bearer {await tokens.token()}"},
                )
        await graph.aclose()
