"""Which addresses a webhook may reach: public ones only, unless WEBHOOK_ALLOW_PRIVATE is set.

Checked when a webhook is created, to refuse it with a reason, and again at every delivery,
because a name's DNS answers can change in between; a delivery then connects to the very
address that passed (workers.webhook_post), so no second lookup can swap it.
"""

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Self
from urllib.parse import urlsplit

import httpx

from workers.settings import WorkerSettings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Every address a host name has; raises OSError when it has none.
Resolve = Callable[[str], Awaitable[Sequence[IPAddress]]]

NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")
# How a number is spelled in a host: hex, octal (a leading 0) or decimal.
NUMBER = re.compile(r"0[xX][0-9a-fA-F]*|[0-9]+")


class Refused(Exception):
    """The host may not be reached; the message says why, after the words "the host"."""


class PrivateAddress(Refused):
    pass


class Unresolvable(Refused):
    pass


async def system_resolve(host: str) -> list[IPAddress]:
    """The event loop's getaddrinfo: the addresses the operating system would connect to."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))


def host_of(url: str) -> str | None:
    """The host httpx sends a request for `url` to (IDNA-encoded, without brackets); where httpx
    refuses the URL, the host urlsplit reads, so that `0177.0.0.1` is still judged."""
    try:
        return httpx.URL(url).raw_host.decode("ascii") or None
    except httpx.InvalidURL:
        pass
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def numeric_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The address in `127.1`, `0x7f.0.0.1`, `0177.0.0.1` or `2130706433`, read as browsers and
    getaddrinfo read them; None for a name. ValueError for a host that ends in a number but is
    no address (`1.2.3.256`): a resolver must not be left to guess what it means."""
    parts = host.split(".")
    if len(parts) > 1 and not parts[-1]:
        parts.pop()  # a trailing dot
    if NUMBER.fullmatch(parts[-1]) is None:
        return None
    if len(parts) > 4:
        raise ValueError(f"{host!r} has more than four parts")
    *head, last = [_number(part) for part in parts]
    if any(number > 255 for number in head) or last >= 256 ** (4 - len(head)):
        raise ValueError(f"{host!r} is out of range")
    return ipaddress.IPv4Address(sum(n << 8 * (3 - i) for i, n in enumerate(head)) + last)


def _number(part: str) -> int:
    if NUMBER.fullmatch(part) is None:
        raise ValueError(f"{part!r} is not a number")
    if part[:2] in ("0x", "0X"):
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part.startswith("0"):
        return int(part, 8)
    return int(part)


def literal(host: str) -> IPAddress | None:
    """The address `host` spells, if it spells one rather than naming a host."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return numeric_ipv4(host)


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one reaches: IPv4-mapped (::ffff:a.b.c.d), 6to4 and NAT64."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
    return address.ipv4_mapped or address.sixtofour


def kind(address: IPAddress) -> str | None:
    """What keeps webhooks from `address` (`loopback`, `private`...); None if it is public."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return kind(embedded)
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address.is_reserved or address in LOCAL_NAT64:
        return "reserved"
    site_local = isinstance(address, ipaddress.IPv6Address) and address.is_site_local
    if address.is_private or site_local or not address.is_global:
        return "private"
    return None


@dataclass(frozen=True, slots=True)
class TargetPolicy:
    resolve: Resolve
    allow_private: bool
    timeout: float

    @classmethod
    def of(cls, settings: WorkerSettings, resolve: Resolve) -> Self:
        return cls(resolve, settings.webhook_allow_private, settings.webhook_timeout_seconds)

    async def vet(self, url: str) -> None:
        """Refuse a new webhook's URL with a reason. With private addresses allowed there is
        nothing to refuse, so nothing is looked up."""
        host = host_of(url)
        if host is not None and not self.allow_private:
            await self.addresses(host)

    async def addresses(self, host: str) -> list[IPAddress]:
        """Every address of `host`, in the resolver's order; all of them must be public, or a
        name with one private address among public ones could be steered to it."""
        spelled = self._spelled(host)
        found = [spelled] if spelled is not None else await self._lookup(host)
        if self.allow_private:
            return found
        for address in found:
            reason = kind(address)
            if reason is not None:
                verb = "is" if spelled is not None else "resolves to"
                raise PrivateAddress(f"{verb} a {reason} address")
        return found

    @staticmethod
    def _spelled(host: str) -> IPAddress | None:
        try:
            return literal(host)
        except ValueError:
            raise Unresolvable("is not a valid IP address") from None

    async def _lookup(self, host: str) -> list[IPAddress]:
        try:
            async with asyncio.timeout(self.timeout):
                found = list(await self.resolve(host))
        except (OSError, TimeoutError, UnicodeError):
            found = []
        if not found:
            raise Unresolvable("does not resolve")
        return found
