"""The oracle: a small model of SPEC.md's rules saying what each side must hold after a
completed cycle (issue 13).

It knows one user's tasks, events and pairs as plain values, is told every change made
on either side, and `sync(now)` applies the rules the obvious way:
- R1/R2: a Customer or Delivery task with Sync ticked, starting after `now`, with no
  event yet, gets exactly one event (subject = title, body = notes, times, reminder =
  alarm, the task's identity);
- R5/R6/R7: a paired task that changed overwrites its event's owned fields (keeping the
  user's tag) while it may be pushed; an unticked or started task leaves its event as it
  is; Outlook edits to an untagged event stay in Outlook;
- R8/R9: a tagged event starting after `now` and ending at most 14 days after it, with
  no task yet, becomes one Outlook task (title without the tag, needs-review);
- R10/R12/R12b: a changed tagged event that may be imported overwrites its task, which
  is flagged needs-review (Outlook wins a conflict);
- R6/R11: nothing is ever deleted; R7b/R11b: a pair whose event (task) was deleted never
  gets a new event (task);
- R16b: after the mapping is lost, pairs are found again by the identities both sides
  carry (an event's task, a task's `external_ref`); what was only known from the lost
  rows (R7b/R11b) is forgotten, as SPEC allows.
Times of System Five are wall-clock in the store's zone, so an instant in the hour that
repeats when clocks go back reads back as the first one (`fold0`).
New items s5sync must create get a placeholder id; `bind` names them from the real sides.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

TAG = "[sync]"
WINDOW = timedelta(days=14)
ZONE = ZoneInfo("America/New_York")
PUSHED_KINDS = ("customer", "delivery")


def fold0(instant: datetime) -> datetime:
    """The instant System Five gives back after storing `instant` as wall-clock time."""
    wall = instant.astimezone(ZONE).replace(tzinfo=None)
    return wall.replace(tzinfo=ZONE, fold=0).astimezone(UTC)


def has_tag(subject: str) -> bool:
    return TAG in subject.casefold()


def without_tag(subject: str) -> str:
    lowered = subject.casefold()
    at = lowered.find(TAG)
    if at < 0:
        return subject.strip()
    rest = without_tag(subject[at + len(TAG) :])
    return " ".join(p for p in (subject[:at].strip(), rest) if p)


def with_kept_tag(title: str, previous: str) -> str:
    """R12: the user's tag stays where it was, as they wrote it."""
    at = previous.casefold().find(TAG)
    if at < 0:
        return title
    written = previous[at : at + len(TAG)]
    return f"{written} {title}" if not previous[:at].strip() else f"{title} {written}"


@dataclass
class MTask:
    id: int
    kind: str
    title: str
    notes: str
    start: datetime
    end: datetime
    alarm: int | None
    sync: bool
    needs_review: bool = False
    external_ref: str | None = None

    def owned(self) -> tuple[object, ...]:
        return (self.title, self.notes, self.start, self.end, self.alarm, self.kind, self.sync)

    def pushable(self, now: datetime) -> bool:
        return self.kind in PUSHED_KINDS and self.sync and self.start > now


@dataclass
class MEvent:
    id: str
    subject: str
    body: str
    start: datetime
    end: datetime
    reminder: int | None
    task_ref: int | None = None

    def owned(self) -> tuple[object, ...]:
        return (self.subject, self.body, self.start, self.end, self.reminder)

    def importable(self, now: datetime) -> bool:
        return has_tag(self.subject) and self.start > now and self.end <= now + WINDOW


@dataclass
class MPair:
    task_id: int
    event_id: str
    origin: str  # s5 | outlook
    state: str = "active"  # active | outlook_deleted | task_deleted
    task_seen: tuple[object, ...] | None = None
    event_seen: tuple[object, ...] | None = None


