"""The log formatter: a JSON object per line unless the stream is a terminal (LOG_FORMAT=auto),
for structlog's records and the standard library's alike, with what the request bound."""

import io
import logging
from collections.abc import Iterator

import orjson
import pytest
import structlog
from structlog.contextvars import bound_contextvars

from graph.observability.logs import configure_logging


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def restored() -> Iterator[None]:
    """configure_logging changes the process's logging; put it back for the rest of the run."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.captureWarnings(False)
    structlog.reset_defaults()


@pytest.mark.usefixtures("restored")
def test_json_off_a_terminal_with_the_bound_request_id() -> None:
    stream = io.StringIO()
    configure_logging("INFO", "auto", stream)
    with bound_contextvars(request_id="r-1"):
        logging.getLogger("uvicorn.error").info("Started server process [%d]", 42)
        structlog.get_logger().bind(logger="gateway.test").info("cached", keys=3)
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("graph.test").exception("it failed")
    logging.getLogger("graph.test").debug("below the level")
    lines = [orjson.loads(line) for line in stream.getvalue().splitlines()]
    assert [(line["logger"], line["event"], line["level"]) for line in lines] == [
        ("uvicorn.error", "Started server process [42]", "info"),
        ("gateway.test", "cached", "info"),
        ("graph.test", "it failed", "error"),
    ]
    assert {line["request_id"] for line in lines} == {"r-1"}
    assert lines[1]["keys"] == 3
    assert "ValueError: boom" in lines[2]["exception"]


@pytest.mark.usefixtures("restored")
def test_readable_lines_on_a_terminal() -> None:
    stream = Terminal()
    configure_logging("WARNING", "auto", stream)
    logging.getLogger("graph.test").info("not shown")
    logging.getLogger("graph.test").warning("the cache may be stale")
    text = stream.getvalue()
    assert "not shown" not in text
    assert "the cache may be stale" in text
    assert not text.lstrip().startswith("{")


@pytest.mark.usefixtures("restored")
def test_json_when_told_even_on_a_terminal() -> None:
    stream = Terminal()
    configure_logging("INFO", "json", stream)
    logging.getLogger("graph.test").info("hello")
    assert orjson.loads(stream.getvalue())["event"] == "hello"
