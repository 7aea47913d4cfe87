"""Documents: parsed, measured against the limits and validated once, then served from a cache.

The order is cheapest refusal first: the limits pass reads the document's tokens (milliseconds
for the largest) before the parser (ten microseconds a token) and validation (more again) see
it; a document bigger than a few hundred tokens is parsed and validated on a thread of its own, so a
stream of new large documents slows the event loop but never holds it. The cache is keyed by the
text and, behind that, by the document's tokens without comments, so a comment or new white
space does not buy another validation.
"""

import asyncio
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    ASTValidationRule,
    DirectiveNode,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    NoSchemaIntrospectionCustomRule,
    OperationDefinitionNode,
    OperationType,
    TokenKind,
    VariableNode,
    Visitor,
    get_operation_ast,
    parse,
    specified_rules,
    validate,
    visit,
)

from graph.errors import ErrorCode, error_dict
from graph.execution import limits
from graph.execution.cost import CostModel, Plan
from graph.execution.plan import fragments_of

# Operation names remembered per document: a client may send any name, most of them unknown.
MAX_OPERATION_NAMES = 64
# Below this many characters a document parses and validates in well under a millisecond.
INLINE_CHARS = 1_000


@dataclass(slots=True)
class Prepared:
    """A parsed document (None if it did not parse) and its refusal, if any."""

    document: DocumentNode | None
    errors: list[dict[str, Any]]
    model: CostModel | None = None
    _plans: dict[str | None, Plan] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # Execution plans by (operation name, values of the @skip/@include variables); None: the
    # operation runs on graphql-core.
    executions: dict[tuple[Any, ...], Any] = field(default_factory=dict)
    _conditions: tuple[str, ...] | None = None
    _fragments: Any = None
    _operations: dict[str | None, OperationDefinitionNode | None] = field(default_factory=dict)
    # The planned executor's plan.VariableShape (or None) by operation name, of operations found.
    shapes: dict[str | None, Any] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return self.document is not None and not self.errors

    def operation(self, name: str | None) -> OperationDefinitionNode | None:
        # Asked three times a request (transport, admission, plan): found once per name.
        try:
            return self._operations[name]
        except KeyError:
            pass
        found = None if self.document is None else get_operation_ast(self.document, name)
        if len(self._operations) < MAX_OPERATION_NAMES:
            self._operations[name] = found
        return found

    @property
    def fragments(self) -> Any:
        """The fragments as the planned executor takes them (see plan.fragments_of)."""
        if self._fragments is None and self.document is not None:
            self._fragments = (fragments_of(self.document),)
        return None if self._fragments is None else self._fragments[0]

    @property
    def condition_variables(self) -> tuple[str, ...]:
        """The variables any @skip or @include reads: an execution plan depends on them."""
        if self._conditions is None:
            self._conditions = conditions(self.document) if self.document else ()
        return self._conditions

    def cost_plan(self, name: str | None) -> Plan:
        """The cost plan of one operation, compiled on first use (valid documents only)."""
        plan = self._plans.get(name)
        if plan is not None:
            return plan
        operation = self.operation(name)
        if operation is None or self.document is None or self.model is None:
            return Plan(())
        plan = self.model.plan(self.document, operation)
        with self._lock:
            self._plans[name] = plan
        return plan


