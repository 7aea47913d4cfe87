"""Per-client cost budgets: a leaky bucket of cost points per client (token subject, else IP).

An operation takes its estimated cost from the client's bucket before it runs and gets back what
it did not spend; the bucket refills at a steady rate up to its capacity. With Redis the bucket is
one hash updated by a Lua script, atomic across every gateway process, on Redis's own clock (the
takes of one loop turn, of every request, go in one call: db.batching); without it, a map in
this process. If Redis fails, budgets are not enforced (the breaker logs it
once) rather than refusing every client.
"""

import logging
import math
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from db.batching import Batched
from db.cache.breaker import Breaker

log = logging.getLogger(__name__)

KEY_PREFIX = "gateway:budget:"

# KEYS: the buckets; ARGV: capacity, restore per second and cost for each, in turn (a negative
# cost gives points back). The same bucket twice is taken from twice, in order. Returns, for
# each: taken (0/1), points available after, milliseconds until its cost would be available.
TAKE = """
local now = redis.call('TIME')
local now_ms = now[1] * 1000 + math.floor(now[2] / 1000)
local out = {}
for i, key in ipairs(KEYS) do
  local capacity = tonumber(ARGV[3 * i - 2])
  local rate = tonumber(ARGV[3 * i - 1])
  local cost = tonumber(ARGV[3 * i])
  local level = tonumber(redis.call('HGET', key, 'level'))
  local at = tonumber(redis.call('HGET', key, 'at'))
  if level == nil or at == nil then
    level = capacity
  else
    level = math.min(capacity, level + math.max(0, now_ms - at) * rate / 1000)
  end
  local taken = 0
  local wait = 0
  if cost <= level then
    level = level - cost
    taken = 1
  else
    wait = math.ceil((cost - level) * 1000 / rate)
  end
  level = math.min(level, capacity)
  redis.call('HSET', key, 'level', tostring(level), 'at', tostring(now_ms))
  redis.call('PEXPIRE', key, math.ceil(capacity * 1000 / rate) + 1000)
  out[#out + 1] = taken
  out[#out + 1] = tostring(level)
  out[#out + 1] = wait
end
return out
"""


@dataclass(frozen=True, slots=True)
class Allowance:
    capacity: float
    restore_per_second: float


@dataclass(frozen=True, slots=True)
class Throttle:
    taken: bool
    available: float
    retry_after: float
    allowance: Allowance

    def status(self) -> dict[str, float]:
        """Shopify's `throttleStatus`."""
        return {
            "maximumAvailable": self.allowance.capacity,
            "currentlyAvailable": math.floor(self.available),
            "restoreRate": self.allowance.restore_per_second,
        }


class Budgets(Protocol):
    async def take(self, client: str, cost: int, allowance: Allowance) -> Throttle: ...

    async def give_back(self, client: str, points: int, allowance: Allowance) -> None: ...


class MemoryBudgets:
    """Buckets of this process; the least recently seen are forgotten past `max_clients`
    (a forgotten client starts again with a full bucket)."""

    def __init__(self, max_clients: int = 100_000) -> None:
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def _level(self, client: str, allowance: Allowance, now: float) -> float:
        found = self._buckets.get(client)
        if found is None:
            return allowance.capacity
        level, at = found
        return min(allowance.capacity, level + (now - at) * allowance.restore_per_second)

    def _store(self, client: str, level: float, now: float) -> None:
        self._buckets[client] = (level, now)
        self._buckets.move_to_end(client)
        if len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)

    async def take(self, client: str, cost: int, allowance: Allowance) -> Throttle:
        now = time.monotonic()
        level = self._level(client, allowance, now)
        if cost > level:
            self._store(client, level, now)
            wait = (cost - level) / allowance.restore_per_second
            return Throttle(False, level, wait, allowance)
        self._store(client, level - cost, now)
        return Throttle(True, level - cost, 0.0, allowance)

    async def give_back(self, client: str, points: int, allowance: Allowance) -> None:
        now = time.monotonic()
        level = self._level(client, allowance, now)
        self._store(client, min(allowance.capacity, level + points), now)


# A take (or, with a negative cost, a give-back) of one bucket.
Take = tuple[str, int, Allowance]


class RedisBudgets:
    """Every bucket taken from in one loop turn, by any request, in one script call: a round trip
    per operation had halved the requests per second of cached responses."""

    def __init__(self, client: Redis, *, cooldown: float = 1.0) -> None:
        self.client = client
        self.breaker = Breaker("Redis budgets (not enforced meanwhile)", log, cooldown)
        self._take = client.register_script(TAKE)
        self._batched: Batched[Take, Throttle | None] = Batched(self._send)

    async def _send(self, takes: list[Take]) -> list[Throttle | None]:
        if not self.breaker.available():
            return [None] * len(takes)
        keys = [KEY_PREFIX + client for client, _, _ in takes]
        args: list[float] = []
        for _, cost, allowance in takes:
            args += [allowance.capacity, allowance.restore_per_second, cost]
        try:
            found = await self._take(keys=keys, args=args)
        except (RedisError, OSError) as error:
            self.breaker.failed(error)
            return [None] * len(takes)
        self.breaker.succeeded()
        return [
            Throttle(bool(found[3 * i]), float(found[3 * i + 1]), int(found[3 * i + 2]) / 1000, a)
            for i, (_, _, a) in enumerate(takes)
        ]

    async def take(self, client: str, cost: int, allowance: Allowance) -> Throttle:
        throttle = await self._batched((client, cost, allowance))
        return throttle or Throttle(True, allowance.capacity, 0.0, allowance)

    async def give_back(self, client: str, points: int, allowance: Allowance) -> None:
        if points > 0:
            await self._batched((client, -points, allowance))
