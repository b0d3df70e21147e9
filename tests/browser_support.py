"""Shared by browser tests: Chromium's flags for this machine (headless, no sandbox as
root, no background networking — the network is closed). Import as
`from browser_support import CHROMIUM_ARGS` (`tests/` is on pytest's pythonpath)."""

from __future__ import annotations

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
