"""The emulator's clock: real time unless a test or demo sets it (`PUT /_emulator/clock`).

Token expiry and the Outlook page's "today" read it; calendar data never moves with it.
"""

from __future__ import annotations

from datetime import UTC, datetime


class EmulatorClock:
    """Real UTC time, or a fixed instant set through the control plane."""

    def __init__(self) -> None:
        self._fixed: datetime | None = None

    def now(self) -> datetime:
        return self._fixed if self._fixed is not None else datetime.now(UTC)

    def set(self, instant: datetime) -> None:
        if instant.tzinfo is None:
            instant = instant.replace(tzinfo=UTC)
        self._fixed = instant.astimezone(UTC)

    def clear(self) -> None:
        self._fixed = None

    @property
    def is_fixed(self) -> bool:
        return self._fixed is not None
