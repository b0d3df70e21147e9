"""Values the reliability machine draws, named so that a failing example prints as a
story: `state.staff_create_task(user=alice, kind='delivery', starts=When(minutes=2940),
…)`, `state.sync_cycle(user=bruno, disturbance=Kill(nth=1, after=True))`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from m365emu.faults import Fault, FaultKind

START = datetime(2026, 10, 28, 14, 0, tzinfo=UTC)  # 10:00 in New York
CLOCKS_GO_BACK = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)  # 02:00 EDT → 01:00 EST
USERS = ("alice", "bruno", "chen")


class Who(int):
    def __repr__(self) -> str:
        return USERS[self]


class Pick(int):
    """The n-th item (modulo how many there are) of the user's tasks or events."""

    def __repr__(self) -> str:
        return f"#{int(self)}"


@dataclass(frozen=True)
class When:
    """A start `minutes` after the cycle clock (negative: already started)."""

    minutes: int


@dataclass(frozen=True)
class AtFold:
    """In the hour New York lives twice (R23: System Five keeps wall time only)."""

    second: bool

    def instant(self) -> datetime:
        return CLOCKS_GO_BACK + (timedelta(minutes=30) if self.second else -timedelta(minutes=30))


@dataclass(frozen=True)
class Step:
    """A move of the cycle clock: `by` minutes, to 00:01 next `midnight` in New York,
    `minutes` around the clocks going back (`dst`), around the `target`-th task's start
    (`task_start`, R2's edge) or event's entry into the 14-day window (`window_edge`)."""

    kind: str
    minutes: int = 0
    target: int = 0


def when() -> st.SearchStrategy[When | AtFold]:
    return st.one_of(
        st.builds(When, minutes=st.integers(-120, 240).map(lambda m: m - m % 5)),
        st.builds(When, minutes=st.integers(1, 30).map(lambda d: d * 24 * 60 + 60)),
        st.builds(When, minutes=st.integers(-40, 40).map(lambda m: 14 * 24 * 60 - 60 + m)),
        st.builds(AtFold, second=st.booleans()),
    )


def steps() -> st.SearchStrategy[Step]:
    return st.one_of(
        st.builds(
            Step,
            kind=st.just("by"),
            minutes=st.sampled_from([10, 60, 6 * 60, 24 * 60, 3 * 24 * 60]),
        ),
        st.builds(Step, kind=st.just("midnight")),
        st.builds(Step, kind=st.just("dst"), minutes=st.sampled_from([-61, -1, 1, 59, 61])),
        st.builds(
            Step,
            kind=st.sampled_from(["task_start", "window_edge"]),
            minutes=st.sampled_from([-1, 1]),
            target=st.integers(0, 9),
        ),
    )


@dataclass(frozen=True)
class FaultPlan:
    """A fault armed on the emulator's FaultBook before a cycle (`route`: "METHOD /path")."""

    kind: str
    route: str
    count: int = 1
    retry_after: int = 1
    status: int = 503

    def fault(self, hold: float) -> Fault:
        method, path = self.route.split(" ", 1)
        return Fault(
            method,
            path,
            FaultKind(self.kind),
            status=429 if self.kind == "throttle" else self.status,
            retry_after=self.retry_after,
            count=self.count,
            timeout_seconds=hold,
        )


# The routes every cycle or write takes come twice: a fault there is likelier to fire.
ROUTES = [
    "GET /me/calendarView/delta",
    "GET /me/calendarView/delta",
    "POST /$batch",
    "POST /$batch",
    "POST /me/events",
    "POST /me/events",
    "PATCH /me/events/*",
    "PATCH /me/events/*",
    "GET /me/events/*",
    "GET /me/events",
    "* /me/outlook/masterCategories",
]


def faults() -> st.SearchStrategy[FaultPlan]:
    route = st.sampled_from(ROUTES)
    return st.one_of(
        st.builds(
            FaultPlan,
            kind=st.just("throttle"),
            route=route,
            count=st.integers(1, 6),
            retry_after=st.sampled_from([1, 5, 120]),
        ),
        st.builds(
            FaultPlan,
            kind=st.just("error"),
            route=route,
            count=st.integers(1, 6),
            status=st.sampled_from([500, 502, 503, 504]),
        ),
        st.builds(FaultPlan, kind=st.just("timeout"), route=route),
        st.builds(
            FaultPlan,
            kind=st.just("applied_then_timeout"),
            route=route,
            count=st.integers(1, 2),
        ),
    )


@dataclass(frozen=True)
class Kill:
    """The process killed at the cycle's n-th write, before or after it was applied."""

    nth: int
    after: bool


def kills() -> st.SearchStrategy[Kill]:
    return st.builds(Kill, nth=st.integers(1, 2), after=st.booleans())


def disturbances() -> st.SearchStrategy[FaultPlan | Kill | None]:
    return st.one_of(st.none(), faults(), kills())


class Tally:
    """What a run exercised, for test-artifacts/reliability.json and docs/reliability.md."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.faults_armed: Counter[str] = Counter()
        self.faults_fired: Counter[str] = Counter()
        self.crash_points: Counter[str] = Counter()
        self.outcomes: Counter[str] = Counter()

    def as_json(self) -> dict[str, Any]:
        return {
            "counts": dict(sorted(self.counts.items())),
            "faults_armed": dict(sorted(self.faults_armed.items())),
            "faults_fired": dict(sorted(self.faults_fired.items())),
            "crash_points": dict(sorted(self.crash_points.items())),
            "cycle_outcomes": dict(sorted(self.outcomes.items())),
        }
