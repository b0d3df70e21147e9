"""Every path docs/architecture.md names exists (issue 18 item 3).

Run: `uv run python docs/check_paths.py` (exit 1 and the missing paths when any is gone).
A path is a backticked name ending in `.py`, `.md`, `.html`, `.xml` or `/`, looked up
from the repository's root, from `src/` and from the roots the page writes relative to
(`src/s5sync/`, the emulators' packages, `tests/unit/core/` for table tests). Kept out
of the test suite on purpose: a module moved by one change would fail every other
change's CI until the page is redrawn; run it when the page or the layout changes.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
BASES = ("", "src", "src/s5sync", "src/m365emu", "src/s5emu", "tests/unit/core")
ENDINGS = (".py", ".md", ".html", ".xml", "/")
NAME = re.compile(r"`([A-Za-z0-9_][A-Za-z0-9_./-]*)`")


def named_paths(text: str) -> set[str]:
    return {name for name in NAME.findall(text) if name.endswith(ENDINGS)}


def exists(name: str) -> bool:
    return any((ROOT / base / name).exists() for base in BASES)


def main() -> int:
    names = named_paths(DOC.read_text(encoding="utf-8"))
    missing = sorted(name for name in names if not exists(name))
    for name in missing:
        print(f"docs/architecture.md: no such path: {name}", file=sys.stderr)
    print(f"{len(names) - len(missing)} of {len(names)} paths named exist")
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
