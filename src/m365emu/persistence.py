"""Write-through persistence of the emulator's state in SQLite (`--data-dir`).

Every model keeps its typed state in memory and calls `save`/`delete` as it changes, so
a demo killed with `kill -9` restarts with every tenant, user, refresh token and event.
Values are JSON documents keyed by (kind, key); with no data dir nothing is written.
SQLite in autocommit with WAL: each `save` is durable when it returns.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any


class Persistence:
    """A tiny key-value store of JSON documents, or nothing when `path` is None."""

    def __init__(self, path: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS doc (kind TEXT NOT NULL, key TEXT NOT NULL, "
                "value TEXT NOT NULL, PRIMARY KEY (kind, key))"
            )

    @property
    def durable(self) -> bool:
        return self._db is not None

    def save(self, kind: str, key: str, value: dict[str, Any]) -> None:
        if self._db is None:
            return
        with self._lock:
            self._db.execute(
                "INSERT INTO doc (kind, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value",
                (kind, key, json.dumps(value, default=str)),
            )

    def delete(self, kind: str, key: str) -> None:
        if self._db is None:
            return
        with self._lock:
            self._db.execute("DELETE FROM doc WHERE kind = ? AND key = ?", (kind, key))

    def load_all(self, kind: str) -> dict[str, dict[str, Any]]:
        if self._db is None:
            return {}
        with self._lock:
            rows = self._db.execute("SELECT key, value FROM doc WHERE kind = ?", (kind,))
            return {key: json.loads(value) for key, value in rows}

    def clear(self) -> None:
        if self._db is None:
            return
        with self._lock:
            self._db.execute("DELETE FROM doc")

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
