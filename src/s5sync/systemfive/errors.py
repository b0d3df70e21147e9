"""The System Five connector's exceptions (one tree), with messages an administrator can act on.

SystemFiveError            the store's System Five database refused an operation
├── UnknownEmployee        an imported task for an employee that does not exist (R20)
└── UnreadableTask         a task row whose times or kind System Five's format cannot
                           explain; the adapter skips it and logs why (R23)
"""

from __future__ import annotations


class SystemFiveError(RuntimeError):
    """The store's System Five database refused an operation."""


class SystemFiveUnavailable(SystemFiveError):
    """The database cannot be reached or failed: stop the directions that need it (R17b)."""


class SystemFiveRefused(SystemFiveError):
    """A constraint of the store's schema refused the values written (R23: reported)."""


class UnknownEmployee(SystemFiveError):
    """The employee does not exist in System Five (unmapped or removed, R20)."""


class UnreadableTask(SystemFiveError):
    """A task row whose times or kind cannot be read (skipped and logged, R23)."""
