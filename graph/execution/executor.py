"""Parses and validates each distinct document once, executes it, and gives every error a code.

Strawberry builds the schema and resolvers; the request path talks to graphql-core directly
so a cached document skips parsing and validation entirely (most of a small query's cost).
"""

import asyncio
import logging
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterable, Hashable
from dataclasses import dataclass
from typing import Any, cast

import strawberry
from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    execute,
    get_operation_ast,
    parse,
    validate,
)
from graphql.execution import create_source_event_stream, execute_subscription_event
from graphql.execution.executor import Executor as OperationExecutor
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.utils.await_maybe import await_maybe

from graph.errors import ErrorCode, GatewayError
from graph.execution import limits

log = logging.getLogger(__name__)

MASKED_MESSAGE = "Internal server error."
# One subscription event's data and formatted errors.
EventResult = tuple[Any, list[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class Prepared:
    """A parsed document (None if it did not parse) and its parse or validation errors."""

    document: DocumentNode | None
    errors: list[dict[str, Any]]

    @property
    def valid(self) -> bool:
        return self.document is not None and not self.errors


def error_dict(message: str, code: ErrorCode, error: GraphQLError | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"message": message}
    if error is not None and error.locations:
        out["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error is not None and error.path is not None:
        out["path"] = list(error.path)
    out["extensions"] = {"code": code.value}
    return out


def format_execution_error(error: GraphQLError) -> dict[str, Any]:
    original = error.original_error
    if isinstance(original, GatewayError) and original.code is not ErrorCode.INTERNAL_SERVER_ERROR:
        return error_dict(str(original), original.code, error)
    log.error("unexpected error at %s", error.path, exc_info=original or error)
    return error_dict(MASKED_MESSAGE, ErrorCode.INTERNAL_SERVER_ERROR, error)


class Executor:
    def __init__(
        self,
        schema: strawberry.Schema,
        cache_size: int = 1_000,
        operation_limits: limits.Limits | None = None,
    ) -> None:
        self.schema: GraphQLSchema = schema._schema
        self.cache_size = cache_size
        self.limits = operation_limits or limits.Limits()
        self._prepared: OrderedDict[str, Prepared] = OrderedDict()

    def prepare(self, query: str) -> Prepared:
        prepared = self._prepared.get(query)
        if prepared is not None:
            self._prepared.move_to_end(query)
            return prepared
        prepared = self._parse_and_validate(query)
        self._prepared[query] = prepared
        if len(self._prepared) > self.cache_size:
            self._prepared.popitem(last=False)
        return prepared

    def _parse_and_validate(self, query: str) -> Prepared:
        try:
            document = parse(query, max_tokens=self.limits.max_tokens)
        except GraphQLError as error:
            return Prepared(
                None, [error_dict(error.message, ErrorCode.GRAPHQL_PARSE_FAILED, error)]
            )
        code = ErrorCode.GRAPHQL_VALIDATION_FAILED
        found = validate(self.schema, document) or limits.check(document, self.limits)
        return Prepared(document, [error_dict(e.message, code, e) for e in found])

    @staticmethod
    def operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
        return get_operation_ast(document, name)

    @staticmethod
    def is_subscription(operation: OperationDefinitionNode | None) -> bool:
        return operation is not None and operation.operation is OperationType.SUBSCRIPTION

    @staticmethod
    def is_query(operation: OperationDefinitionNode | None) -> bool:
        return operation is not None and operation.operation is OperationType.QUERY

    async def execute(
        self,
        document: DocumentNode,
        *,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        context: Any,
    ) -> tuple[Any, list[dict[str, Any]], bool]:
        """The data, the formatted errors, and whether execution started at all."""
        result: ExecutionResult = await await_maybe(
            execute(
                self.schema,
                document,
                context_value=context,
                variable_values=variables,
                operation_name=operation_name,
                executor_class=StrawberryGraphQLCoreExecutionContext,
            )
        )
        return self._formatted(result)

    @staticmethod
    def _formatted(result: ExecutionResult) -> tuple[Any, list[dict[str, Any]], bool]:
        raised = result.errors or []
        started = result.data is not None or any(e.path is not None for e in raised)
        if not started:
            # Refused before execution: variables that do not coerce, or no such operation.
            code = ErrorCode.BAD_USER_INPUT
            return None, [error_dict(e.message, code, e) for e in raised], False
        return result.data, [format_execution_error(e) for e in raised], True

    async def subscribe(
        self,
        document: DocumentNode,
        *,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        context: Any,
        share_key: Hashable | None = None,
    ) -> AsyncGenerator[tuple[Any, list[dict[str, Any]]], None] | list[dict[str, Any]]:
        """The stream of (data, formatted errors) per event, or the errors that refused it.

        With `share_key` (the same for subscribers whose results must be equal: one document,
        variables and role), an event that offers `shared(key, compute)` is executed once
        for all of them rather than once per subscriber."""
        built = StrawberryGraphQLCoreExecutionContext.build(
            self.schema,
            document,
            context_value=context,
            raw_variable_values=variables,
            operation_name=operation_name,
        )
        if isinstance(built, list):
            return self._formatted(ExecutionResult(None, built))[1]
        source = await await_maybe(create_source_event_stream(built))
        if isinstance(source, ExecutionResult):
            return self._formatted(source)[1]
        return self._results(built, cast(AsyncIterable[Any], source), share_key)

    async def _results(
        self,
        built: OperationExecutor[Any],
        source: AsyncIterable[Any],
        share_key: Hashable | None,
    ) -> AsyncGenerator[tuple[Any, list[dict[str, Any]]], None]:
        """graphql-core's map_source_to_response_event, except that a shared result is
        computed by the first subscriber only: the others build no per-event executor."""
        try:
            async for event in source:
                shared = None if share_key is None else getattr(event, "shared", None)
                if shared is None:
                    yield await self._event_result(built, event)
                    continue

                def compute(event: Any = event) -> "asyncio.Future[EventResult]":
                    return asyncio.ensure_future(self._event_result(built, event))

                future = shared(share_key, compute)
                # Shielded: a subscriber that leaves must not cancel the others' result.
                yield future.result() if future.done() else await asyncio.shield(future)
        finally:
            aclose = getattr(source, "aclose", None)
            if aclose is not None:
                await aclose()

    @staticmethod
    async def _event_result(built: OperationExecutor[Any], event: Any) -> "EventResult":
        result = await await_maybe(
            execute_subscription_event(built.build_per_event_executor(event))
        )
        return result.data, [format_execution_error(e) for e in result.errors or []]
