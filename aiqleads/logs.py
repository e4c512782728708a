"""Log lines of the API and the worker: one JSON object per line (``AIQ_LOG_FORMAT=json``, the
default) or plain text for development (``text``), each carrying the request or job it belongs to
(``aiqleads.domain.log_context``) and, while tracing is on, the trace and span ids.

``log_config`` is a ``logging.config.dictConfig`` dictionary: ``aiqleads serve`` hands it to uvicorn
(which applies it in every worker process), ``aiqleads worker`` applies it itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import orjson

from aiqleads.domain import log_context

# set by aiqleads.tracing while a tracer provider is installed: the current span's (trace id, span id)
_trace_ids: Callable[[], tuple[str, str] | None] | None = None

# libraries that log every request they make at INFO (Elasticsearch's transport, httpx): at the
# default level they would outnumber the application's own lines
_CHATTY = ("elastic_transport", "httpx", "httpcore")
_ACCESS_ARGS = 5  # uvicorn.access: client address, method, path, HTTP version, status


def set_trace_ids(source: Callable[[], tuple[str, str] | None] | None) -> None:
    """Where log lines read the current trace and span ids from (None: tracing is off)."""
    global _trace_ids
    _trace_ids = source


def _context_fields(record: logging.LogRecord) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    found = log_context.current()
    if found is not None:
        fields.update(found.fields())
    if _trace_ids is not None:
        ids = _trace_ids()
        if ids is not None:
            fields["trace_id"], fields["span_id"] = ids
    args = record.args
    if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == _ACCESS_ARGS:
        _, method, _, _, status = args
        fields["http_method"], fields["http_status"] = method, status
    return fields


class JsonFormatter(logging.Formatter):
    """One JSON object per record: timestamp, level, logger, message, the request or job fields,
    and an exception's traceback (``exc_info``) or a stack (``stack``) in the same object."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        entry: dict[str, Any] = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(_context_fields(record))
        if record.exc_info:
            entry["exc_type"] = getattr(record.exc_info[0], "__name__", None)
            entry["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc_info"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message [request_id=… root_field=…]``, for reading in a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """The record as text, its request or job fields at the end of the first line."""
        text = super().format(record)
        fields = _context_fields(record)
        if not fields:
            return text
        suffix = " [" + " ".join(f"{key}={value}" for key, value in fields.items()) + "]"
        first, newline, rest = text.partition("\n")
        return first + suffix + newline + rest


FORMATTERS = {"json": JsonFormatter, "text": TextFormatter}


def log_config(log_format: str, level: str = "info") -> dict[str, Any]:
    """A dictConfig for the process: every logger (uvicorn's and arq's too) through one stderr
    handler in ``log_format``, at ``level``."""
    root_level = level.upper()
    numeric = logging.getLevelName(root_level)
    chatty_level = "WARNING" if not isinstance(numeric, int) or numeric >= logging.INFO else root_level
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"aiq": {"()": f"{__name__}.{FORMATTERS[log_format].__name__}"}},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "aiq", "stream": "ext://sys.stderr"}
        },
        "root": {"handlers": ["stderr"], "level": root_level},
        "loggers": {
            # uvicorn's own configuration gives its loggers handlers and stops propagation
            "uvicorn": {"handlers": [], "level": root_level, "propagate": True},
            "uvicorn.error": {"handlers": [], "level": root_level, "propagate": True},
            "uvicorn.access": {"handlers": [], "level": root_level, "propagate": True},
            "arq": {"handlers": [], "level": root_level, "propagate": True},
            **{name: {"level": chatty_level} for name in _CHATTY},
        },
    }


def configure(log_format: str, level: str = "info") -> None:
    """Apply ``log_config`` to this process (the worker; uvicorn applies it for the API)."""
    import logging.config

    logging.config.dictConfig(log_config(log_format, level))
