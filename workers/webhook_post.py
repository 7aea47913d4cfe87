"""POST one delivery to an address the target policy passed, and say how it went in words that
tell nothing about the network beyond the receiver's HTTP status.

The request goes to the checked IP itself, with the URL's host in `Host` and in TLS SNI
(httpx's `sni_hostname` extension; the certificate is still verified against that name).
httpx then has no name to look up, so a DNS answer that changes between the check and the
connection (rebinding) cannot move it. A redirect is reported as its status, never followed,
and proxy variables are ignored (trust_env=False): a proxy would look the name up again.
"""

import asyncio
import contextlib
import logging
import ssl
from dataclasses import dataclass

import httpx

from workers.webhook_targets import IPAddress, PrivateAddress, Refused, TargetPolicy, Unresolvable

log = logging.getLogger(__name__)

# Besides `HTTP <status>`, the only words a delivery log holds: a refused, reset, unreachable
# or non-HTTP port all read "connection failed", so the log cannot map which ports are open.
CONNECTION_FAILED = "connection failed"
TIMED_OUT = "timed out"
REFUSED_PRIVATE = "refused: private address"
HOST_NOT_FOUND = "host not found"
INVALID_URL = "invalid URL"


@dataclass(frozen=True, slots=True)
class Response:
    status_code: int | None
    error: str | None

    @property
    def succeeded(self) -> bool:
        return self.error is None


def failure(error: BaseException) -> str:
    """The delivery log's word for an exchange that raised `error`."""
    if isinstance(error, PrivateAddress):
        return REFUSED_PRIVATE
    if isinstance(error, Unresolvable):
        return HOST_NOT_FOUND
    if isinstance(error, TimeoutError | httpx.TimeoutException):
        return TIMED_OUT
    return CONNECTION_FAILED


async def post(
    url: str,
    content: bytes,
    headers: dict[str, str],
    policy: TargetPolicy,
    *,
    verify: ssl.SSLContext | bool = True,
) -> Response:
    """`verify`: the CA bundle to trust (tests bring their own); the system's by default."""
    try:
        target = httpx.URL(url)
    except httpx.InvalidURL:
        return Response(None, INVALID_URL)
    host = target.raw_host.decode("ascii")
    try:
        # httpx's timeout bounds each step; this bounds the whole exchange, lookup included.
        async with asyncio.timeout(policy.timeout):
            addresses = await policy.addresses(host)
            async with _client(policy.timeout, verify) as client:
                status = await _first_answer(client, target, addresses, content, headers)
    # OSError: TLS and socket errors httpx may let through; InvalidURL: an odd resolved address.
    except (Refused, TimeoutError, httpx.HTTPError, httpx.InvalidURL, OSError) as error:
        log.info("webhook delivery to %s failed: %r", host, error)  # the detail, for operators
        return Response(None, failure(error))
    return Response(status, None if 200 <= status < 300 else f"HTTP {status}")


def _client(seconds: float, verify: ssl.SSLContext | bool) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=seconds, verify=verify, trust_env=False, follow_redirects=False
    )


async def _first_answer(
    client: httpx.AsyncClient,
    target: httpx.URL,
    addresses: list[IPAddress],
    content: bytes,
    headers: dict[str, str],
) -> int:
    """The status from the first address that takes the connection, in the resolver's order
    (as httpx would try them)."""
    *others, last = addresses
    for address in others:
        with contextlib.suppress(httpx.ConnectError):
            return await _send(client, target, address, content, headers)
    return await _send(client, target, last, content, headers)


async def _send(
    client: httpx.AsyncClient,
    target: httpx.URL,
    address: IPAddress,
    content: bytes,
    headers: dict[str, str],
) -> int:
    request = client.build_request(
        "POST",
        target.copy_with(host=str(address)),
        content=content,
        headers={**headers, "Host": target.netloc.decode("ascii")},
        extensions={"sni_hostname": target.raw_host.decode("ascii")},
    )
    response = await client.send(request, stream=True)
    await response.aclose()  # the status is all we need; skip the body
    return response.status_code
