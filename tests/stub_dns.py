"""A resolver that gives the answers a test sets, so a name can turn private between a webhook's
creation and its delivery without asking any real DNS."""

import ipaddress
import socket

from workers.webhook_targets import IPAddress


class StubDns:
    """Answers each name in `names` with its addresses; no other name resolves. `asked` lists
    every lookup, in order."""

    def __init__(self, names: dict[str, list[str]] | None = None) -> None:
        self.names = dict(names or {})
        self.asked: list[str] = []

    async def __call__(self, host: str) -> list[IPAddress]:
        self.asked.append(host)
        if host not in self.names:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [ipaddress.ip_address(address) for address in self.names[host]]
