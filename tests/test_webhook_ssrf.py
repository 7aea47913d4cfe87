"""Webhooks cannot reach the gateway's own network: every kind of non-public address is refused
when a webhook is created and again at each delivery, where DNS may answer otherwise. Names
resolve through a stub the tests set, so a name can turn private after its webhook exists."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from graph.settings import Settings
from graph.viewer import Role
from tests.conftest import BACKENDS, backend_database, seeded, serving, token
from tests.stub_dns import StubDns
from tests.support import Api
from tests.test_webhooks import (
    CREATE,
    DELETE,
    FAST,
    MAX_ATTEMPTS,
    WEBHOOKS,
    deliveries,
    hook_input,
    new_product,
    rename,
    subscribed,
)
from tests.webhook_receiver import Receiver
from workers.webhook_targets import TargetPolicy, Unresolvable

PUBLIC, PUBLIC_V6 = "93.184.215.14", "2606:2800:220:1:248:1893:25c8:1946"
REFUSED = "`url`'s host {} a {} address; webhooks only reach public addresses."


@pytest.fixture(scope="module", params=BACKENDS)
def ssrf_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    yield from backend_database(request.param, "webhook_ssrf", tmp_path_factory)


@pytest.fixture(scope="module")
def dns() -> StubDns:
    return StubDns(
        {
            "localhost": ["127.0.0.1", "::1"],
            "public.test": [PUBLIC, PUBLIC_V6],
            "internal.test": ["10.20.30.40"],
            "metadata.test": ["169.254.169.254"],
            "mixed.test": [PUBLIC, "192.168.1.10"],
            "v6-private.test": ["fd00::5"],
        }
    )


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def ssrf_settings(ssrf_database: str) -> Settings:
    update = {**FAST, "webhook_allow_private": False}
    return (await seeded(ssrf_database, 20)).model_copy(update=update)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def ssrf_client(ssrf_settings: Settings, dns: StubDns) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(ssrf_settings, dns) as client:
        yield client


@pytest.fixture
def admin(ssrf_client: httpx.AsyncClient, ssrf_settings: Settings) -> Api:
    return Api(ssrf_client, token(ssrf_settings, Role.ADMIN, "admin@example.com"))


async def refused(admin: Api, **overrides: Any) -> list[tuple[str, str, str]]:
    """(field, code, message) of each user error; asserts nothing was written."""
    before = (await admin.query(WEBHOOKS)).data["webhooks"]["totalCount"]
    payload = (await admin.query(CREATE, {"input": hook_input(**overrides)})).data["webhookCreate"]
    assert payload["webhook"] is None
    assert (await admin.query(WEBHOOKS)).data["webhooks"]["totalCount"] == before
    return [(e["field"][-1], e["code"], e["message"]) for e in payload["userErrors"]]


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        pytest.param("http://127.0.0.1:6379/", "loopback", id="loopback"),
        pytest.param("http://127.1/", "loopback", id="short"),
        pytest.param("http://2130706433/", "loopback", id="decimal"),
        pytest.param("http://0x7f.1/", "loopback", id="hex"),
        pytest.param("http://0x7F000001/", "loopback", id="hex-whole"),
        pytest.param("http://0177.0.0.1/", "loopback", id="octal"),
        pytest.param("http://127.0.0.1./", "loopback", id="trailing-dot"),
        pytest.param("http://[::1]:6379/", "loopback", id="ipv6-loopback"),
        pytest.param("http://[::ffff:127.0.0.1]/", "loopback", id="ipv4-mapped"),
        pytest.param("http://[::ffff:7f00:1]/", "loopback", id="ipv4-mapped-hex"),
        pytest.param("http://[64:ff9b::7f00:1]/", "loopback", id="nat64"),
        pytest.param("http://[2002:7f00:1::]/", "loopback", id="6to4"),
        pytest.param("http://10.0.0.1/", "private", id="rfc1918-10"),
        pytest.param("http://172.16.5.4/", "private", id="rfc1918-172"),
        pytest.param("http://192.168.0.1/", "private", id="rfc1918-192"),
        pytest.param("http://[fd00::1]/", "private", id="unique-local"),
        pytest.param("http://[::ffff:10.0.0.1]/", "private", id="ipv4-mapped-private"),
        pytest.param("http://100.64.0.1/", "private", id="shared-cgnat"),
        pytest.param("http://169.254.169.254/latest/meta-data/", "link-local", id="metadata"),
        pytest.param("http://[fe80::1]/", "link-local", id="ipv6-link-local"),
        pytest.param("http://[::ffff:169.254.169.254]/", "link-local", id="mapped-metadata"),
        pytest.param("http://224.0.0.1/", "multicast", id="multicast"),
        pytest.param("http://[ff02::1]/", "multicast", id="ipv6-multicast"),
        pytest.param("http://0.0.0.0:8000/", "unspecified", id="unspecified"),
        pytest.param("http://0/", "unspecified", id="zero"),
        pytest.param("http://[::]/", "unspecified", id="ipv6-unspecified"),
        pytest.param("http://240.0.0.1/", "reserved", id="reserved"),
        pytest.param("http://255.255.255.255/", "reserved", id="broadcast"),
    ],
)
async def test_create_refuses_a_non_public_address(admin: Api, url: str, kind: str) -> None:
    assert await refused(admin, url=url) == [("url", "PRIVATE_ADDRESS", REFUSED.format("is", kind))]


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        ("localhost", "loopback"),
        ("internal.test", "private"),
        ("metadata.test", "link-local"),
        ("v6-private.test", "private"),
        ("mixed.test", "private"),  # one private address among public ones is enough
    ],
)
async def test_create_refuses_a_name_that_resolves_to_one(
    admin: Api, dns: StubDns, host: str, kind: str
) -> None:
    asked = len(dns.asked)
    errors = await refused(admin, url=f"https://{host}:8443/hooks")
    assert errors == [("url", "PRIVATE_ADDRESS", REFUSED.format("resolves to", kind))]
    assert dns.asked[asked:] == [host]


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://nowhere.test/hooks", "does not resolve"),
        ("http://1.2.3.256/", "is not a valid IP address"),
        ("http://999.1.1.1/", "is not a valid IP address"),
        ("http://08.0.0.1/", "is not a valid IP address"),
    ],
)
async def test_create_refuses_a_host_with_no_address(admin: Api, url: str, why: str) -> None:
    assert await refused(admin, url=url) == [("url", "INVALID", f"`url`'s host {why}.")]


async def test_create_reports_the_address_with_the_inputs_other_problems(admin: Api) -> None:
    errors = await refused(admin, url="http://10.0.0.1/", events=[], secret="short")
    assert [(field, code) for field, code, _ in errors] == [
        ("url", "PRIVATE_ADDRESS"),
        ("events", "INVALID"),
        ("secret", "INVALID"),
    ]


@pytest.mark.parametrize(
    "url",
    [
        "https://public.test/hooks",
        f"https://{PUBLIC}/hooks",
        f"https://[{PUBLIC_V6}]:8443/hooks",
        f"http://[::ffff:{PUBLIC}]/hooks",
    ],
)
async def test_create_accepts_a_public_host(admin: Api, url: str) -> None:
    payload = (await admin.query(CREATE, {"input": hook_input(url=url)})).data["webhookCreate"]
    assert payload["userErrors"] == []
    deleted = (await admin.query(DELETE, {"id": payload["webhook"]["id"]})).data
    assert deleted["webhookDelete"]["userErrors"] == []


async def test_a_name_that_turns_private_after_creation_is_never_contacted(
    admin: Api, dns: StubDns, ssrf_client: httpx.AsyncClient, ssrf_settings: Settings
) -> None:
    editor = Api(ssrf_client, token(ssrf_settings, Role.EDITOR, "editor@example.com"))
    product = await new_product(editor)
    dns.names["rebind.test"] = [PUBLIC]
    async with Receiver() as receiver:
        url = f"http://rebind.test:{receiver.port}/hooks"
        async with subscribed(admin, url, ["product.updated"]) as hook:
            dns.names["rebind.test"] = ["127.0.0.1"]  # where the receiver listens
            asked = len(dns.asked)
            await rename(editor, product, "Rebound")
            log = await deliveries(admin, hook, MAX_ATTEMPTS)
        assert receiver.requests == []
    assert [(d["attempt"], d["statusCode"], d["error"]) for d in log] == [
        (attempt, None, "refused: private address") for attempt in range(MAX_ATTEMPTS, 0, -1)
    ]
    assert dns.asked[asked:] == ["rebind.test"] * MAX_ATTEMPTS  # looked up at every attempt


async def test_a_lookup_that_hangs_counts_as_no_answer() -> None:
    async def hang(host: str) -> list[Any]:
        await asyncio.sleep(60)
        return []

    with pytest.raises(Unresolvable, match="does not resolve"):
        await TargetPolicy(hang, allow_private=False, timeout=0.05).addresses("slow.test")
