"""Fixtures of the Graph integration tests (the harness lives in graph_harness.py)."""

from __future__ import annotations

from support.graph_harness import graph

__all__ = ["graph"]