@dataclass
class UserModel:
    """One user's two sides and pairs, as SPEC says they must be."""

    tasks: dict[int, MTask] = field(default_factory=dict)
    events: dict[str, MEvent] = field(default_factory=dict)
    pairs: list[MPair] = field(default_factory=list)
    new_events: dict[str, int] = field(default_factory=dict)  # placeholder → task id
    new_tasks: dict[int, str] = field(default_factory=dict)  # placeholder → event id
    made: int = 0
    # The delta window s5sync read in the cycle being judged (set before `sync`).
    view: tuple[datetime, datetime] | None = None

    def pair_of_task(self, task_id: int) -> MPair | None:
        return next((p for p in self.pairs if p.task_id == task_id), None)

    def pair_of_event(self, event_id: str) -> MPair | None:
        return next((p for p in self.pairs if p.event_id == event_id), None)

    def forget_pairs(self) -> None:
        """The CALENDAREVENT rows are lost: only the identities on both sides remain."""
        self.pairs.clear()

    # -- the rules ----------------------------------------------------------------------

    def sync(self, now: datetime) -> None:
        self._adopt(now)
        for pair in sorted(self.pairs, key=lambda p: p.task_id):
            if pair.state == "active":
                self._pair(pair, now)
        for task in sorted(self.tasks.values(), key=lambda t: t.id):
            if self.pair_of_task(task.id) is None and task.pushable(now):
                self._push_new(task)
        for event in sorted(self.events.values(), key=lambda e: e.id):
            orphan = event.task_ref is not None and event.task_ref not in self.tasks
            if self.pair_of_event(event.id) is None and not orphan and event.importable(now):
                self._import_new(event)

    def _adopt(self, now: datetime) -> None:
        """R16b: pairs found again from the identities both sides carry. A pair known from
        both sides (an imported task later pushed, R12d) is taken from the event's side —
        the task then pushes again (R5) — while the task is still pushed; otherwise from
        the task's side, with both sides as they are now (issue 23: a staff edit made
        meanwhile survives) — a task about to be pushed at once (s5sync reads its event),
        any other once its tagged event is in the window s5sync reads."""
        for event in sorted(self.events.values(), key=lambda e: e.id):
            ref = event.task_ref
            if ref is None or self.pair_of_event(event.id) or ref not in self.tasks:
                continue
            task = self.tasks[ref]
            if task.external_ref == event.id and not task.pushable(now):
                continue
            if self.pair_of_task(ref) is not None:
                continue  # a copy: a plain event
            origin = "outlook" if self.tasks[ref].external_ref == event.id else "s5"
            self.pairs.append(MPair(ref, event.id, origin, event_seen=event.owned()))
        for task in sorted(self.tasks.values(), key=lambda t: t.id):
            event_ref = task.external_ref
            if event_ref is None or self.pair_of_task(task.id) or self.pair_of_event(event_ref):
                continue
            named = self.events.get(event_ref)
            if named is None:
                continue  # R12d, R16b: names no event — sent as a new one when pushed
            if not task.pushable(now) and not (has_tag(named.subject) and self.in_view(named)):
                continue  # found once its tagged event is in the window s5sync reads
            # Issue 23: both sides as they are now; a change of both since follows R12b.
            self.pairs.append(
                MPair(
                    task.id, event_ref, "outlook", task_seen=task.owned(), event_seen=named.owned()
                )
            )

    def in_view(self, event: MEvent) -> bool:
        """Whether the event lies in the window s5sync read this cycle (its delta window)."""
        if self.view is None:
            return False
        start, end = self.view
        return event.end > start and event.start < end

    def _pair(self, pair: MPair, now: datetime) -> None:
        task = self.tasks.get(pair.task_id)
        event = self.events.get(pair.event_id)
        if task is None:
            pair.state = "task_deleted"  # R6, R11b: the event stays, never imported again
            return
        if event is None:
            pair.state = "outlook_deleted"  # R7b: the task stays, never pushed again
            return
        task_changed = task.owned() != pair.task_seen
        event_changed = event.owned() != pair.event_seen
        if event_changed and has_tag(event.subject):
            if event.importable(now):
                self._import_into(task, event)  # R10, R12, R12b: Outlook wins
                pair.task_seen, pair.event_seen = task.owned(), event.owned()
                return
            # Outside the window or started: decided again as time passes (R8).
        elif event_changed:
            pair.event_seen = event.owned()  # R7: not sent back without the tag
        if task_changed:
            if task.pushable(now):
                self._push_into(task, event)
                pair.event_seen = event.owned()
            pair.task_seen = task.owned()  # R6: unticked or started, the event stays

    @staticmethod
    def _push_into(task: MTask, event: MEvent) -> None:
        event.subject = with_kept_tag(task.title.strip() or "(no title)", event.subject)
        event.body, event.start, event.end, event.reminder = (
            task.notes,
            task.start,
            task.end,
            task.alarm,
        )
        event.task_ref = task.id

    @staticmethod
    def _import_into(task: MTask, event: MEvent) -> None:
        task.title = without_tag(event.subject) or "(no title)"
        task.notes = event.body
        task.start, task.end = fold0(event.start), fold0(event.end)
        task.alarm = event.reminder
        task.needs_review = True

    def _push_new(self, task: MTask) -> None:
        self.made += 1
        placeholder = f"(new event {self.made} for task {task.id})"
        event = MEvent(placeholder, "", "", task.start, task.end, None)
        self._push_into(task, event)
        self.events[placeholder] = event
        self.new_events[placeholder] = task.id
        self.pairs.append(MPair(task.id, placeholder, "s5", "active", task.owned(), event.owned()))

    def _import_new(self, event: MEvent) -> None:
        self.made += 1
        placeholder = -self.made
        task = MTask(placeholder, "outlook", "", "", event.start, event.end, None, False)
        self._import_into(task, event)
        task.external_ref = event.id
        self.tasks[placeholder] = task
        self.new_tasks[placeholder] = event.id
        self.pairs.append(
            MPair(placeholder, event.id, "outlook", "active", task.owned(), event.owned())
        )

    # -- naming what s5sync created -----------------------------------------------------

    def bind_event(self, placeholder: str, real_id: str) -> None:
        event = self.events.pop(placeholder)
        self.events[real_id] = replace(event, id=real_id)
        for pair in self.pairs:
            if pair.event_id == placeholder:
                pair.event_id = real_id
        del self.new_events[placeholder]

    def bind_task(self, placeholder: int, real_id: int) -> None:
        task = self.tasks.pop(placeholder)
        self.tasks[real_id] = replace(task, id=real_id)
        for pair in self.pairs:
            if pair.task_id == placeholder:
                pair.task_id = real_id
        for event in self.events.values():
            if event.task_ref == placeholder:
                event.task_ref = real_id
        del self.new_tasks[placeholder]
