"""Fixtures of the browser tests (the server harness lives in outlook_harness.py)."""

from __future__ import annotations

from support.outlook_harness import outlook_server

__all__ = ["outlook_server"]
