"""The entry point of an operation after transport: price it, charge the client's budget, run it
under a deadline, and count what it really cost.

Strawberry builds the schema and resolvers; operations run on graphql-core directly, from
documents that `documents.Documents` parsed and validated once.
"""

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterable, Hashable
from dataclasses import dataclass
from typing import Any, cast

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    OperationType,
    execute,
)
from graphql.execution import create_source_event_stream, execute_subscription_event
from graphql.execution.executor import Executor as OperationExecutor
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.utils.await_maybe import await_maybe

from graph.errors import (
    ErrorCode,
    GatewayError,
    OperationTimedOut,
    OperationTooCostly,
    RateLimited,
    error_dict,
    expected,
)
from graph.execution.budget import Budgets, Throttle
from graph.execution.documents import Prepared, is_kind
from graph.execution.plan import Bound, Compiler, Plan, Unplannable, bind, variable_shape
from graph.execution.policy import Policy
from graph.execution.run import Run
from graph.viewer import Viewer

log = logging.getLogger(__name__)

MASKED_MESSAGE = "Internal server error."
# One subscription event's data and formatted errors.
EventResult = tuple[Any, list[dict[str, Any]]]


def format_execution_error(error: GraphQLError) -> dict[str, Any]:
    original = error.original_error
    known = expected(original)
    if known is not None:
        if not isinstance(original, GatewayError):
            # Database trouble, not a bug: a line each rather than a traceback per request.
            log.warning("unavailable at %s: %s", error.path, first_line(original))
        return error_dict(*known, error)
    log.error("unexpected error at %s", error.path, exc_info=original or error)
    return error_dict(MASKED_MESSAGE, ErrorCode.INTERNAL_SERVER_ERROR, error)


def first_line(error: BaseException | None) -> str:
    """For the log: the error's type and first line, and what it was raised from."""
    lines = str(error).splitlines()
    text = f"{type(error).__name__}: {lines[0][:200] if lines else ''}"
    cause = error.__cause__ if error is not None else None
    return text if cause is None else f"{text} (from {type(cause).__name__})"


@dataclass(slots=True)
class Cost:
    """`extensions.cost` of a response: Shopify's figures."""

    requested: int
    limit: int
    actual: int | None = None
    throttle: Throttle | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "requested": self.requested,
            "actual": self.actual,
            "limit": self.limit,
        }
        if self.throttle is not None:
            out["throttleStatus"] = self.throttle.status()
        return out


@dataclass(slots=True)
class Executed:
    data: Any
    errors: list[dict[str, Any]]
    # False when refused before execution (variables that do not coerce, no such operation).
    started: bool
    # Run by the planned executor (whose fields all tag what they read).
    planned: bool = False
    # The actual cost, when the executor counted it as it ran.
    actual: int | None = None


@dataclass(slots=True)
class Outcome:
    data: Any
    errors: list[dict[str, Any]]
    started: bool
    cost: Cost
    planned: bool = False


class Refused(Exception):
    """Refused before execution for its cost or the client's budget; carries the figures."""

    def __init__(self, error: GatewayError, cost: Cost) -> None:
        super().__init__(str(error))
        self.error = error
        self.cost = cost


def client_key(viewer: Viewer, address: str | None) -> str:
    """Whose budget an operation spends: the token's subject, else the caller's address."""
    if viewer.is_staff:
        return f"sub:{viewer.subject}"
    return f"ip:{address or 'unknown'}"


