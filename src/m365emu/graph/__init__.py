"""The Graph v1.0 calendar API of the emulator (issue 5), laid out like moto:
`<resource>/{models,routes,errors}.py` for me, events, master_categories and batch, and
`common/` for what they share. `create_graph_router` is the entry point."""

from __future__ import annotations

from m365emu.graph.events.delta import DeltaExpiry
from m365emu.graph.router import create_graph_router
from m365emu.graph.state import GraphRuntime, GraphState

__all__ = ["DeltaExpiry", "GraphRuntime", "GraphState", "create_graph_router"]
