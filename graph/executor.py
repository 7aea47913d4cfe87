"""Parses and validates each distinct document once, executes it, and gives every error a code.

Strawberry builds the schema and resolvers; the request path talks to graphql-core directly
so a cached document skips parsing and validation entirely (most of a small query's cost).
"""

import logging
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator
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
    subscribe,
    validate,
)
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.utils.await_maybe import await_maybe

from graph import limits
from graph.errors import ErrorCode, GatewayError

log = logging.getLogger(__name__)

MASKED_MESSAGE = "Internal server error."


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
        result = await self._run(execute, document, variables, operation_name, context)
        return self._formatted(cast(ExecutionResult, result))

    async def _run(
        self,
        run: Any,
        document: DocumentNode,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        context: Any,
    ) -> Any:
        """graphql-core's `execute` or `subscribe`, with Strawberry's execution context."""
        return await await_maybe(
            run(
                self.schema,
                document,
                context_value=context,
                variable_values=variables,
                operation_name=operation_name,
                executor_class=StrawberryGraphQLCoreExecutionContext,
            )
        )

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
    ) -> AsyncGenerator[tuple[Any, list[dict[str, Any]]], None] | list[dict[str, Any]]:
        """The stream of (data, formatted errors) per event, or the errors that refused it."""
        result = await self._run(subscribe, document, variables, operation_name, context)
        if isinstance(result, ExecutionResult):
            return self._formatted(result)[1]
        return self._results(cast(AsyncIterator[ExecutionResult], result))

    async def _results(
        self, results: AsyncIterator[ExecutionResult]
    ) -> AsyncGenerator[tuple[Any, list[dict[str, Any]]], None]:
        try:
            async for result in results:
                yield result.data, [format_execution_error(e) for e in result.errors or []]
        finally:
            aclose = getattr(results, "aclose", None)
            if aclose is not None:
                await aclose()
