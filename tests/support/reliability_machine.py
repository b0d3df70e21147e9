"""The reliability state machine (issue 13; R1–R12b, R16, R16b, R17, R17b, R19b, R23b):
its rules and invariants, shared by the random run
(tests/property/reliability/test_reliability_machine.py) and the stories it found
(test_reliability_stories.py), which drive it step by step. `TALLY` counts what the
run's steps did, for its artifact.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from m365emu.faults import Fault, FaultKind
from s5emu.desk import TaskForm
from s5sync.sync.engine import CycleResult
from s5sync.testing.crashing import Crash
from support.reliability_model import ZONE, MEvent, MTask, UserModel
from support.reliability_oracle import (
    ARTIFACT,
    bind_new_items,
    both_sides_equal,
    from_wall,
    graph_time,
    is_write,
    wall,
)
from support.reliability_push import Notifications
from support.reliability_stack import (
    FAULT_HOLD,
    Account,
    Stack,
    Templates,
    built_stack,
    sign_in_again,
)
from support.reliability_story import (
    START,
    USERS,
    AtFold,
    FaultPlan,
    Kill,
    Pick,
    Step,
    Tally,
    When,
    Who,
    disturbances,
    faults,
    steps,
    when,
)
from support.store_damage import forget_links, forget_window, saved_delta

# The profile of this run (tests/property/conftest.py), written into the tally's artifact.
PROFILE = os.environ.get("S5SYNC_HYPOTHESIS_PROFILE", "ci")
TALLY = Tally()

users = st.integers(0, 1).map(Who)
picks = st.integers(0, 9).map(Pick)
kinds = st.sampled_from(["delivery", "customer", "customer", "service"])
titles = st.sampled_from(["Deliver sofa", "Visit Smith", "Measure kitchen", "Fit blinds"])
notes = st.sampled_from(["", "Bring samples", "Gate code 1234"])
alarms = st.sampled_from([None, 15])
subjects = st.sampled_from(
    ["Lunch", "Lunch [sync]", "[SYNC] Fitting", "Survey [Sync]", "Site visit"]
)
bodies = st.sampled_from(["", "Agenda", "Call first"])
# Graph's change notifications as they arrive (issue 19): or dropped, duplicated, held
# behind the next one, late.
NOTIFICATION_FAULTS = ("none", "drop", "duplicate", "reorder", "delay")
lengths = st.sampled_from([30, 60, 90])


# Trouble besides Graph's faults: the method that makes it, and its arguments.
GLITCHES: dict[str, tuple[str, tuple[str, ...]]] = {
    "two cycles started at once": ("two_cycles_started_at_once", ()),
    "delta link gone (410)": ("delta_link_expires", ("gone410",)),
    "delta sync state not found": ("delta_link_expires", ("syncStateNotFound",)),
    "delta resync required": ("delta_link_expires", ("resyncRequired",)),
    "System Five down for a cycle": ("system_five_down_for_a_cycle", ()),
    "mapping rows lost": ("mapping_rows_lost", ()),
    "window cache dropped": ("window_cache_dropped", ()),
    "sign-in revoked": ("sign_in_revoked", ()),
}


class Reliability(RuleBasedStateMachine):
    """Staff on both sides of several users, and the cycles between them."""

    templates: Templates

    def __init__(self) -> None:
        super().__init__()
        self.runner = asyncio.Runner()
        self.stack_cm = built_stack(
            self.templates, [f"{u}@reliability.example" for u in USERS[:2]], START
        )
        self.stack: Stack = self.runner.run(self.stack_cm.__aenter__())
        self.models = [UserModel() for _ in self.stack.accounts]
        self.now = START
        self.push = Notifications(self.stack)

    counted = True

    def teardown(self) -> None:
        try:
            if not self.counted:
                return
            for kind, n in self.stack.emulator.faults.fired.items():
                TALLY.faults_fired[str(kind)] += n
            for point in self.stack.plan.hits:
                TALLY.crash_points[point] += 1
            TALLY.counts["retry_after_waits_skipped"] += len(self.stack.sleeps.seconds)
            TALLY.counts["examples"] += 1
        finally:
            self.runner.run(self.stack_cm.__aexit__(None, None, None))
            self.runner.close()
            if self.counted:
                write_tally()

    def run(self, coro: Any) -> Any:
        return self.runner.run(coro)

    def account(self, who: Who) -> Account:
        return self.stack.accounts[who]

    # -- System Five's screens ----------------------------------------------------------

    def task_at(self, who: Who, pick: Pick) -> MTask | None:
        tasks = sorted(self.models[who].tasks.values(), key=lambda t: t.id)
        return tasks[pick % len(tasks)] if tasks else None

    def event_at(self, who: Who, pick: Pick) -> MEvent | None:
        events = sorted(self.models[who].events.values(), key=lambda e: e.id)
        return events[pick % len(events)] if events else None

    def save(self, who: Who, task: MTask, **changes: Any) -> None:
        """System Five's editor saves the task (R13: the review flag clears)."""
        for name, value in changes.items():
            setattr(task, name, value)
        task.needs_review = False
        form = TaskForm(
            task.kind,
            self.account(who).employee_id,
            None,
            task.title,
            task.notes,
            wall(task.start),
            wall(task.end),
            task.alarm,
            task.sync,
        )
        assert self.stack.desk.save_task(task.id, form)
        TALLY.counts["system_five_edits"] += 1

    @rule(
        user=users,
        kind=kinds,
        title=titles,
        note=notes,
        starts=when(),
        minutes=lengths,
        alarm=alarms,
        sync=st.booleans(),
    )
    def staff_create_task(
        self,
        user: Who,
        kind: str,
        title: str,
        note: str,
        starts: When | AtFold,
        minutes: int,
        alarm: int | None,
        sync: bool,
    ) -> None:
        instant = starts.instant() if isinstance(starts, AtFold) else self.at(starts)
        start_wall = wall(instant)
        end_wall = start_wall + timedelta(minutes=minutes)
        form = TaskForm(
            kind,
            self.account(user).employee_id,
            None,
            title,
            note,
            start_wall,
            end_wall,
            alarm,
            sync,
        )
        task_id = self.stack.desk.create_task(form)
        self.models[user].tasks[task_id] = MTask(
            task_id, kind, title, note, from_wall(start_wall), from_wall(end_wall), alarm, sync
        )
        TALLY.counts["system_five_creates"] += 1

    @rule(user=users, which=picks, title=titles)
    def staff_rename_task(self, user: Who, which: Pick, title: str) -> None:
        task = self.task_at(user, which)
        if task is not None:
            self.save(user, task, title=title)

    @rule(user=users, which=picks, minutes=st.sampled_from([-90, 30, 24 * 60, 20 * 24 * 60]))
    def staff_move_task(self, user: Who, which: Pick, minutes: int) -> None:
        task = self.task_at(user, which)
        if task is not None:
            shift = timedelta(minutes=minutes)
            start, end = wall(task.start) + shift, wall(task.end) + shift
            self.save(user, task, start=from_wall(start), end=from_wall(end))

    @rule(user=users, which=picks, sync=st.booleans())
    def staff_tick_or_untick_sync(self, user: Who, which: Pick, sync: bool) -> None:
        task = self.task_at(user, which)
        if task is not None:
            self.save(user, task, sync=sync)

    @rule(user=users, which=picks, kind=st.sampled_from(["delivery", "customer"]))
    def staff_make_task_a_synced_visit(self, user: Who, which: Pick, kind: str) -> None:
        """R12d: an imported task turned into a Customer or Delivery task with Sync."""
        task = self.task_at(user, which)
        if task is not None:
            self.save(user, task, kind=kind, sync=True)

    @rule(user=users, which=picks)
    def staff_open_and_save_task(self, user: Who, which: Pick) -> None:
        task = self.task_at(user, which)
        if task is not None:
            self.save(user, task)

    @rule(user=users, which=picks)
    def staff_delete_task(self, user: Who, which: Pick) -> None:
        task = self.task_at(user, which)
        if task is not None:
            assert self.stack.desk.delete_task(task.id)
            del self.models[user].tasks[task.id]
            TALLY.counts["system_five_deletes"] += 1

    # -- Outlook ----------------------------------------------------------------------

    @rule(
        user=users,
        subject=subjects,
        body=bodies,
        starts=when(),
        minutes=lengths,
        reminder=alarms,
    )
    def user_create_event(
        self,
        user: Who,
        subject: str,
        body: str,
        starts: When | AtFold,
        minutes: int,
        reminder: int | None,
    ) -> None:
        start = starts.instant() if isinstance(starts, AtFold) else self.at(starts)
        end = start + timedelta(minutes=minutes)
        event_id = self.run(
            self.account(user).outlook.creates(
                subject,
                start,
                end,
                body=body,
                isReminderOn=reminder is not None,
                reminderMinutesBeforeStart=reminder or 0,
            )
        )
        self.models[user].events[event_id] = MEvent(event_id, subject, body, start, end, reminder)
        TALLY.counts["outlook_creates"] += 1

    @rule(user=users, which=picks, subject=subjects)
    def user_retitle_event(self, user: Who, which: Pick, subject: str) -> None:
        event = self.event_at(user, which)
        if event is not None:
            self.run(self.account(user).outlook.edits(event.id, subject=subject))
            event.subject = subject
            TALLY.counts["outlook_edits"] += 1

    @rule(user=users, which=picks, minutes=st.sampled_from([-90, 45, 24 * 60, 20 * 24 * 60]))
    def user_move_event(self, user: Who, which: Pick, minutes: int) -> None:
        event = self.event_at(user, which)
        if event is not None:
            event.start += timedelta(minutes=minutes)
            event.end += timedelta(minutes=minutes)
            self.run(
                self.account(user).outlook.edits(
                    event.id, start=graph_time(event.start), end=graph_time(event.end)
                )
            )
            TALLY.counts["outlook_edits"] += 1

    @rule(user=users, which=picks)
    def user_delete_event(self, user: Who, which: Pick) -> None:
        event = self.event_at(user, which)
        if event is not None:
            self.run(self.account(user).outlook.deletes(event.id))
            del self.models[user].events[event.id]
            TALLY.counts["outlook_deletes"] += 1

    # -- time ---------------------------------------------------------------------------

    def at(self, starts: When) -> datetime:
        return (self.now + timedelta(minutes=starts.minutes)).replace(second=0, microsecond=0)

    @rule(step=steps())
    def clock_moves(self, step: Step) -> None:
        target = self.target_time(step)
        if target is None or target <= self.now:
            target = self.now + timedelta(minutes=10)
        before = self.now
        self.now = target
        self.stack.set_now(target)
        TALLY.counts[f"clock_step_{step.kind}"] += 1
        if wall(before).date() != wall(target).date():
            TALLY.counts["midnights_crossed"] += 1
        if before < START.replace(day=1, month=11, hour=6) <= target:
            TALLY.counts["dst_changes_crossed"] += 1

    def target_time(self, step: Step) -> datetime | None:
        if step.kind == "by":
            return self.now + timedelta(minutes=step.minutes)
        if step.kind == "midnight":
            local = self.now.astimezone(ZONE)
            tomorrow = (local + timedelta(days=1)).replace(hour=0, minute=1, second=0)
            return from_wall(tomorrow.replace(tzinfo=None))
        if step.kind == "dst":
            return START.replace(day=1, month=11, hour=6) + timedelta(minutes=step.minutes)
        items: list[datetime] = []
        for model in self.models:
            if step.kind == "task_start":
                items += [t.start for t in model.tasks.values()]
            else:
                items += [e.end - timedelta(days=14) for e in model.events.values()]
        if not items:
            return None
        items.sort()
        return items[step.target % len(items)] + timedelta(minutes=step.minutes)

    # -- cycles -------------------------------------------------------------------------

    @rule(user=users, glitch=st.sampled_from(sorted(GLITCHES)))
    def something_goes_wrong(self, user: Who, glitch: str) -> None:
        """Trouble besides Graph's faults: lost or expired state, a side down, a revoked
        sign-in, a double start."""
        method, args = GLITCHES[glitch]
        getattr(self, method)(user, *args)

    @rule(user=users, disturbance=disturbances())
    def sync_cycle(self, user: Who, disturbance: FaultPlan | Kill | None) -> None:
        if isinstance(disturbance, FaultPlan):
            self.sync_cycle_with_fault(user, disturbance)
        elif isinstance(disturbance, Kill):
            self.sync_cycle_killed_at_write(user, disturbance.nth, disturbance.after)
        else:
            self.settle(user)

    @rule(fault=st.sampled_from(NOTIFICATION_FAULTS))
    def notified_cycles(self, fault: str) -> None:
        """R14b: Graph's change notifications — or dropped, duplicated, reordered, late —
        wake the cycles of the users whose calendars changed, and nobody else's; each
        woken cycle is a clean one (the oracle, then an idle one: R17). A dropped
        notification leaves its change to a later cycle (the safety net); meanwhile
        nothing is lost or doubled (the invariant after every step)."""
        for account in self.stack.accounts:
            self.run(self.push.ensure(account))
        if fault != "none":
            self.stack.emulator.faults.add(
                Fault("POST", "*/graph/notifications", FaultKind(fault), delay_seconds=0.01)
            )
        changed = self.push.changed_users()
        woken, caught_up = self.run(self.push.deliver())
        self.stack.emulator.faults.clear()
        TALLY.counts[f"notifications_{fault}"] += 1
        assert woken <= changed, (woken, changed)  # a notification wakes only its user
        if fault != "drop":
            assert woken == changed, (woken, changed)  # none lost on the way in
        assert "forged" not in self.push.intake_results(), self.push.results
        for who, account in enumerate(self.stack.accounts):
            if account.record.id in woken | caught_up:
                TALLY.counts["notified_cycles"] += 1
                self.settle(Who(who))

    def two_cycles_started_at_once(self, user: Who) -> None:
        """R16: the lease lets one run; the other says busy and writes nothing."""
        account = self.account(user)

        async def both() -> list[CycleResult]:
            return list(await asyncio.gather(self.stack.cycle(account), self.stack.cycle(account)))

        outcomes = sorted(r.outcome for r in self.run(both()))
        TALLY.counts["concurrent_cycle_pairs"] += 1
        assert outcomes in (["busy", "ok"], ["ok", "ok"]), outcomes
        self.models[user].view = self.view_of(user)
        self.models[user].sync(self.now)
        self.bind(user)
        self.check_all()

    def busy_user(self, user: Who) -> Who:
        """A user whose next cycle must write, when there is one (the model says so):
        faults and crashes bite there."""
        writing = [Who(w) for w in range(len(self.models)) if self.must_write(Who(w))]
        return user if user in writing or not writing else writing[0]

    def must_write(self, user: Who) -> bool:
        model = self.models[user]
        after = copy.deepcopy(model)
        after.sync(self.now)
        return (after.tasks, after.events) != (model.tasks, model.events)

    @rule(user=users, fault=faults())
    def sync_cycle_with_fault(self, user: Who, fault: FaultPlan) -> None:
        """R17b, R23b: Graph fails as told; the next clean cycle converges."""
        user = self.busy_user(user)
        self.stack.emulator.faults.add(fault.fault(FAULT_HOLD))
        TALLY.faults_armed[fault.kind] += 1
        result = self.run(self.stack.cycle(self.account(user)))
        why = f" ({(result.error or '')[:90]})" if result.outcome == "failed" else ""
        TALLY.outcomes[f"with fault: {result.outcome}{why}"] += 1
        self.stack.emulator.faults.clear()
        self.settle(user, recovering=True)

    def delta_link_expires(self, user: Who, kind: str) -> None:
        """DESIGN 'Reading Outlook': 410 Gone and friends mean a full re-read."""
        self.stack.parts.state.expire_delta(self.account(user).mailbox_key, kind)
        TALLY.faults_armed[f"delta_{kind}"] += 1

    @rule(user=users, nth=st.integers(1, 2), after=st.booleans())
    def sync_cycle_killed_at_write(self, user: Who, nth: int, after: bool) -> None:
        """R16: a crash at any write point, then the next cycle, never duplicates."""
        user = self.busy_user(user)
        self.stack.plan.arm(nth, after=after)
        try:
            result: CycleResult = self.run(self.stack.cycle(self.account(user)))
            TALLY.outcomes[f"crash armed, not reached: {result.outcome}"] += 1
        except Crash:
            TALLY.counts["crashes"] += 1
            self.run(self.stack.free_lease(self.account(user)))
        self.stack.plan.disarm()
        self.settle(user, recovering=True)

    def system_five_down_for_a_cycle(self, user: Who) -> None:
        """R17b: without System Five nothing is decided, nothing written on either side."""
        self.stack.plan.system_five_down = True
        try:
            result = self.run(self.stack.cycle(self.account(user)))
        finally:
            self.stack.plan.system_five_down = False
        TALLY.outcomes[f"System Five down: {result.outcome}"] += 1
        assert result.outcome == "partial", result
        assert result.wrote == 0, result.decisions
        self.check_all()

    def mapping_rows_lost(self, user: Who) -> None:
        """R16b: a lost CALENDAREVENT database never produces a duplicate."""
        self.run(forget_links(self.stack.services, self.stack.tenant.id, self.uid(user)))
        self.models[user].forget_pairs()
        TALLY.counts["mappings_lost"] += 1

    def window_cache_dropped(self, user: Who) -> None:
        """After a re-baseline, absence is not deletion."""
        self.run(forget_window(self.stack.services, self.stack.tenant.id, self.uid(user)))
        TALLY.counts["caches_dropped"] += 1

    def sign_in_revoked(self, user: Who) -> None:
        """R19b: that user's cycle stops with nothing written; nobody else is affected."""
        account = self.account(user)
        self.stack.emulator.directory.revoke(account.emu_user, self.now)
        result = self.run(self.stack.cycle(account))
        assert result.outcome == "needs_sign_in", result
        TALLY.counts["revocations"] += 1
        self.check_all()
        self.settle(Who(1 - user))  # nobody else is affected
        sign_in_again(self.stack, account)

    def view_of(self, user: Who) -> tuple[datetime, datetime] | None:
        """The delta window the user's last cycle read (the model's `in_view`)."""
        record = self.run(saved_delta(self.stack.services, self.stack.tenant.id, self.uid(user)))
        return None if record is None else (record.window_start, record.window_end)

    def uid(self, user: Who) -> int:
        return self.account(user).record.id

    # -- the oracle -----------------------------------------------------------------------

    def settle(self, user: Who, *, recovering: bool = False) -> None:
        """A clean cycle: both sides become what the model says; then an idle cycle."""
        account = self.account(user)
        before = self.mailbox_requests(account)
        result = self.run(self.stack.cycle(account))
        sent = self.mailbox_requests(account) - before
        TALLY.outcomes[result.outcome] += 1
        TALLY.counts["recoveries" if recovering else "clean_cycles"] += 1
        assert result.outcome == "ok", (result.outcome, result.error)
        model = self.models[user]
        model.view = self.view_of(user)
        model.sync(self.now)
        self.bind(user)
        self.check_all()
        self.idle(user, wrote_to_outlook=any(is_write(route) for route in sent))

    def idle(self, user: Who, *, wrote_to_outlook: bool) -> None:
        """R17: our own writes are not changes; an idle cycle writes nothing (R23b: and
        costs one request when nothing at all changed)."""
        account = self.account(user)
        stamps = {i: r.updated_at for i, r in self.stack.real_tasks(account).items()}
        before = self.mailbox_requests(account)
        result = self.run(self.stack.cycle(account))
        TALLY.counts["idle_cycles"] += 1
        assert result.outcome == "ok", (result.outcome, result.error)
        assert result.wrote == 0, [type(d).__name__ for d in result.decisions]
        sent = self.mailbox_requests(account) - before
        writes = {k: n for k, n in sent.items() if is_write(k)}
        assert not writes, f"an idle cycle wrote to Outlook: {writes}"
        after = {i: r.updated_at for i, r in self.stack.real_tasks(account).items()}
        assert after == stamps, "an idle cycle saved tasks in System Five"
        if not wrote_to_outlook:
            trips = sum(result.requests.values())
            assert trips == 1, f"an idle cycle cost {trips} Graph requests: {result.requests}"
        self.check_all()

    def mailbox_requests(self, account: Account) -> Counter[str]:
        counts: Counter[str] = Counter()
        for (mailbox, route), n in self.stack.emulator.stats.requests.items():
            if mailbox == account.mailbox_key:
                counts[route] += n
        return counts

    def bind(self, user: Who) -> None:
        bind_new_items(self.stack, self.account(user), self.models[user])

    @invariant()
    def both_sides_equal_the_model(self) -> None:
        TALLY.counts["steps"] += 1
        self.check_all()

    def check_all(self) -> None:
        for who, model in enumerate(self.models):
            self.check(Who(who), model)

    def check(self, user: Who, model: UserModel) -> None:
        both_sides_equal(self.stack, self.account(user), model, USERS[user])


def write_tally() -> None:
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    ARTIFACT.write_text(json.dumps({"profile": PROFILE, **TALLY.as_json()}, indent=2) + "\n")
