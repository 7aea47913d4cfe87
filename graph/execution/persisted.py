"""Which document a request runs: its text, an automatic persisted query, or a trusted document.

Automatic persisted queries follow Apollo's protocol: `extensions.persistedQuery.sha256Hash`
alone asks for a document registered earlier (PERSISTED_QUERY_NOT_FOUND tells the client to
send the text with the hash, which registers it). Trusted documents are registered by the
operator (`gateway documents add`) and, with TRUSTED_DOCUMENTS_ONLY, are all that may run: a
text is accepted if it is one of them, a hash or `documentId` if it names one, and nothing
registers by itself.
"""

import hashlib
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from db.cache.breaker import Breaker
from graph.errors import BadUserInput, Forbidden, PersistedQueryNotFound

log = logging.getLogger(__name__)

KEY_PREFIX = "gateway:apq:"
SHA256 = re.compile(r"[0-9a-f]{64}")
# How long a trusted-document miss is remembered, so unknown hashes cannot cost a query each.
MISS_SECONDS = 2.0
NOT_FOUND = "PersistedQueryNotFound"

TrustedLookup = Callable[[str], Awaitable[str | None]]


class DocumentStore(Protocol):
    async def get(self, sha256: str) -> str | None: ...

    async def put(self, sha256: str, body: str) -> None: ...


class NoDocuments:
    """Automatic persisted queries turned off: nothing is kept, every hash is unknown."""

    async def get(self, sha256: str) -> str | None:
        return None

    async def put(self, sha256: str, body: str) -> None:
        return None


class MemoryDocumentStore:
    def __init__(self, max_documents: int = 10_000) -> None:
        self.max_documents = max_documents
        self._documents: OrderedDict[str, str] = OrderedDict()

    async def get(self, sha256: str) -> str | None:
        body = self._documents.get(sha256)
        if body is not None:
            self._documents.move_to_end(sha256)
        return body

    async def put(self, sha256: str, body: str) -> None:
        self._documents[sha256] = body
        self._documents.move_to_end(sha256)
        if len(self._documents) > self.max_documents:
            self._documents.popitem(last=False)


class RedisDocumentStore:
    """Shared by every instance; a failing Redis is a miss (the client sends the text again)."""

    def __init__(self, client: Redis, *, ttl_seconds: int, cooldown: float = 1.0) -> None:
        self.client = client
        self.ttl_seconds = ttl_seconds
        self.breaker = Breaker("Redis persisted queries", log, cooldown)

    async def get(self, sha256: str) -> str | None:
        if not self.breaker.available():
            return None
        try:
            found = await self.client.get(KEY_PREFIX + sha256)
        except (RedisError, OSError) as error:
            self.breaker.failed(error)
            return None
        self.breaker.succeeded()
        if found is None:
            return None
        return found.decode() if isinstance(found, bytes) else str(found)

    async def put(self, sha256: str, body: str) -> None:
        if not self.breaker.available():
            return
        try:
            await self.client.set(KEY_PREFIX + sha256, body.encode(), ex=self.ttl_seconds)
        except (RedisError, OSError) as error:
            self.breaker.failed(error)
            return
        self.breaker.succeeded()


class TrustedDocuments:
    """Lookups of registered documents, remembered: hits for good, misses briefly."""

    def __init__(self, lookup: TrustedLookup, max_documents: int = 10_000) -> None:
        self.lookup = lookup
        self.max_documents = max_documents
        self._found: OrderedDict[str, str] = OrderedDict()
        self._missed: OrderedDict[str, float] = OrderedDict()

    async def get(self, key: str) -> str | None:
        body = self._found.get(key)
        if body is not None:
            return body
        missed = self._missed.get(key)
        if missed is not None and time.monotonic() - missed < MISS_SECONDS:
            return None
        body = await self.lookup(key)
        if body is None:
            self._missed[key] = time.monotonic()
            _bound(self._missed, self.max_documents)
            return None
        self._found[key] = body
        _bound(self._found, self.max_documents)
        return body


def _bound(entries: "OrderedDict[str, Any]", size: int) -> None:
    while len(entries) > size:
        entries.popitem(last=False)


def _requested_hash(extensions: dict[str, Any] | None) -> str | None:
    persisted = (extensions or {}).get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise BadUserInput("Unsupported persisted query: send version 1 with a sha256Hash.")
    sha = persisted.get("sha256Hash")
    if not isinstance(sha, str) or not SHA256.fullmatch(sha):
        raise BadUserInput("`persistedQuery.sha256Hash` must be 64 lowercase hex digits.")
    return sha


class PersistedDocuments:
    def __init__(
        self, store: DocumentStore, trusted: TrustedDocuments, *, trusted_only: bool
    ) -> None:
        self.store = store
        self.trusted = trusted
        self.trusted_only = trusted_only

    async def resolve(
        self, query: str | None, extensions: dict[str, Any] | None, document_id: str | None
    ) -> str:
        """The text to run; raises with the code the client acts on."""
        sha = _requested_hash(extensions)
        if document_id is not None:
            return await self._by_id(document_id.removeprefix("sha256:"))
        if query is None:
            if sha is None:
                raise BadUserInput("Send `query`, a persisted query hash, or a `documentId`.")
            return await self._by_hash(sha)
        if sha is None and not self.trusted_only:
            return query  # the common case: a plain query, nothing to hash
        text_sha = hashlib.sha256(query.encode()).hexdigest()
        if sha is not None and sha != text_sha:
            raise BadUserInput("`persistedQuery.sha256Hash` is not the SHA-256 of `query`.")
        if self.trusted_only:
            if await self.trusted.get(text_sha) is None:
                raise Forbidden(
                    "Only trusted documents run on this gateway; register this one with "
                    "`gateway documents add`."
                )
        elif sha is not None:
            await self.store.put(sha, query)
        return query

    async def _by_hash(self, sha: str) -> str:
        body = await self.trusted.get(sha)
        if body is None and not self.trusted_only:
            body = await self.store.get(sha)
        if body is None:
            raise PersistedQueryNotFound(NOT_FOUND)
        return body

    async def _by_id(self, document_id: str) -> str:
        if not document_id or len(document_id) > 200:
            raise BadUserInput("`documentId` must be 1 to 200 characters.")
        body = await self.trusted.get(document_id)
        if body is None:
            raise PersistedQueryNotFound(NOT_FOUND)
        return body
