"""The base every loader shares: a session factory, never a session."""

from typing import Any, TypeVar

from aiodataloader import DataLoader
from sqlalchemy.ext.asyncio import async_sessionmaker

K = TypeVar("K")
V = TypeVar("V")


class SessionLoader(DataLoader[K, V]):
    def __init__(self, sessions: async_sessionmaker[Any]) -> None:
        super().__init__()
        self.sessions = sessions

    def prime_missing(self, key: K, value: V) -> None:
        """Prime without replacing a value some caller is already waiting for."""
        if self.get_cache_key(key) not in self._cache:
            self.prime(key, value)
