"""Fixtures of the Graph integration tests (the harnesses live in graph_harness.py and
notification_harness.py)."""

from __future__ import annotations

from support.graph_harness import graph
from support.notification_harness import notified

__all__ = ["graph", "notified"]
