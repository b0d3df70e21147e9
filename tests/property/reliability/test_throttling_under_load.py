"""Throttling under load (issue 13 part 4; R23b, R16).

Twenty users of one store sync at once. Their mailboxes are held to a small Outlook
request budget by the emulator (a 429 with the seconds until the budget frees, as Graph's
MailboxRequests limit answers), and a storm of injected 429s with short Retry-After hits
every route. Checked: s5sync never has more than 4 requests in flight per mailbox (the
emulator's high-water mark, measured with its own concurrency refusal switched off so it
observes instead of refusing); every user's cycle eventually completes, coming back when
Graph said; nothing is lost and nothing doubled — every task has its one event and every
tagged event its one task.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from fastapi import APIRouter, Request, Response

from m365emu.app import Emulator
from m365emu.faults import Fault, FaultKind
from m365emu.graph import GraphRuntime, GraphState
from m365emu.graph.common.http import GraphRequest
from m365emu.graph.router import METHODS, create_dispatcher
from s5emu.desk import TaskForm
from s5sync.testing.graph_emulator import GraphParts
from support.reliability_oracle import ARTIFACT, wall
from support.reliability_stack import (
    Account,
    Stack,
    Templates,
    built_stack,
    event_task_ref,
)
from support.reliability_story import START

USERS = 20
TASKS_PER_USER = 25  # two $batch requests of creates each
TAGGED_PER_USER = 3
BUDGET = 30  # requests per 10 minutes per mailbox (Outlook allows 10,000): it bites
STORM = 150
MAX_ROUNDS = 15


def install_throttled_graph(emulator: Emulator) -> GraphParts:
    """The Graph API with a small per-mailbox request budget (Outlook's MailboxRequests
    limit, scaled down) and no concurrency refusal, so in-flight counts are observed."""
    state = GraphState(emulator.persistence)
    runtime = GraphRuntime(latency_ms=2, reraise_unexpected=True)
    dispatcher = create_dispatcher(
        state, emulator.verifier, emulator.clock, emulator.faults, emulator.stats, runtime
    )
    dispatcher.throttle.per_window = BUDGET
    dispatcher.throttle.concurrent = 10_000
    router = APIRouter()

    @router.api_route("/{path:path}", methods=METHODS, include_in_schema=False)
    async def graph(path: str, request: Request) -> Response:
        relative = "/" + path
        full = request.url.path
        base_url = f"{request.url.scheme}://{request.url.netloc}{full[: -len(relative)]}"
        answer = await dispatcher.handle(
            GraphRequest(
                request.method,
                relative,
                dict(request.query_params),
                dict(request.headers),
                await request.body(),
                request.headers.getlist("prefer"),
            ),
            base_url,
        )
        content = b"" if answer.body is None else json.dumps(answer.body).encode()
        media = "application/json" if answer.body is not None else None
        return Response(content, answer.status, dict(answer.headers), media_type=media)

    emulator.graph_routers.clear()
    emulator.graph_routers.append(router)
    emulator.graph_state = state
    emulator.latency_ms = runtime.latency_ms
    return GraphParts(emulator, state)


async def seed(stack: Stack, account: Account, who: int) -> tuple[set[int], set[str]]:
    """Each user: Delivery tasks to push and tagged events to import."""
    tasks = set()
    for n in range(TASKS_PER_USER):
        start = wall(START + timedelta(days=1 + n % 9, hours=n))
        form = TaskForm(
            "delivery",
            account.employee_id,
            None,
            f"Delivery {who}-{n}",
            "",
            start,
            start + timedelta(hours=1),
            15,
            True,
        )
        tasks.add(stack.desk.create_task(form))
    events = set()
    for n in range(TAGGED_PER_USER):
        start = START + timedelta(days=2 + n, hours=who % 5)
        events.add(
            await account.outlook.creates(
                f"Measure {who}-{n} [sync]", start, start + timedelta(hours=1), body="Tape"
            )
        )
    await account.outlook.creates("Lunch", START + timedelta(days=1), START + timedelta(days=1))
    return tasks, events


def storm(emulator: Emulator) -> None:
    """429s with short Retry-After on every route, the batch included."""
    emulator.faults.add(Fault("*", "/me/*", FaultKind.THROTTLE, 429, 2, STORM))
    emulator.faults.add(Fault("POST", "/$batch", FaultKind.THROTTLE, 429, 1, 10))


async def test_twenty_throttled_users_finish_with_nothing_lost_and_at_most_four_in_flight_R23b(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    templates = Templates(tmp_path_factory.mktemp("load"))
    emails = [f"user{n:02d}@reliability.example" for n in range(USERS)]
    async with built_stack(templates, emails, START, install_throttled_graph) as stack:
        seeded = [await seed(stack, a, n) for n, a in enumerate(stack.accounts)]
        storm(stack.emulator)
        outcomes: list[Counter[str]] = [Counter() for _ in stack.accounts]
        pending = list(range(USERS))
        rounds = 0
        while pending:
            rounds += 1
            assert rounds <= MAX_ROUNDS, f"users {pending} never finished: {outcomes}"
            results = await asyncio.gather(*(stack.cycle(stack.accounts[i]) for i in pending))
            for i, result in zip(pending, results, strict=True):
                outcomes[i][result.outcome] += 1
            pending = [i for i, r in zip(pending, results, strict=True) if r.outcome != "ok"]
            if pending:
                # Come back when Graph said (R23b): the request budget frees in 10 minutes.
                later = max(r.next_run_at or stack.now for r in results if r.outcome != "ok")
                stack.set_now(max(later, stack.now + timedelta(minutes=10, seconds=1)))
        high_water = stack.emulator.stats.as_json()["max_in_flight"]
        for n, account in enumerate(stack.accounts):
            assert 1 <= high_water.get(account.mailbox_key, 0) <= 4, high_water
            check_nothing_lost(stack, account, *seeded[n])
        totals = sum(outcomes, Counter())
        assert totals["throttled"] + totals["partial"] > 0, "the budget never throttled anyone"
        assert stack.emulator.faults.fired.get(FaultKind.THROTTLE, 0) >= STORM
        record_load(stack, totals, rounds, high_water)


def check_nothing_lost(stack: Stack, account: Account, tasks: set[int], tagged: set[str]) -> None:
    events = stack.real_events(account)
    refs = Counter(r for e in events.values() if (r := event_task_ref(e)) is not None)
    assert set(refs) == tasks, f"{account.email}: events for {sorted(refs)}, tasks {sorted(tasks)}"
    assert set(refs.values()) == {1}, f"{account.email}: a task has two events (R16)"
    imported = Counter(r.external_ref for r in stack.real_tasks(account).values() if r.external_ref)
    assert set(imported) == tagged, imported
    assert set(imported.values()) == {1}, f"{account.email}: an event has two tasks (R16)"


def record_load(
    stack: Stack, outcomes: Counter[str], rounds: int, high_water: dict[str, int]
) -> None:
    report: dict[str, Any] = {}
    if ARTIFACT.exists():
        report = json.loads(ARTIFACT.read_text())
    report["throttling_under_load"] = {
        "users": USERS,
        "tasks_pushed": USERS * TASKS_PER_USER,
        "events_imported": USERS * TAGGED_PER_USER,
        "request_budget_per_mailbox_per_10_min": BUDGET,
        "injected_429s_fired": stack.emulator.faults.fired.get(FaultKind.THROTTLE, 0),
        "retry_after_waits_skipped": len(stack.sleeps.seconds),
        "rounds_until_all_ok": rounds,
        "cycle_outcomes": dict(sorted(outcomes.items())),
        "max_in_flight_per_mailbox": max(high_water.values()),
    }
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    ARTIFACT.write_text(json.dumps(report, indent=2) + "\n")
