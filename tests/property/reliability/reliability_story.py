"""Values the reliability machine draws, with reprs that read as words, so that a failing
example prints as a story: `state.staff_create_task(user=alice, kind='delivery',
starts=in 2 days 3:00, …)`.
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
    """A start relative to the cycle clock."""

    minutes: int

    def __repr__(self) -> str:
        sign = "in" if self.minutes >= 0 else "ago"
        days, rest = divmod(abs(self.minutes), 24 * 60)
        text = (
            f"{days}d {rest // 60}h{rest % 60:02d}m" if days else f"{rest // 60}h{rest % 60:02d}m"
        )
        return f"{text} {sign}" if sign == "ago" else f"in {text}"


@dataclass(frozen=True)
class AtFold:
    """In the hour New York lives twice (R23: System Five keeps wall time only)."""

    second: bool

    def __repr__(self) -> str:
        return "at 01:30 EST (the repeated hour)" if self.second else "at 01:30 EDT"

    def instant(self) -> datetime:
        return CLOCKS_GO_BACK + (timedelta(minutes=30) if self.second else -timedelta(minutes=30))


@dataclass(frozen=True)
class Step:
    """A move of the cycle clock."""

    kind: str
    minutes: int = 0
    target: int = 0

    def __repr__(self) -> str:
        if self.kind == "by":
            return f"forward {When(self.minutes)!r}".replace("forward in ", "forward ")
        if self.kind == "midnight":
            return "to 00:01 next night in New York"
        if self.kind == "dst":
            return f"to {self.minutes:+d} min around the clocks going back"
        if self.kind == "task_start":
            return f"to {self.minutes:+d} min around the start of task #{self.target}"
        return f"to {self.minutes:+d} min around event #{self.target} entering the 14-day window"


def when() -> st.SearchStrategy[When | AtFold]:
    return st.one_of(
        st.builds(When, st.integers(-120, 240).map(lambda m: m - m % 5)),
        st.builds(When, st.integers(1, 30).map(lambda d: d * 24 * 60 + 60)),
        st.builds(When, st.integers(-40, 40).map(lambda m: 14 * 24 * 60 - 60 + m)),
        st.builds(AtFold, st.booleans()),
    )


def steps() -> st.SearchStrategy[Step]:
    return st.one_of(
        st.builds(Step, st.just("by"), st.sampled_from([10, 60, 6 * 60, 24 * 60, 3 * 24 * 60])),
        st.just(Step("midnight")),
        st.builds(Step, st.just("dst"), st.sampled_from([-61, -1, 1, 59, 61])),
        st.builds(Step, st.just("task_start"), st.sampled_from([-1, 1]), st.integers(0, 9)),
        st.builds(Step, st.just("window_edge"), st.sampled_from([-1, 1]), st.integers(0, 9)),
    )


@dataclass(frozen=True)
class FaultPlan:
    """A fault armed on the emulator's FaultBook before a cycle."""

    kind: str
    method: str
    path: str
    count: int
    retry_after: int = 1
    status: int = 503

    def __repr__(self) -> str:
        what = {
            "throttle": f"429 Retry-After {self.retry_after}s",
            "error": f"{self.status}",
            "timeout": "a timeout",
            "applied_then_timeout": "applied then timed out",
        }[self.kind]
        return f"{what} ×{self.count} on {self.method} {self.path}"

    def fault(self, hold: float) -> Fault:
        return Fault(
            self.method,
            self.path,
            FaultKind(self.kind),
            status=429 if self.kind == "throttle" else self.status,
            retry_after=self.retry_after,
            count=self.count,
            timeout_seconds=hold,
        )


ROUTES = [
    ("GET", "/me/calendarView/delta"),
    ("POST", "/$batch"),
    ("POST", "/me/events"),
    ("PATCH", "/me/events/*"),
    ("GET", "/me/events/*"),
    ("GET", "/me/events"),
    ("*", "/me/outlook/masterCategories"),
]


def faults() -> st.SearchStrategy[FaultPlan]:
    route = st.sampled_from(ROUTES)
    return st.one_of(
        st.builds(
            lambda r, n, wait: FaultPlan("throttle", r[0], r[1], n, retry_after=wait),
            route,
            st.integers(1, 6),
            st.sampled_from([1, 5, 120]),
        ),
        st.builds(
            lambda r, n, s: FaultPlan("error", r[0], r[1], n, status=s),
            route,
            st.integers(1, 6),
            st.sampled_from([500, 502, 503, 504]),
        ),
        st.builds(lambda r: FaultPlan("timeout", r[0], r[1], 1), route),
        st.builds(
            lambda r, n: FaultPlan("applied_then_timeout", r[0], r[1], n), route, st.integers(1, 2)
        ),
    )


@dataclass(frozen=True)
class Kill:
    """The process killed at the cycle's n-th write, before or after it was applied."""

    nth: int
    after: bool

    def __repr__(self) -> str:
        return f"killed {'after' if self.after else 'before'} write {self.nth}"


def kills() -> st.SearchStrategy[Kill]:
    return st.builds(Kill, st.integers(1, 2), st.booleans())


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
