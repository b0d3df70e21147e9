"""Fixtures of the Outlook connector's integration tests (graph_adapter_harness.py)."""

from __future__ import annotations

from support.graph_adapter_harness import emu

__all__ = ["emu"]