class _Conditions(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def enter_directive(self, node: DirectiveNode, *_: Any) -> None:
        if node.name.value in ("skip", "include"):
            for argument in node.arguments or ():
                if isinstance(argument.value, VariableNode):
                    self.names.append(argument.value.name.value)


def conditions(document: DocumentNode) -> tuple[str, ...]:
    found = _Conditions()
    visit(document, found)
    return tuple(dict.fromkeys(found.names))


def is_kind(operation: OperationDefinitionNode | None, kind: OperationType) -> bool:
    return operation is not None and operation.operation is kind


def token_key(document: DocumentNode) -> bytes:
    """The document's tokens without comments: equal for texts that differ only in comments,
    white space and commas."""
    digest = hashlib.sha256()
    token = document.loc.start_token if document.loc else None
    while token is not None:
        if token.kind is not TokenKind.COMMENT:
            value = token.value or ""
            digest.update(f"{token.kind.value}{len(value)}:{value}".encode())
        token = token.next
    return digest.digest()


class Documents:
    def __init__(
        self,
        schema: GraphQLSchema,
        *,
        cache_size: int = 1_000,
        operation_limits: limits.Limits | None = None,
        introspection: bool = True,
    ) -> None:
        self.schema = schema
        self.cache_size = cache_size
        self.limits = operation_limits or limits.Limits()
        self.model = CostModel(schema)
        # Built once: rule classes created per request would never hit graphql-core's caches.
        extra: Sequence[type[ASTValidationRule]] = (
            () if introspection else (NoSchemaIntrospectionCustomRule,)
        )
        self.rules = (*specified_rules, *extra)
        self._by_text: OrderedDict[str, Prepared] = OrderedDict()
        self._by_tokens: OrderedDict[bytes, Prepared] = OrderedDict()
        self._lock = threading.Lock()
        self._pending: dict[str, asyncio.Future[Prepared]] = {}
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="validate")
        self.validations = 0

    def cached(self, text: str) -> Prepared | None:
        with self._lock:
            prepared = self._by_text.get(text)
            if prepared is not None:
                self._by_text.move_to_end(text)
            return prepared

    async def prepare(self, text: str) -> Prepared:
        prepared = self.cached(text)
        if prepared is not None:
            return prepared
        if len(text) <= INLINE_CHARS:
            return self.prepare_now(text)
        pending = self._pending.get(text)
        if pending is None:
            loop = asyncio.get_running_loop()
            pending = asyncio.ensure_future(
                loop.run_in_executor(self._thread, self.prepare_now, text)
            )
            self._pending[text] = pending
            pending.add_done_callback(lambda _: self._pending.pop(text, None))
        return await asyncio.shield(pending)

    def prepare_now(self, text: str) -> Prepared:
        lexical, over = limits.check(text, self.limits)
        if lexical or over:
            code = (
                ErrorCode.GRAPHQL_PARSE_FAILED if lexical else ErrorCode.GRAPHQL_VALIDATION_FAILED
            )
            refused = [error_dict(e.message, code) for e in lexical or over]
            return self._remember(text, None, Prepared(None, refused))
        try:
            document = parse(
                text,
                max_lexical_tokens=self.limits.max_tokens,
                max_comments=self.limits.max_comments,
                max_source_length=self.limits.max_source_length,
            )
        except GraphQLError as error:
            failed = error_dict(error.message, ErrorCode.GRAPHQL_PARSE_FAILED, error)
            return self._remember(text, None, Prepared(None, [failed]))
        key = token_key(document)
        with self._lock:
            known = self._by_tokens.get(key)
        if known is not None and known.valid:
            # Validated already; this text's own AST keeps error locations right.
            return self._remember(text, key, Prepared(document, [], self.model))
        self.validations += 1
        found = validate(self.schema, document, self.rules)
        code = ErrorCode.GRAPHQL_VALIDATION_FAILED
        prepared = Prepared(document, [error_dict(e.message, code, e) for e in found], self.model)
        return self._remember(text, key, prepared)

    def _remember(self, text: str, key: bytes | None, prepared: Prepared) -> Prepared:
        with self._lock:
            self._by_text[text] = prepared
            if len(self._by_text) > self.cache_size:
                self._by_text.popitem(last=False)
            if key is not None:
                self._by_tokens[key] = prepared
                self._by_tokens.move_to_end(key)
                if len(self._by_tokens) > self.cache_size:
                    self._by_tokens.popitem(last=False)
        return prepared

    def close(self) -> None:
        self._thread.shutdown(wait=False, cancel_futures=True)
