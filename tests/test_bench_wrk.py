"""`make bench`'s wrk load: every body reaches the server as written, and failures are counted."""

import re
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
import pytest

from bench import report, wrk_load

# Quotes, backslashes, a newline, non-ASCII and Lua's own escapes: a long string keeps them all.
AWKWARD = {"slug": 'a "quoted" \\ back\\nslash\n', "name": "Ünïcode ✓", "lua": "\\65 %d [[x]]"}


class Recording(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    received: Counter[bytes]
    lock: threading.Lock

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        with self.lock:
            self.received[body] += 1
        answer = b'{"errors":[{"message":"no"}]}' if b'"bad"' in body else b'{"data":{}}'
        self.send_response(200)
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, type[Recording]]]:
    handler = type("Handler", (Recording,), {"received": Counter(), "lock": threading.Lock()})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/graphql", handler
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_bodies_are_one_per_variable_set_in_a_seeded_order() -> None:
    choices = [{"slug": f"p-{i}"} for i in range(20)]
    first = wrk_load.bodies("query Q { a }", choices, seed=1)
    assert sorted(first) == sorted(
        orjson.dumps({"query": "query Q { a }", "variables": c}) for c in choices
    )
    assert first == wrk_load.bodies("query Q { a }", choices, seed=1)
    assert first != wrk_load.bodies("query Q { a }", choices, seed=2)
    assert wrk_load.bodies("{ a }", None, seed=1) == [b'{"query":"{ a }","variables":null}']


def test_a_body_that_would_end_the_lua_string_is_refused() -> None:
    with pytest.raises(wrk_load.WrkError, match="long string"):
        wrk_load.script([b'{"query":"{ a }","variables":{"x":"]==]"}}'])


def test_output_without_figures_is_an_error() -> None:
    with pytest.raises(wrk_load.WrkError, match="no figures"):
        wrk_load.parse("Running 1s test @ http://127.0.0.1:1/graphql\n")


@pytest.mark.skipif(not wrk_load.available(), reason="wrk is not installed (apt-get install wrk)")
def test_wrk_sends_every_body_verbatim_and_counts_graphql_errors(
    server: tuple[str, type[Recording]],
) -> None:
    url, handler = server
    sent = [
        orjson.dumps({"query": "{ a }", "variables": AWKWARD}),
        orjson.dumps({"query": "{ a }", "variables": {"slug": "bad"}}),
        orjson.dumps({"query": "{ a }", "variables": {"slug": "good"}}),
    ]
    ticks = iter(range(100))

    ran = wrk_load.run(url, sent, warmup=0, duration=1, cpu=lambda: float(next(ticks)))

    received = handler.received
    assert set(received) == set(sent)  # nothing mangled on the way through Lua
    assert ran.requests > 30
    assert ran.socket_errors == 0
    # Every "bad" answer is counted as failed (wrk may stop before counting in-flight ones).
    assert 0 < ran.failed <= received[sent[1]]
    assert abs(ran.failed - ran.requests / 3) <= ran.requests / 6
    assert ran.server_cpu == 1.0
    assert ran.load_cpu is not None
    assert 0 < ran.load_cpu < 2 * 2  # wrk's 2 threads, for a second or so
    assert 0 < ran.p50_ms <= ran.p99_ms


def test_the_table_says_how_many_cores_the_server_and_the_load_kept_busy() -> None:
    ran = wrk_load.WrkRun(1000, 10.0, 0, 0, 1.0, 2.0, server_cpu=16.0, load_cpu=3.0)
    heading, row = report.table([report.from_wrk("P1", ran, [], 11)])
    cells = dict(zip(re.split(r"\s{2,}", heading), re.split(r"\s{2,}", row), strict=True))
    assert cells["srv CPU ms/req"] == "16.000"
    assert (cells["srv cores"], cells["load cores"]) == ("1.60", "0.30")
