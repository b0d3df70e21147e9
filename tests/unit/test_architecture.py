"""The package boundaries of DESIGN.md, checked by walking the AST.

- the emulators import nothing from s5sync (they stand in for systems we do not own);
- `s5sync/core/` is pure: no I/O module imported, no clock, uuid4 or random called
  (STYLE.md habit 3). An import check alone cannot see `datetime.now()`, so calls are
  walked too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"

IO_MODULES = {
    "os",
    "io",
    "socket",
    "ssl",
    "subprocess",
    "sqlite3",
    "asyncio",
    "anyio",
    "httpx",
    "aiohttp",
    "requests",
    "sqlalchemy",
    "msal",
    "fastapi",
    "starlette",
    "logging",
    "random",
    "secrets",
    "uuid",
    "time",
    "shutil",
    "pathlib",
    "tempfile",
    "threading",
    "urllib.request",
}
FORBIDDEN_CALLS = {
    "now",
    "utcnow",
    "today",
    "time",
    "time_ns",
    "monotonic",
    "perf_counter",
    "uuid1",
    "uuid4",
    "random",
    "randint",
    "choice",
    "shuffle",
    "token_hex",
    "token_bytes",
    "urandom",
    "open",
}


def python_files(package: str) -> list[Path]:
    return sorted((SRC / package).rglob("*.py"))


def imported_modules(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def called_names(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute):
                names.add(node.func.attr)
            elif isinstance(node.func, ast.Name):
                names.add(node.func.id)
    return names


def impure_findings(source: str) -> list[str]:
    tree = ast.parse(source)
    findings = [
        f"imports {name}"
        for name in imported_modules(tree)
        if name in IO_MODULES or name.split(".")[0] in IO_MODULES
    ]
    findings += [f"calls {name}()" for name in called_names(tree) & FORBIDDEN_CALLS]
    return sorted(findings)


@pytest.mark.parametrize("package", ["m365emu", "s5emu"])
def test_emulators_import_nothing_from_s5sync(package: str) -> None:
    offenders = [
        f"{path.relative_to(SRC)}: {name}"
        for path in python_files(package)
        for name in imported_modules(ast.parse(path.read_text()))
        if name == "s5sync" or name.startswith("s5sync.")
    ]
    assert offenders == []


def test_core_is_pure_no_io_no_clock_no_randomness() -> None:
    offenders = [
        f"{path.relative_to(SRC)}: {finding}"
        for path in python_files("s5sync/core")
        for finding in impure_findings(path.read_text())
    ]
    assert offenders == []


@pytest.mark.parametrize(
    "snippet",
    [
        "import httpx",
        "from sqlalchemy import select",
        "from datetime import datetime\nx = datetime.now()",
        "import time\nx = time.time()",
        "from uuid import uuid4\nx = uuid4()",
        "import random",
        "x = open('f')",
    ],
)
def test_purity_check_catches_what_it_should(snippet: str) -> None:
    assert impure_findings(snippet) != []


def test_purity_check_allows_pure_code() -> None:
    assert impure_findings("from datetime import datetime, timedelta\nx = timedelta(1)") == []


@pytest.mark.parametrize("package", ["s5sync/core", "s5sync/sync"])
def test_the_cycle_and_its_ports_depend_on_no_store_and_no_driver(package: str) -> None:
    """Issue 18: the values crossing a port live with the port or the core (the store
    imports them, not the other way round), and no driver's error reaches the cycle."""
    offenders = [
        f"{path.relative_to(SRC)}: {name}"
        for path in python_files(package)
        for name in imported_modules(ast.parse(path.read_text()))
        if name.startswith(("s5sync.store", "sqlalchemy", "asyncpg", "psycopg"))
    ]
    assert offenders == []
