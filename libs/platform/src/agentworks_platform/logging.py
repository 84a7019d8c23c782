"""Structured JSON logs in Cloud Logging's shape, trace-correlated, with secret redaction."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

_SENSITIVE_KEY = re.compile(r"(pass(word)?|secret|token|api[_-]?key|authorization|cookie|credential)", re.I)
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+")
_KNOWN_KEY_SHAPES = re.compile(r"\b(sk-[A-Za-z0-9_-]{8,}|sk_(live|test)_[A-Za-z0-9]{8,}|aw_[A-Za-z0-9_]{16,})\b")
REDACTED = "[REDACTED]"

_SEVERITY = {
    logging.DEBUG: "DEBUG",
    logging.INFO: "INFO",
    logging.WARNING: "WARNING",
    logging.ERROR: "ERROR",
    logging.CRITICAL: "CRITICAL",
}


class Redactor:
    """Removes secrets from log payloads: by key name, by known shapes, and by registered values."""

    def __init__(self) -> None:
        self._values: set[str] = set()

    def register(self, values: Iterable[str]) -> None:
        self._values.update(v for v in values if v and len(v) >= 6)

    def text(self, value: str) -> str:
        for secret in self._values:
            value = value.replace(secret, REDACTED)
        value = _BEARER.sub(rf"\1{REDACTED}", value)
        return _KNOWN_KEY_SHAPES.sub(REDACTED, value)

    def value(self, key: str, value: Any) -> Any:
        if _SENSITIVE_KEY.search(key) and value not in (None, "", False):
            return REDACTED
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {str(k): self.value(str(k), v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(key, v) for v in value]
        return value


REDACTOR = Redactor()


class CloudLoggingFormatter(logging.Formatter):
    """Formats a record as one JSON line with ``severity``, ``message``, time and trace fields."""

    def __init__(self, service: str, gcp_project: str) -> None:
        super().__init__()
        self._service = service
        self._project = gcp_project

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "severity": _SEVERITY.get(record.levelno, "DEFAULT"),
            "message": REDACTOR.text(record.getMessage()),
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "logger": record.name,
            "service": self._service,
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, Mapping):
            entry.update({k: REDACTOR.value(k, v) for k, v in fields.items()})
        entry.update(self._trace_fields())
        if record.exc_info:
            entry["error_detail"] = REDACTOR.text(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)

    def _trace_fields(self) -> dict[str, Any]:
        context = trace.get_current_span().get_span_context()
        if not context.is_valid:
            return {}
        return {
            "logging.googleapis.com/trace": f"projects/{self._project}/traces/{context.trace_id:032x}",
            "logging.googleapis.com/spanId": f"{context.span_id:016x}",
            "logging.googleapis.com/trace_sampled": context.trace_flags.sampled,
        }


class EventLogger:
    """``log.info("card.moved", card_id=...)``: a dotted event name plus structured fields."""

    def __init__(self, name: str) -> None:
        self._logger = logging.getLogger(name)

    def _log(self, level: int, event: str, exc_info: bool, fields: dict[str, Any]) -> None:
        if self._logger.isEnabledFor(level):
            self._logger.log(level, event, exc_info=exc_info, extra={"fields": fields}, stacklevel=3)

    def debug(self, event: str, **fields: Any) -> None:
        self._log(logging.DEBUG, event, False, fields)

    def info(self, event: str, **fields: Any) -> None:
        self._log(logging.INFO, event, False, fields)

    def warning(self, event: str, **fields: Any) -> None:
        self._log(logging.WARNING, event, False, fields)

    def error(self, event: str, **fields: Any) -> None:
        self._log(logging.ERROR, event, False, fields)

    def exception(self, event: str, **fields: Any) -> None:
        self._log(logging.ERROR, event, True, fields)


def get_logger(name: str) -> EventLogger:
    return EventLogger(name)


def configure_logging(service: str, gcp_project: str, level: str = "INFO", secrets: Iterable[str] = ()) -> None:
    """Install the JSON formatter on the root logger (idempotent)."""
    REDACTOR.register(secrets)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(CloudLoggingFormatter(service, gcp_project))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("uvicorn").handlers = []
    logging.getLogger("uvicorn.error").handlers = []
