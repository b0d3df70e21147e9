"""Errors of /me: none of its own; token and scope errors come from graph.common."""

from __future__ import annotations

from m365emu.graph.common.errors import access_denied

__all__ = ["access_denied"]
