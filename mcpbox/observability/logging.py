"""Structured JSON logs on stdout through a real JSON encoder.

The reference system built JSON lines by string formatting and broke on quotes; here every record
goes through ``json.dumps``. Extra fields passed with ``logger.info(..., extra={"event": ...})``
are included when they are JSON-safe; anything else is rendered with ``str`` so a log call can
never raise.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, TextIO

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None)).keys()) | {
    "message",
    "asctime",
    "taskName",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, extras, and exc when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str = "info", *, stream: TextIO | None = None, access_log: bool = False) -> None:
    """Route every logger (ours, hypercorn's, alembic's) to one JSON handler on stdout."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in ("hypercorn.access",):
        logging.getLogger(noisy).setLevel(logging.INFO if access_log else logging.WARNING)
    for quiet in ("alembic", "aiosqlite", "sqlalchemy.engine", "httpx", "httpcore"):
        logging.getLogger(quiet).setLevel(max(logging.WARNING, root.level))
