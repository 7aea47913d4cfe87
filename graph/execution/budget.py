"""Per-client cost budgets: a leaky bucket of cost points per client (token subject, else IP).

An operation takes its estimated cost from the client's bucket before it runs and gets back what
it did not spend; the bucket refills at a steady rate up to its capacity. With Redis the bucket is
one hash updated by one Lua script, atomic across every gateway process, on Redis's own clock;
without it, a map in this process. If Redis fails, budgets are not enforced (the breaker logs it
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

from db.cache.breaker import Breaker

log = logging.getLogger(__name__)

KEY_PREFIX = "gateway:budget:"

# KEYS[1] the bucket; ARGV capacity, restore per second, cost (negative gives points back).
# Returns {taken (0/1), points available after, milliseconds until `cost` would be available}.
TAKE = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now = redis.call('TIME')
local now_ms = now[1] * 1000 + math.floor(now[2] / 1000)
local level = tonumber(redis.call('HGET', KEYS[1], 'level'))
local at = tonumber(redis.call('HGET', KEYS[1], 'at'))
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
redis.call('HSET', KEYS[1], 'level', tostring(level), 'at', tostring(now_ms))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity * 1000 / rate) + 1000)
return {taken, tostring(level), wait}
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


class RedisBudgets:
    def __init__(self, client: Redis, *, cooldown: float = 1.0) -> None:
        self.client = client
        self.breaker = Breaker("Redis budgets (not enforced meanwhile)", log, cooldown)
        self._take = client.register_script(TAKE)

    async def _run(self, client: str, cost: int, allowance: Allowance) -> Throttle | None:
        if not self.breaker.available():
            return None
        args = [allowance.capacity, allowance.restore_per_second, cost]
        try:
            taken, level, wait = await self._take(keys=[KEY_PREFIX + client], args=args)
        except (RedisError, OSError) as error:
            self.breaker.failed(error)
            return None
        self.breaker.succeeded()
        return Throttle(bool(taken), float(level), int(wait) / 1000, allowance)

    async def take(self, client: str, cost: int, allowance: Allowance) -> Throttle:
        throttle = await self._run(client, cost, allowance)
        return throttle or Throttle(True, allowance.capacity, 0.0, allowance)

    async def give_back(self, client: str, points: int, allowance: Allowance) -> None:
        if points > 0:
            await self._run(client, -points, allowance)
