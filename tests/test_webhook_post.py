"""One delivery through workers.webhook_post against real local servers: the request goes to the
address that was checked, TLS still checks the host's name, redirects are not followed, and the
log's words say nothing about how a connection failed."""

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
import trustme

from tests.stub_dns import StubDns
from tests.webhook_receiver import Receiver
from workers.webhook_post import (
    CONNECTION_FAILED,
    HOST_NOT_FOUND,
    INVALID_URL,
    REFUSED_PRIVATE,
    TIMED_OUT,
    failure,
    post,
)
from workers.webhook_targets import PrivateAddress, TargetPolicy, Unresolvable

BODY = b'{"id": "change-1"}'
HEADERS = {"Content-Type": "application/json"}
PUBLIC = "93.184.215.14"
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def policy(dns: StubDns, *, allow_private: bool = True, timeout: float = 5.0) -> TargetPolicy:
    return TargetPolicy(dns, allow_private, timeout)


@asynccontextmanager
async def listening(handle: Handler) -> AsyncIterator[str]:
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hooks"
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def server_tls(ca: trustme.CA, name: str, seen: list[str | None]) -> ssl.SSLContext:
    """A context for a receiver whose certificate names `name`; `seen` gets each SNI name."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(name).configure_cert(context)
    context.sni_callback = lambda _socket, server_name, _context: seen.append(server_name)
    return context


def client_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


async def test_a_name_is_looked_up_once_and_its_checked_address_is_what_answers() -> None:
    """receiver.test exists only in the stub: had httpx looked the name up again, it would
    have found nothing."""
    dns = StubDns({"receiver.test": ["127.0.0.1"]})
    async with Receiver() as receiver:
        host = f"receiver.test:{receiver.port}"
        response = await post(f"http://{host}/hooks", BODY, HEADERS, policy(dns))
    assert (response.status_code, response.error) == (200, None)
    assert dns.asked == ["receiver.test"]
    [request] = receiver.requests
    assert (request.headers["host"], request.body) == (host, BODY)


async def test_the_next_address_is_tried_when_one_refuses_the_connection() -> None:
    dns = StubDns({"two.test": ["127.0.0.2", "127.0.0.1"]})  # the receiver is on .1 only
    async with Receiver() as receiver:
        response = await post(f"http://two.test:{receiver.port}/h", BODY, HEADERS, policy(dns))
    assert response.status_code == 200
    assert len(receiver.requests) == 1


@pytest.mark.parametrize("answers", [["127.0.0.1"], [PUBLIC, "127.0.0.1"], ["::1", PUBLIC]])
async def test_without_private_addresses_allowed_nothing_private_is_contacted(
    answers: list[str],
) -> None:
    dns = StubDns({"inside.test": answers})
    async with Receiver() as receiver:
        for url in (f"http://inside.test:{receiver.port}/hooks", receiver.url):
            response = await post(url, BODY, HEADERS, policy(dns, allow_private=False))
            assert (response.status_code, response.error) == (None, REFUSED_PRIVATE)
    assert receiver.requests == []


async def test_a_redirect_is_reported_and_not_followed() -> None:
    async with Receiver() as elsewhere, Receiver(default=302, location=elsewhere.url) as receiver:
        response = await post(receiver.url, BODY, HEADERS, policy(StubDns()))
    assert (response.status_code, response.error) == (302, "HTTP 302")
    assert len(receiver.requests) == 1
    assert elsewhere.requests == []


async def test_tls_sends_the_host_name_and_verifies_the_certificate_against_it(
    ca: trustme.CA,
) -> None:
    seen: list[str | None] = []
    dns = StubDns({"receiver.test": ["127.0.0.1"]})
    async with Receiver(tls=server_tls(ca, "receiver.test", seen)) as receiver:
        host = f"receiver.test:{receiver.port}"
        url = f"https://{host}/hooks"
        response = await post(url, BODY, HEADERS, policy(dns), verify=client_tls(ca))
    assert (response.status_code, response.error) == (200, None)
    assert seen == ["receiver.test"]
    assert receiver.requests[0].headers["host"] == host


async def test_a_certificate_for_another_name_fails_the_connection(ca: trustme.CA) -> None:
    dns = StubDns({"receiver.test": ["127.0.0.1"]})
    async with Receiver(tls=server_tls(ca, "other.test", [])) as receiver:
        url = f"https://receiver.test:{receiver.port}/hooks"
        response = await post(url, BODY, HEADERS, policy(dns), verify=client_tls(ca))
    assert (response.status_code, response.error) == (None, CONNECTION_FAILED)
    assert receiver.requests == []


async def test_a_receiver_that_never_answers_times_out() -> None:
    release = asyncio.Event()

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await release.wait()
        writer.close()

    async with listening(never_answer) as url:
        response = await post(url, BODY, HEADERS, policy(StubDns(), timeout=0.2))
        release.set()
    assert (response.status_code, response.error) == (None, TIMED_OUT)


async def test_a_name_that_does_not_resolve_and_a_url_httpx_refuses() -> None:
    missing = await post("https://nowhere.test/hooks", BODY, HEADERS, policy(StubDns()))
    assert (missing.status_code, missing.error) == (None, HOST_NOT_FOUND)
    octal = await post("http://0177.0.0.1/hooks", BODY, HEADERS, policy(StubDns()))
    assert (octal.status_code, octal.error) == (None, INVALID_URL)


@pytest.mark.parametrize(
    "error",
    [
        httpx.ConnectError("[Errno 111] Connection refused"),
        httpx.ConnectError("[Errno 113] No route to host"),
        httpx.ConnectError("[Errno 101] Network is unreachable"),
        httpx.ConnectError("[SSL: WRONG_VERSION_NUMBER] wrong version number"),
        httpx.ReadError("[Errno 104] Connection reset by peer"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        ConnectionResetError(104, "Connection reset by peer"),
        ssl.SSLError(1, "[SSL: CERTIFICATE_VERIFY_FAILED]"),
    ],
)
def test_every_way_a_connection_fails_reads_the_same(error: Exception) -> None:
    assert failure(error) == CONNECTION_FAILED


@pytest.mark.parametrize(
    ("error", "word"),
    [
        (TimeoutError(), TIMED_OUT),
        (httpx.ConnectTimeout("connect"), TIMED_OUT),
        (httpx.ReadTimeout("read"), TIMED_OUT),
        (PrivateAddress("resolves to a loopback address"), REFUSED_PRIVATE),
        (Unresolvable("does not resolve"), HOST_NOT_FOUND),
    ],
)
def test_timeouts_and_refusals_have_words_of_their_own(error: Exception, word: str) -> None:
    assert failure(error) == word
