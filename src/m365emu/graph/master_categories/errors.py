"""Errors of /me/outlook/masterCategories.

A duplicate displayName has no documented answer (graph.md §3 [UNVERIFIED]); the emulator
answers 409 `ErrorDuplicateCategoryName` — a code of its own, marked as such — so clients
that follow the advice (on any 4xx, list again and match case-insensitively) work.
"""

from __future__ import annotations

from m365emu.graph.common.errors import GraphError, bad_request


def duplicate_name(name: str) -> GraphError:
    return GraphError(
        409,
        "ErrorDuplicateCategoryName",
        f"A category named '{name}' already exists in the master list (emulator-chosen code).",
    )


def invalid_color(color: object) -> GraphError:
    return bad_request(f"The value '{color}' is not valid for property 'color'.")


def name_required() -> GraphError:
    return bad_request("The displayName of a category is required.", code="ErrorInvalidRequest")


def name_read_only() -> GraphError:
    # outlookcategory.md: displayName cannot be changed once created.
    return bad_request(
        "The displayName of a category cannot be changed.", code="ErrorInvalidRequest"
    )
