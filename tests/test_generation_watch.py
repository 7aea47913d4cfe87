"""Redis pushes every generation bump to each process (db.cache.watch), so a kept response is
served without asking Redis; the watch vouches only while that push cannot have been missed."""

import asyncio
import os
import socket
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pytest
import pytest_asyncio
import redis

from db.cache.watch import MAX_PENDING_PINGS, GenerationWatch
from graph.settings import Settings
from graph.viewer import Role
from tests.celery_support import private_redis, shared_redis
from tests.conftest import postgres_database, seeded, serving, token
from tests.support import Api, workload

pytestmark = pytest.mark.asyncio(loop_scope="session")
WATCH_DB = 12
PRICE = """mutation($id: ID!, $amount: Decimal!) {
  variantUpdate(id: $id, input: {price: $amount}) { userErrors { code } } }"""
FIRST = "{ products(first: 1) { edges { node { slug variants { id } } } } }"


class Heard:
    def __init__(self) -> None:
        self.changed: list[str] = []
        self.resets = 0

    def change(self, keys: Iterable[str]) -> None:
        self.changed.extend(keys)

    def reset(self) -> None:
        self.resets += 1


@asynccontextmanager
async def watched(
    url: str, prefix: str, lease: float
) -> AsyncIterator[tuple[GenerationWatch, Heard]]:
    heard = Heard()
    watch = GenerationWatch(url, prefix, lease=lease, on_change=heard.change, on_reset=heard.reset)
    task = asyncio.create_task(watch.run())
    try:
        await until(watch.vouches, "the watch to vouch")
        yield watch, heard
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def until(condition: object, what: str, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not (callable(condition) and condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


async def test_a_bump_is_known_here_once_its_writer_has_heard_it_is_done() -> None:
    """The bump comes from a blocking client, so no turn of this loop passes between its reply
    and `vouches()`: only the watch's own read of its socket can have seen it. Fifty times."""
    url = shared_redis(WATCH_DB)
    prefix = f"test-watch-{os.getpid()}:"
    writer = redis.Redis.from_url(url)
    async with watched(url, prefix, lease=5.0) as (watch, heard):
        for n in range(50):
            key = f"{prefix}{n % 7}"
            heard.changed.clear()
            writer.incr(key)
            assert watch.vouches()
            assert heard.changed == [key], n
        writer.incr("not-watched")
        assert watch.vouches()
        assert heard.changed == [key]  # the last bump, and nothing for a key of no generation


async def test_a_lost_connection_stops_it_vouching_and_a_new_one_forgets_what_was_kept() -> None:
    url = shared_redis(WATCH_DB)
    admin = redis.Redis.from_url(url)
    async with watched(url, f"test-watch-{os.getpid()}:", lease=5.0) as (watch, heard):
        watch_id, resets = _watch_id(admin), heard.resets
        assert admin.client_kill_filter(_id=watch_id) == 1
        assert not watch.vouches()  # the very next hit is checked in Redis
        await until(watch.vouches, "the watch to reconnect")
        assert heard.resets == resets + 1
        # Every key gone: everything kept is forgotten. (Redis writes a flush's invalidation
        # after the flusher's reply, unlike a bump's, so it is awaited; writes only bump.)
        admin.flushdb()
        await until(lambda: heard.resets == resets + 2, "the flush to be pushed")
        assert watch.vouches()


def _watch_id(admin: redis.Redis) -> str:
    clients = admin.client_list()
    ids = [c["id"] for c in clients if c.get("name") == "gateway-generation-watch"]
    assert len(ids) == 1, clients
    return str(ids[0])


async def test_a_frozen_redis_stops_it_vouching_within_its_lease() -> None:
    with private_redis() as server:
        async with watched(server.url, "test-watch:", lease=0.2) as (watch, _):
            server.freeze()
            try:
                began = time.monotonic()
                await until(lambda: not watch.vouches(), "the lease to run out", 2)
                assert time.monotonic() - began < 0.5
                assert watch.lapsed > 0
            finally:
                server.thaw()
            await until(watch.vouches, "the watch to vouch again")


async def test_a_long_freeze_keeps_a_bounded_number_of_pings_in_flight() -> None:
    """A ping every 10 ms for a second of frozen Redis: at most MAX_PENDING_PINGS wait for their
    answers, and once Redis answers them all (in order) the watch vouches again."""
    with private_redis() as server:
        async with watched(server.url, "test-watch:", lease=0.03) as (watch, _):
            server.freeze()
            try:
                await asyncio.sleep(1.0)
                assert not watch.vouches()
                assert len(watch._pings) == MAX_PENDING_PINGS
            finally:
                server.thaw()
            await until(watch.vouches, "the watch to vouch again")
            assert len(watch._pings) < MAX_PENDING_PINGS


async def test_a_redis_that_refuses_tracking_leaves_hits_checked() -> None:
    with private_redis() as server:
        admin = redis.Redis.from_url(server.url)
        admin.acl_setuser(
            "reader", enabled=True, passwords=["+secret"], keys=["*"], commands=["+@all", "-client"]
        )
        url = server.url.replace("redis://", "redis://reader:secret@")
        watch = GenerationWatch(url, "g:", lease=1.0, on_change=print, on_reset=print)
        await asyncio.wait_for(watch.run(), 5)  # it gives up rather than retrying forever
        assert not watch.vouches()


@pytest.fixture(scope="module")
def watch_database() -> Iterator[str]:
    yield from postgres_database(f"gateway_test_{os.getpid()}_watch")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def seeded_settings(watch_database: str) -> Settings:
    return (await seeded(watch_database, 60)).model_copy(update={"celery_broker_url": None})


@dataclass
class Kept:
    """W1 kept on a reader instance, whose watch vouches; a writer instance beside it."""

    reader: httpx.AsyncClient
    api: Api
    writer: Api
    watch: GenerationWatch
    variant: str
    document: str
    variables: dict[str, Any]

    async def write_price(self, amount: str) -> None:
        written = await self.writer.query(PRICE, {"id": self.variant, "amount": amount})
        assert written.data["variantUpdate"]["userErrors"] == []

    async def read_price(self) -> tuple[Decimal, int]:
        """The variant's price in W1 as the reader answers it, and the SQL that took."""
        after = await self.api.query(self.document, self.variables)
        variants = after.data["product"]["variants"]
        price = next(v for v in variants if v["id"] == self.variant)["price"]["amount"]
        return Decimal(price), after.sql


@asynccontextmanager
async def kept(settings: Settings) -> AsyncIterator[Kept]:
    async with AsyncExitStack() as stack:
        reader, other = [await stack.enter_async_context(serving(settings)) for _ in "ab"]
        api, writer = Api(reader), Api(other, token(settings, Role.EDITOR))
        watch = reader._transport.app.state.gateway.responses.watch  # type: ignore[attr-defined]
        await until(watch.vouches, "the watch to vouch")
        node = (await api.query(FIRST)).data["products"]["edges"][0]["node"]
        document, variables = workload("W1"), {"slug": node["slug"]}
        await api.query(document, variables)
        assert (await api.query(document, variables)).sql == 0
        yield Kept(reader, api, writer, watch, node["variants"][0]["id"], document, variables)


async def test_a_write_while_redis_is_frozen_is_seen_by_the_next_read_elsewhere(
    seeded_settings: Settings,
) -> None:
    """Redis freezes with W1 kept on a reader; a price change through another instance cannot
    bump its generations (the bump times out, the write stands), and the reader's very next
    read has the new price: its watch stopped vouching before the writer could answer."""
    with private_redis() as server:
        async with kept(seeded_settings.model_copy(update={"redis_url": server.url})) as w1:
            ready = (await w1.reader.get("/readyz")).json()["dependencies"]["responses"]
            assert ready["watch"]["connected"] is True
            server.freeze()
            try:
                await w1.write_price("0.03")
                price, sql = await w1.read_price()
            finally:
                server.thaw()
            assert price == Decimal("0.03")
            assert sql > 0


async def test_bytes_that_are_not_resp_stop_it_vouching_and_never_fail_a_hit() -> None:
    """Whatever arrives on its socket, `vouches()` (called by every hit) answers: here a
    connected watch's socket is handed garbage by its other end."""
    url = shared_redis(WATCH_DB)
    async with watched(url, f"test-watch-{os.getpid()}:", lease=5.0) as (watch, _):
        ours, theirs = socket.socketpair()
        with theirs:
            real, watch._socket = watch._socket, ours
            assert real is not None
            asyncio.get_running_loop().remove_reader(real.fileno())
            real.close()
            theirs.sendall(b"!not resp at all\r\n")
            assert watch.vouches() is False
        await until(watch.vouches, "the watch to reconnect")


async def test_a_write_while_redis_restarts_is_seen_once_it_is_back(
    seeded_settings: Settings,
) -> None:
    """Redis goes away with W1 kept on a reader (its generations with it), a price changes
    through another instance meanwhile, and Redis comes back empty on the same port: the
    reader's watch reconnects, forgets what it kept, and the next read has the new price."""
    with private_redis() as server:
        async with kept(seeded_settings.model_copy(update={"redis_url": server.url})) as w1:
            resets = w1.watch.resets
            server.stop()
            await w1.write_price("0.05")
            server.start()
            await until(w1.watch.vouches, "the watch to reconnect")
            assert w1.watch.resets == resets + 1
            price, sql = await w1.read_price()
            assert price == Decimal("0.05")
            assert sql > 0
