"""The log formatter: a JSON object per line unless the stream is a terminal (LOG_FORMAT=auto),
for structlog's records and the standard library's alike, with what the request bound."""

import asyncio
import io
import logging
import select
from collections.abc import Iterator

import orjson
import pytest
import structlog
from structlog.contextvars import bound_contextvars

from graph.observability.logs import AccessLines, access_lines, configure_logging


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


@pytest.mark.usefixtures("restored")
async def test_access_lines_are_json_written_in_batches_within_a_tenth_of_a_second() -> None:
    stream = io.StringIO()
    configure_logging("INFO", "json", stream)
    access = access_lines("gateway.access", logging.INFO)
    assert access is not None
    access.write({"request_id": "r-1", "status": 200})
    access.write({"request_id": "r-2", "status": 404})
    assert stream.getvalue() == ""  # not yet: a batch a tenth of a second at most
    await asyncio.sleep(AccessLines.FLUSH_SECONDS * 2)
    lines = [orjson.loads(line) for line in stream.getvalue().splitlines()]
    assert [(line["request_id"], line["status"]) for line in lines] == [("r-1", 200), ("r-2", 404)]
    assert {(line["logger"], line["event"], line["level"]) for line in lines} == {
        ("gateway.access", "request", "info")
    }
    assert all(line["timestamp"].endswith("Z") for line in lines)
    access.write({"request_id": "r-3"})
    access.flush()  # as the app's shutdown does
    assert orjson.loads(stream.getvalue().splitlines()[-1])["request_id"] == "r-3"


@pytest.mark.usefixtures("restored")
def test_access_lines_for_people_go_through_the_readable_renderer() -> None:
    stream = Terminal()
    configure_logging("INFO", "auto", stream)
    access = access_lines("gateway.access", logging.INFO)
    assert access is not None
    access.write({"request_id": "r-9", "status": 200})
    assert "request" in stream.getvalue()
    assert "r-9" in stream.getvalue()
    assert not stream.getvalue().lstrip().startswith("{")


class Writes(io.StringIO):
    """Records each write+flush as the pipe would see it."""

    def __init__(self) -> None:
        super().__init__()
        self.flushed: list[str] = []
        self.since = 0

    def flush(self) -> None:
        value = self.getvalue()
        self.flushed.append(value[self.since :])
        self.since = len(value)


@pytest.mark.usefixtures("restored")
async def test_a_batch_of_access_lines_goes_out_in_whole_lines_of_at_most_pipe_buf_bytes() -> None:
    """Processes of `--workers` share stdout: a write over PIPE_BUF may interleave with theirs."""
    stream = Writes()
    configure_logging("INFO", "json", stream)
    access = access_lines("gateway.access", logging.INFO)
    assert access is not None
    for i in range(200):
        access.write({"request_id": f"r-{i}", "user_agent": "caf\u00e9/" * 30})
    access.flush()  # in a running loop the 200 lines wait for one batch
    writes = [w for w in stream.flushed if w]
    assert 1 < len(writes) < 200
    assert all(len(w.encode()) <= select.PIPE_BUF and w.endswith("\n") for w in writes)
    ids = [orjson.loads(line)["request_id"] for line in "".join(writes).splitlines()]
    assert ids == [f"r-{i}" for i in range(200)]
