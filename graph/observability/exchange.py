"""What one HTTP request did, noted by the GraphQL endpoint for its log line, metrics and trace."""

from dataclasses import dataclass

from graphql import OperationDefinitionNode

from db.stats import StatementCounter

OK = "ok"
ERRORS = "errors"


@dataclass(slots=True)
class Exchange:
    """Filled in as the request goes; `outcome` stays None for anything but a GraphQL operation."""

    sql: StatementCounter
    operation: str | None = None
    operation_type: str | None = None
    # `ok`, `errors` (a result with errors), or the code of the refusal that was the answer.
    outcome: str | None = None
    cost_requested: int | None = None
    cost_actual: int | None = None

    def identify(self, operation: OperationDefinitionNode | None) -> None:
        if operation is not None:
            self.operation = operation.name.value if operation.name else None
            self.operation_type = operation.operation.value

    def refused(self, code: str) -> None:
        self.outcome = code

    def answered(self, errors: bool) -> None:
        self.outcome = ERRORS if errors else OK
