"""Logging for `gateway serve`, `worker` and `relay`, configured when they start (never at import):
every record, ours, uvicorn's, Celery's, SQLAlchemy's and warnings, goes through one structlog
formatter: a JSON object per line unless stdout is a terminal, where lines are for people. The
request id and anything else bound with structlog.contextvars is on every line of its request.
"""

import asyncio
import logging
import select
import sys
from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

import orjson
import structlog
from structlog.typing import FilteringBoundLogger, Processor

Format = Literal["auto", "json", "console"]
# uvicorn passes its ANSI-coloured copy of each message along as an extra.
NOISE = ("color_message",)


def _dumps(value: Any, default: Any = None, **_: Any) -> str:
    return orjson.dumps(value, default=default).decode()


def _drop_noise(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in NOISE:
        event.pop(key, None)
    return event


def wants_json(log_format: Format, stream: TextIO) -> bool:
    if log_format == "auto":
        return not stream.isatty()
    return log_format == "json"


# Where configure_logging sends JSON lines (None: it did not run, or lines are for people).
_json_stream: list[TextIO | None] = [None]


def configure_logging(level: str, log_format: Format, stream: TextIO | None = None) -> None:
    """Replaces the root logger's handlers with one that writes to `stream` (stdout)."""
    stream = stream or sys.stdout
    as_json = wants_json(log_format, stream)
    _json_stream[0] = stream if as_json else None
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    rendered: list[Processor] = (
        [structlog.processors.format_exc_info, structlog.processors.JSONRenderer(_dumps)]
        if as_json
        else [structlog.dev.ConsoleRenderer(colors=stream.isatty())]
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            *shared,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.ExtraAdder(),
            _drop_noise,
        ],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *rendered],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # A uvicorn configured earlier in this process (its own dictConfig) leaves its loggers with
    # handlers, levels and no propagation: their lines would skip this handler or vanish.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.setLevel(logging.NOTSET)
        logger.propagate = True
    # Ours (gateway.access) replaces uvicorn's access line: uvicorn writes one only where its
    # logger has a handler somewhere up the tree, so this one must not propagate (a second
    # line per request cost ~20% of a cached response's CPU).
    logging.getLogger("uvicorn.access").propagate = False
    logging.captureWarnings(True)
    # structlog's own loggers (the access log's) render and write themselves, the same way:
    # through the standard library's machinery a line costs about three times as much.
    structlog.configure(
        processors=[*shared, *rendered],
        logger_factory=structlog.WriteLoggerFactory(stream),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        cache_logger_on_first_use=True,
    )


def line_logger(name: str, level: int) -> FilteringBoundLogger | None:
    """A structlog logger named `name`, for lines that carry their request's values themselves
    (the access log's): configured like any other, less merge_contextvars, which copies the
    whole context for every line. None where configure_logging did not run (an app in a test)
    or lets no `level` line through: callers then skip even building the line."""
    if not structlog.is_configured():
        return None
    configured = structlog.get_config()["processors"]
    processors = [p for p in configured if p is not structlog.contextvars.merge_contextvars]
    logger: FilteringBoundLogger = structlog.wrap_logger(None, processors=processors).bind(
        logger=name
    )
    return logger if logger.is_enabled_for(level) else None


class AccessLines:
    """The access log: a line per request. As JSON, written by hand and in batches (at most
    FLUSH_SECONDS late, or MAX_PENDING lines): through structlog's processors and a write and
    flush each, a line cost a quarter of a cached response's CPU. For people (a terminal), the
    structlog logger writes it as every other line."""

    FLUSH_SECONDS = 0.1
    MAX_PENDING = 1_000

    def __init__(self, name: str, stream: TextIO | None, readable: FilteringBoundLogger) -> None:
        self.name = name
        self.stream = stream
        self.readable = readable
        self.pending: list[str] = []
        self.timer: asyncio.TimerHandle | None = None

    def write(self, fields: dict[str, Any]) -> None:
        if self.stream is None:
            self.readable.info("request", **fields)
            return
        stamp = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        line = {
            "logger": self.name,
            **fields,
            "event": "request",
            "level": "info",
            "timestamp": stamp,
        }
        self.pending.append(orjson.dumps(line, default=str).decode() + "\n")
        if len(self.pending) >= self.MAX_PENDING:
            self.flush()
        elif self.timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self.flush()
                return
            self.timer = loop.call_later(self.FLUSH_SECONDS, self.flush)

    def flush(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.pending and self.stream is not None:
            lines, self.pending = self.pending, []
            # Whole lines, at most PIPE_BUF bytes a write: with --workers every process writes
            # to the same pipe, and only writes that small are never interleaved with others'.
            chunk: list[str] = []
            size = 0
            for line in lines:
                length = len(line) if line.isascii() else len(line.encode())
                if chunk and size + length > select.PIPE_BUF:
                    self._write("".join(chunk))
                    chunk, size = [], 0
                chunk.append(line)
                size += length
            self._write("".join(chunk))

    def _write(self, text: str) -> None:
        assert self.stream is not None
        self.stream.write(text)
        self.stream.flush()


def access_lines(name: str, level: int) -> AccessLines | None:
    """The access log, configured as configure_logging left logging; None where that lets no
    `level` line through or did not run (an app in a test)."""
    readable = line_logger(name, level)
    if readable is None:
        return None
    return AccessLines(name, _json_stream[0], readable)
