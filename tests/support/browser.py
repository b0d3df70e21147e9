"""Shared by browser tests: Chromium's flags for this machine (headless, no sandbox as
root, no background networking — the network is closed). Import as
`from support.browser import CHROMIUM_ARGS` (`tests/` is on pytest's pythonpath)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

AXE_DIR = Path(os.environ.get("S5SYNC_AXE_DIR", Path.home() / ".cache" / "s5sync-tests" / "axe"))


def install_axe() -> Path:
    """axe-core's axe.min.js (npm, outside the repository), or a skip/fail saying why."""
    script = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
    if script.exists():
        return script
    npm = shutil.which("npm")
    if npm is None:
        if os.environ.get("CI"):
            pytest.fail("npm is needed in CI to install axe-core for the accessibility check")
        pytest.skip("npm is not installed: cannot install axe-core for the accessibility check")
    AXE_DIR.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [
            npm,
            "install",
            "--no-save",
            "--no-audit",
            "--no-fund",
            "--prefix",
            str(AXE_DIR),
            "axe-core@4",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    if done.returncode != 0 or not script.exists():
        message = f"npm could not install axe-core: {done.stderr.strip()[-300:]}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return script


def serious_violations(page: Page, axe: Path) -> list[dict[str, Any]]:
    # Evaluated through the DevTools protocol, not as a <script> tag: pages with a strict
    # Content-Security-Policy (s5sync's) would refuse an injected script.
    page.evaluate(axe.read_text())
    result: dict[str, Any] = page.evaluate("async () => await axe.run(document)")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
