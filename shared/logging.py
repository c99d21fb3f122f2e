"""structlog configured once for all three processes: console in development, JSON in production,
stdlib logging (uvicorn, arq, sqlalchemy) routed through the same renderer. Context variables carry
the request id across the request and into the jobs it creates."""

from __future__ import annotations

import logging
import sys

import structlog

from shared.config import Settings

_configured = False


def configure_logging(settings: Settings, *, process: str) -> None:
    global _configured
    if _configured:
        return
    _configured = True
    shared_processors: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    renderer: structlog.types.Processor
    if settings.json_logs:
        shared_processors.append(structlog.processors.format_exc_info)
        renderer = structlog.processors.JSONRenderer()
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())

    structlog.configure(
        # A line below the level is dropped before the processors run, not after them (stdlib
        # filters only once they are done): ~6 us per line, and every job logs two at INFO.
        processors=[
            structlog.stdlib.filter_by_level,
            *shared_processors,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared_processors,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    # uvicorn installs its own handlers; route them through ours instead.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "arq"):
        lg = logging.getLogger(name)
        lg.handlers.clear()
        lg.propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)  # the API logs requests itself
    # arq logs every job start/end (the relay ticks every few seconds); our runner logs jobs itself.
    logging.getLogger("arq.worker").setLevel(logging.WARNING)
    structlog.contextvars.bind_contextvars(process=process)
