"""The relay publishes committed changes to the event stream once each, in commit order."""

import asyncio
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from redis.asyncio import Redis

from db.engine import create_engine, session_factory
from db.models import ChangeKind
from db.rows import ChangeRow
from db.writes.unit import write_transaction
from graph import ids
from graph.viewer import Role
from tests.celery_support import shared_redis
from tests.conftest import postgres_database, seeded, serving, token
from tests.support import Api
from workers.dispatch import LocalDispatcher
from workers.events import STREAM, MemoryEventStream, RedisEventStream
from workers.relay import Relay

pytestmark = pytest.mark.asyncio(loop_scope="session")
EVENTS_DB = 9


@pytest.fixture(scope="module")
def events_database() -> Iterator[str]:
    yield from postgres_database(f"gateway_test_{os.getpid()}_events")


async def test_two_relays_publish_each_change_once_in_order(events_database: str) -> None:
    settings = (await seeded(events_database, 0)).model_copy(update={"relay_batch_size": 50})
    client = Redis.from_url(shared_redis(EVENTS_DB))
    engine = create_engine(settings)
    dispatcher = LocalDispatcher(settings)
    try:
        sessions = session_factory(engine)
        for batch in range(6):
            async with write_transaction(sessions, "test") as tx:
                for n in range(50):
                    tx.record("Product", batch * 50 + n + 1, ChangeKind.UPDATED, ("name",), (1,))
        relays = [Relay(sessions, dispatcher, settings, RedisEventStream(client)) for _ in range(2)]

        async def drain(relay: Relay) -> int:
            total = 0
            for _ in range(20):
                total += await relay.publish_changes()
            return total

        published = await asyncio.gather(*(drain(relay) for relay in relays))
        assert sum(published) == 300
        entries: list[Any] = await client.xrange(STREAM) or []
        sequences = [orjson.loads(fields[b"change"])["sequence"] for _, fields in entries]
        assert sequences == sorted(set(sequences))
        assert len(sequences) == 300
        assert [int(entry_id.split(b"-")[0]) for entry_id, _ in entries] == sequences
    finally:
        dispatcher.close()
        await engine.dispose()
        await client.aclose()


async def test_the_in_process_stream_is_bounded_and_ordered() -> None:
    stream = MemoryEventStream(max_length=5)
    rows = [
        ChangeRow(n, "Product", n, "UPDATED", ["name"], [1], "t", datetime.now(UTC), None)
        for n in range(1, 9)
    ]
    assert await stream.publish(rows[:6]) == 6
    assert await stream.publish(rows) == 2  # the first six are there already
    assert [sequence for sequence, _ in stream.entries] == [4, 5, 6, 7, 8]
    assert await stream.last_sequence() == 8


async def test_a_mutation_reaches_the_gateways_own_stream(events_database: str) -> None:
    settings = (await seeded(events_database, 20)).model_copy(update={"relay_poll_seconds": 0.05})
    async with serving(settings) as client:
        events: Any = client._transport.app.state.gateway.relay.events  # type: ignore[attr-defined]
        assert isinstance(events, MemoryEventStream)
        admin = Api(client, token(settings, Role.ADMIN, "streamer"))
        result = await admin.query(
            'mutation($id: ID!) { categoryUpdate(id: $id, input: {name: "Streamed"}) '
            "{ userErrors { code } } }",
            {"id": ids.encode("Category", 5)},
        )
        assert result.data["categoryUpdate"]["userErrors"] == []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while not events.entries or orjson.loads(events.entries[-1][1])["entityType"] != "Category":
            assert loop.time() < deadline, "the change never reached the stream"
            await asyncio.sleep(0.02)
        newest = orjson.loads(events.entries[-1][1])
        assert (newest["entityId"], newest["changedFields"], newest["actor"]) == (
            5,
            ["name"],
            "streamer",
        )
