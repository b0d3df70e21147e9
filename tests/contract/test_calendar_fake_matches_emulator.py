"""The fake keeps pace with the Graph adapter on the emulator (STYLE.md habit 6): a
Hypothesis state machine drives both with the same steps — our creates (some with a
repeated transactionId), updates with a current or stale change key, the user's creates,
edits and deletions, window reads, lookups — and compares what each answers."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from m365emu.app import build_emulator
from m365emu.demo import seed_demo
from s5sync.sync.ports import CalendarGateway, EventUpdate, EventWrite, WindowRead
from s5sync.testing.calendar import FakeCalendarGateway
from s5sync.testing.graph_emulator import (
    EmulatorTokens,
    UserActions,
    graph_calendar,
    in_process_client,
    install_graph_api,
)
from support.event_writes import create_events, update_events

NOW = datetime.now(UTC).replace(microsecond=0)
WINDOW = (NOW - timedelta(days=1), NOW + timedelta(days=30))


def a_write(n: int, version: int = 0) -> EventWrite:
    start = NOW + timedelta(days=2, hours=n)
    return EventWrite(
        f"Task {n} v{version}",
        f"<p>v{version}</p>",
        start,
        start + timedelta(hours=1),
        15,
        (),
        task_ref=f"task:{n}",
        transaction_id=f"tx-{n}",
    )


class Side:
    """One implementation with its own ids, change keys and delta link."""

    def __init__(self, gateway: CalendarGateway) -> None:
        self.gateway = gateway
        self.ids: dict[str, str] = {}  # our name for an event → this side's id
        self.keys: dict[str, str] = {}
        self.link: str | None = None


class FakeMatchesEmulator(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.emulator = build_emulator(None)
        self.parts = install_graph_api(self.emulator)
        seed_demo(self.emulator)
        self.client_cm = in_process_client(self.emulator)
        self.http: httpx.AsyncClient = self.run(self.client_cm.__aenter__())
        self.tokens = EmulatorTokens(self.emulator, "alice@contoso.example")
        self.user_graph = UserActions(self.http, self.tokens)
        self.fake = FakeCalendarGateway()
        self.sides = {
            "fake": Side(self.fake),
            "graph": Side(graph_calendar(self.http, self.tokens)),
        }
        self.names: list[str] = []
        self.gone: set[str] = set()
        self.seen: set[str] = set()

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    def teardown(self) -> None:
        self.run(self.client_cm.__aexit__(None, None, None))
        self.emulator.close()
        self.loop.close()

    def live(self) -> list[str]:
        return [n for n in self.names if n not in self.gone]

    @initialize()
    def a_baseline_with_events(self) -> None:
        self.we_create(0, 0)
        self.user_creates(5)
        self.read(fresh=True)

    @rule(n=st.integers(0, 3), version=st.integers(0, 2))
    def we_create(self, n: int, version: int) -> None:
        name = f"task:{n}"
        again = name in self.names and name not in self.gone
        answers = {}
        for label, side in self.sides.items():
            (result,) = self.run(create_events(side.gateway, [a_write(n, version)]))
            answers[label] = result.status
            assert result.event is not None
            if again:  # a repeated transactionId gives back the same event
                assert side.ids[name] == result.event.id
            side.ids[name] = result.event.id
            side.keys[name] = result.event.change_key
        assert answers["fake"] == answers["graph"]
        self.gone.discard(name)
        self.seen.discard(name)
        if name not in self.names:
            self.names.append(name)

    @rule(hour=st.integers(0, 40))
    def user_creates(self, hour: int) -> None:
        name = f"user:{len(self.names)}"
        start = NOW + timedelta(days=1, hours=hour)
        fake_id = self.fake.user_creates(name, start, start + timedelta(hours=1))
        graph_id = self.run(self.user_graph.creates(name, start, start + timedelta(hours=1)))
        self.sides["fake"].ids[name], self.sides["graph"].ids[name] = fake_id, graph_id
        self.names.append(name)

    @precondition(lambda self: self.live())
    @rule(data=st.data())
    def user_edits(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(self.live()))
        self.fake.user_edits(self.sides["fake"].ids[name], subject=f"{name} edited")
        self.run(self.user_graph.edits(self.sides["graph"].ids[name], subject=f"{name} edited"))

    @precondition(lambda self: self.live())
    @rule(data=st.data())
    def user_deletes(self, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(self.live()))
        self.fake.user_deletes(self.sides["fake"].ids[name])
        self.run(self.user_graph.deletes(self.sides["graph"].ids[name]))
        self.gone.add(name)

    @precondition(lambda self: any(n.startswith("task:") for n in self.names))
    @rule(data=st.data(), stale=st.booleans())
    def we_update(self, data: st.DataObject, stale: bool) -> None:
        name = data.draw(st.sampled_from([n for n in self.names if n.startswith("task:")]))
        statuses = {}
        for label, side in self.sides.items():
            key = "stale-key" if stale else side.keys.get(name)
            write = replace(a_write(int(name.split(":")[1]), 9), task_ref=None, transaction_id=None)
            (result,) = self.run(
                update_events(side.gateway, [EventUpdate(side.ids[name], key, write)])
            )
            statuses[label] = result.status
            if result.event is not None:
                side.keys[name] = result.event.change_key
        assert statuses["fake"] == statuses["graph"], statuses

    @rule(fresh=st.booleans())
    def read(self, fresh: bool) -> None:
        reads: dict[str, tuple[set[str], set[str], bool]] = {}
        for label, side in self.sides.items():
            result: WindowRead = self.run(
                side.gateway.read_window(None if fresh else side.link, *WINDOW)
            )
            side.link = result.delta_link
            by_id = {v: k for k, v in side.ids.items()}
            for change in result.changed:
                name = by_id.get(change.event_id)
                if name is not None and "change_key" in change.fields:
                    side.keys[name] = str(change.fields["change_key"])
            changed = {by_id.get(c.event_id, "?") for c in result.changed}
            removed = {by_id.get(r, "?") for r in result.removed} & self.seen
            reads[label] = (changed, removed, result.rebaselined)
        assert reads["fake"] == reads["graph"], reads
        self.seen |= reads["fake"][0]

    @rule()
    def lookup(self) -> None:
        refs = [f"task:{n}" for n in range(5)]
        found = {
            label: set(self.run(side.gateway.find_by_task_refs(refs)))
            for label, side in self.sides.items()
        }
        assert found["fake"] == found["graph"]

    @invariant()
    def the_same_events_exist(self) -> None:
        box = self.emulator_box()
        graph_count = 0 if box is None else len(box.events.listed())
        assert len(self.fake.events()) == graph_count == len(self.live())

    def emulator_box(self) -> Any:
        return self.parts.state.find(self.tokens.mailbox_key())


FakeMatchesEmulator.TestCase.settings = settings(
    max_examples=20,
    stateful_step_count=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestFakeMatchesEmulator = FakeMatchesEmulator.TestCase