class Executor:
    def __init__(
        self,
        schema: GraphQLSchema,
        budgets: Budgets,
        policy: Policy,
        compiler: Compiler | None = None,
    ) -> None:
        self.schema = schema
        self.budgets = budgets
        self.policy = policy
        # None: everything runs on graphql-core.
        self.compiler = compiler
        self.counts = {"planned": 0, "graphql-core": 0}

    async def run(
        self,
        prepared: Prepared,
        *,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        context: Any,
        viewer: Viewer,
        client: str,
    ) -> Outcome:
        """Runs a query or mutation; raises Refused before running one that is too dear."""
        plan = prepared.cost_plan(operation_name)
        cost = Cost(plan.estimate(variables), self.policy.max_cost)
        await self.admit(cost, viewer, client)
        document = cast(DocumentNode, prepared.document)
        is_query = is_kind(prepared.operation(operation_name), OperationType.QUERY)
        try:
            # Only reads are cut short: a mutation cancelled after its commit would be applied
            # and reported as failed. Writes are bounded by the database's statement timeout.
            async with asyncio.timeout(self.policy.timeout_seconds if is_query else None):
                executed = await self.execute(
                    document,
                    variables=variables,
                    operation_name=operation_name,
                    context=context,
                    prepared=prepared if is_query else None,
                )
        except TimeoutError:
            await self._settle(cost, viewer, client, 0)
            seconds = self.policy.timeout_seconds
            raise Refused(
                OperationTimedOut(f"The operation ran past its {seconds:g} s deadline."), cost
            ) from None
        actual = executed.actual
        if actual is None:
            actual = plan.actual(executed.data) if executed.started else 0
        await self._settle(cost, viewer, client, actual)
        return Outcome(executed.data, executed.errors, executed.started, cost, executed.planned)

    async def replay(self, cost: Cost, viewer: Viewer, client: str) -> None:
        """Charges a response served from the cache: its estimate, then back what it did not
        spend, as if it had run."""
        await self.admit(cost, viewer, client)
        await self._settle(cost, viewer, client, cost.actual or 0)

    async def admit(self, cost: Cost, viewer: Viewer, client: str) -> None:
        """Refuses an estimate over the limit, or over what the client's budget holds now."""
        if cost.requested > cost.limit:
            message = (
                f"The operation's estimated cost is {cost.requested}; the limit is "
                f"{cost.limit}. Ask for fewer items (first/last) or fewer nested lists."
            )
            raise Refused(OperationTooCostly(message), cost)
        allowance = self.policy.allowance(viewer)
        if allowance is None:
            return
        cost.throttle = await self.budgets.take(client, cost.requested, allowance)
        if not cost.throttle.taken:
            wait = cost.throttle.retry_after
            message = (
                f"This client's cost budget holds {int(cost.throttle.available)} points; the "
                f"operation needs {cost.requested}. Retry in {wait:.1f} s."
            )
            raise Refused(RateLimited(message, wait), cost)

    async def _settle(self, cost: Cost, viewer: Viewer, client: str, actual: int) -> None:
        cost.actual = actual
        allowance = self.policy.allowance(viewer)
        if allowance is not None and cost.throttle is not None and actual < cost.requested:
            await self.budgets.give_back(client, cost.requested - actual, allowance)

    async def execute(
        self,
        document: DocumentNode,
        *,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        context: Any,
        prepared: Prepared | None = None,
    ) -> Executed:
        """Planned when a query of `prepared` has a plan, else on graphql-core."""
        if prepared is not None and self.compiler is not None:
            planned = await self._planned(prepared, operation_name, variables, context)
            if planned is not None:
                return planned
        self.counts["graphql-core"] += 1
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

    async def _planned(
        self,
        prepared: Prepared,
        operation_name: str | None,
        variables: dict[str, Any] | None,
        context: Any,
    ) -> Executed | None:
        """The operation run on its plan; None when it has none (graphql-core runs it, and
        reports any error in choosing the operation as it always does)."""
        operation = prepared.operation(operation_name)
        fragments = prepared.fragments
        if operation is None or fragments is None:
            return None
        try:
            shape = prepared.shapes[operation_name]
        except KeyError:
            shape = prepared.shapes[operation_name] = variable_shape(self.schema, operation)
        bound = bind(self.schema, operation, fragments, variables, shape)
        if isinstance(bound, list):
            return self._formatted(ExecutionResult(None, bound))
        plan = self._plan(prepared, operation_name, bound, variables)
        if plan is None:
            return None
        self.counts["planned"] += 1
        assert self.compiler is not None
        run = Run(plan, context, bound, self.compiler)
        data, raised = await run.execute()
        errors = [format_execution_error(e) for e in raised]
        return Executed(data, errors, True, True, run.cost)

    def _plan(
        self,
        prepared: Prepared,
        operation_name: str | None,
        built: Bound,
        variables: dict[str, Any] | None,
    ) -> Plan | None:
        """The cached execution plan, compiled on first use; None if it cannot be planned."""
        given = variables or {}
        key = (operation_name, *(given.get(n) for n in prepared.condition_variables))
        try:
            found: Plan | None = prepared.executions[key]
            return found
        except KeyError:
            pass
        except TypeError:  # a condition variable's value that cannot key a dict
            return None
        assert self.compiler is not None
        try:
            plan: Plan | None = self.compiler.compile(built)
        except Unplannable as reason:
            log.debug("not planned: %s", reason)
            plan = None
        prepared.executions[key] = plan
        return plan

    @staticmethod
    def _formatted(result: ExecutionResult) -> Executed:
        raised = result.errors or []
        started = result.data is not None or any(e.path is not None for e in raised)
        if not started:
            # Refused before execution: variables that do not coerce, or no such operation.
            code = ErrorCode.BAD_USER_INPUT
            return Executed(None, [error_dict(e.message, code, e) for e in raised], False)
        return Executed(result.data, [format_execution_error(e) for e in raised], True)

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
            return self._formatted(ExecutionResult(None, built)).errors
        source = await await_maybe(create_source_event_stream(built))
        if isinstance(source, ExecutionResult):
            return self._formatted(source).errors
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
