"""`python -m m365emu …` runs the emulator's command line (cli.py)."""

from __future__ import annotations

from m365emu.cli import main

main()
