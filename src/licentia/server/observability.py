"""Structured logs and Prometheus metrics that hold under several workers.

Logs: ``LICENTIA_LOG_FORMAT=json`` writes one JSON object per line (time,
level, logger, message, and the exception if any) for log shippers; ``text``
(the default) is for people at a terminal. Secrets never reach a log call:
keys are logged by prefix only, credentials not at all.

Metrics: with ``--workers N`` each worker is its own process, so ``serve``
points prometheus_client at a shared directory (multiprocess mode) and
``/metrics`` sums every worker's counters, whichever worker answers.
``/metrics`` is opt-in: it is served only when ``LICENTIA_METRICS_TOKEN`` is
set, to callers that send it as a bearer token (its counters would tell a
competitor or an attacker how many installations, activations and refused keys
there are, and when).
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from licentia.server.errors import ApiError, ErrorCode

if TYPE_CHECKING:
    from licentia.server.settings import Settings

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def log_config(log_format: str, level: str) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for uvicorn and Licentia's own loggers."""
    formatter: dict[str, Any] = (
        {"()": f"{__name__}.JsonFormatter"}
        if log_format == "json"
        else {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    )
    handler = {"class": "logging.StreamHandler", "formatter": "default", "stream": "ext://sys.stderr"}
    loggers = {name: {"level": level.upper()} for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "licentia")}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {"default": handler},
        "root": {"handlers": ["default"], "level": level.upper()},
        "loggers": loggers,
    }


def prepare_multiprocess_metrics(data_dir: Path) -> None:
    """Give the workers a fresh shared metrics directory (before they start)."""
    directory = data_dir / "metrics"
    shutil.rmtree(directory, ignore_errors=True)
    # 0700: the workers' counter files are as telling as /metrics itself, which is not public.
    directory.mkdir(mode=0o700, parents=True)
    os.environ[MULTIPROC_ENV] = str(directory)


def metrics_access(settings: Settings, authorization: str | None) -> None:
    """Raise unless ``/metrics`` is on and ``authorization`` carries its bearer token."""
    if settings.metrics_token is None:
        raise ApiError(ErrorCode.NOT_FOUND, "metrics are off; set LICENTIA_METRICS_TOKEN to serve them")
    scheme, _, sent = (authorization or "").partition(" ")
    expected = settings.metrics_token.get_secret_value().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(sent.strip().encode(), expected):
        message = "send the metrics token: Authorization: Bearer <token>"
        raise ApiError(ErrorCode.INVALID_TOKEN, message, headers={"WWW-Authenticate": "Bearer"})


def render_metrics() -> tuple[bytes, str]:
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
