"""An Outlook-like calendar page per signed-in user (issue 4 item 5): week and agenda
views, and a form to create, edit and delete events. It edits the same mailbox state the
Graph API serves, through the same validation, so what a demo user types here is what a
Graph client reads."""

from __future__ import annotations

from m365emu.outlook_web.routes import create_outlook_router

__all__ = ["create_outlook_router"]
