"""Structured logs (issue 11): one JSON object per line with the event name and the
fields passed as `extra`, tracebacks included; noisy URL-logging libraries held back."""

from __future__ import annotations

import json
import logging

from s5sync.logs import JsonFormatter, TextFormatter, configure_logging


def record(**extra: object) -> logging.LogRecord:
    made = logging.LogRecord(
        "s5sync.sync.engine", logging.INFO, __file__, 1, "cycle.finished", None, None
    )
    for key, value in extra.items():
        setattr(made, key, value)
    return made


def test_a_json_line_has_the_event_name_level_and_fields() -> None:
    line = json.loads(JsonFormatter().format(record(user_id=7, outcome="ok", seconds=1.5)))
    assert line["event"] == "cycle.finished"
    assert line["level"] == "info"
    assert line["logger"] == "s5sync.sync.engine"
    assert (line["user_id"], line["outcome"], line["seconds"]) == (7, "ok", 1.5)
    assert line["time"].endswith("+00:00")


def test_an_exception_is_named_and_its_traceback_kept_in_one_json_line() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        import sys

        made = record()
        made.exc_info = sys.exc_info()
    text = JsonFormatter().format(made)
    assert "\n" not in text
    line = json.loads(text)
    assert line["error"] == "RuntimeError"
    assert "boom" in line["traceback"]


def test_text_lines_carry_the_fields_as_key_values() -> None:
    text = TextFormatter().format(record(user_id=7))
    assert text.endswith("cycle.finished user_id=7")


def test_httpx_which_logs_urls_with_delta_tokens_is_held_at_warning_R22() -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        configure_logging("DEBUG", as_json=True)
        assert logging.getLogger("httpx").getEffectiveLevel() == logging.WARNING
        assert isinstance(root.handlers[0].formatter, JsonFormatter)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        logging.getLogger("httpx").setLevel(logging.NOTSET)
