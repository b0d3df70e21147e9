"""Structured logs (STYLE.md "Logs are structured"; issue 11): one event name and
key-value fields per line, as JSON when `S5SYNC_LOG_JSON=true` (`s5sync serve` in
production), as plain text otherwise.

The event name is the log message (`cycle.failed`); the fields are what the call passed
as `extra=`. A small `logging.Formatter`, no extra dependency. What must never appear in
a line (R22): tokens, secrets, event bodies — callers pass ids and type names only, the
MSAL and SQLAlchemy loggers are already redacted or parameter-free, and httpx/httpcore
and aiohttp (which may log full URLs with delta tokens) are held at WARNING here.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

# Attributes every LogRecord has; anything else came from `extra=` and is a field.
STANDARD = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "color_message"}  # uvicorn's ANSI copy of the message
)
QUIET = (
    "httpx",
    "httpcore",
    "aiohttp",
    "hpack",
    "msal",
    "urllib3",
    "sqlalchemy.engine",
    "aiosqlite",
)


def hold_at_warning(names: tuple[str, ...]) -> None:
    """Keep these loggers at WARNING whatever the process's level (R22). Only a level that
    differs is set: `setLevel` empties every logger's cache, and connectors call this as
    they are built — once a cycle (issue 12)."""
    for name in names:
        logger = logging.getLogger(name)
        if logger.level != logging.WARNING:
            logger.setLevel(logging.WARNING)


def fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in STANDARD and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, event, then the fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        line.update(fields(record))
        if record.exc_info and record.exc_info[0] is not None:
            line["error"] = record.exc_info[0].__name__
            line["traceback"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """`time level logger event key=value …` for a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extra = " ".join(f"{k}={v!r}" for k, v in fields(record).items())
        return f"{text} {extra}" if extra else text


def configure_logging(level: str = "INFO", *, as_json: bool = False) -> None:
    """The process's logging: one handler on stderr; noisy libraries held at WARNING."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if as_json else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    hold_at_warning(QUIET)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        # uvicorn's own handlers go; its records reach ours through the root.
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
