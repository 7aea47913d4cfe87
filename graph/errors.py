"""Every error code the API returns, and the exceptions that carry them.

    GatewayError                  expected; its code and message reach the client
     ├── BadUserInput             BAD_USER_INPUT: arguments, ids, cursors, caps
     ├── Unauthenticated          UNAUTHENTICATED
     ├── Forbidden                FORBIDDEN
     ├── TooManySubscriptions     TOO_MANY_SUBSCRIPTIONS: the per-connection limit
     ├── SubscriberTooSlow        SUBSCRIBER_TOO_SLOW: its event queue overflowed
     ├── EventsUnavailable        UNAVAILABLE: the event stream cannot be read; retry later
     ├── OperationTooCostly       OPERATION_TOO_COSTLY: the estimate is over the cost limit
     ├── RateLimited              RATE_LIMITED: the client's cost budget is spent (HTTP 429)
     ├── OperationTimedOut        TIMEOUT: past the operation's deadline (HTTP 504)
     ├── ResponseTooLarge         RESPONSE_TOO_LARGE: over the response size limit
     └── PersistedQueryNotFound   PERSISTED_QUERY_NOT_FOUND: an unknown document hash or id
    database trouble              UNAVAILABLE: the database cannot be reached or dropped the
                                  connection (db.availability decides); HTTP 503 with
                                  Retry-After when no field could be resolved
    anything else                 masked as INTERNAL_SERVER_ERROR and logged

Parse and validation failures (the operation limits among them) are found before execution and
get GRAPHQL_PARSE_FAILED and GRAPHQL_VALIDATION_FAILED.
"""

from enum import StrEnum
from typing import Any

from graphql import GraphQLError

from db.availability import DatabaseUnavailable, is_unavailable

DATABASE_UNAVAILABLE = "The database is unavailable; try again shortly."


class ErrorCode(StrEnum):
    BAD_USER_INPUT = "BAD_USER_INPUT"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
    TOO_MANY_SUBSCRIPTIONS = "TOO_MANY_SUBSCRIPTIONS"
    SUBSCRIBER_TOO_SLOW = "SUBSCRIBER_TOO_SLOW"
    UNAVAILABLE = "UNAVAILABLE"
    OPERATION_TOO_COSTLY = "OPERATION_TOO_COSTLY"
    RATE_LIMITED = "RATE_LIMITED"
    TIMEOUT = "TIMEOUT"
    RESPONSE_TOO_LARGE = "RESPONSE_TOO_LARGE"
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"


class GatewayError(Exception):
    code: ErrorCode = ErrorCode.INTERNAL_SERVER_ERROR


class BadUserInput(GatewayError):
    code = ErrorCode.BAD_USER_INPUT


class Unauthenticated(GatewayError):
    code = ErrorCode.UNAUTHENTICATED


class Forbidden(GatewayError):
    code = ErrorCode.FORBIDDEN


class TooManySubscriptions(GatewayError):
    code = ErrorCode.TOO_MANY_SUBSCRIPTIONS


class SubscriberTooSlow(GatewayError):
    code = ErrorCode.SUBSCRIBER_TOO_SLOW


class EventsUnavailable(GatewayError):
    code = ErrorCode.UNAVAILABLE


class OperationTooCostly(GatewayError):
    code = ErrorCode.OPERATION_TOO_COSTLY


class RateLimited(GatewayError):
    code = ErrorCode.RATE_LIMITED

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class OperationTimedOut(GatewayError):
    code = ErrorCode.TIMEOUT


class ResponseTooLarge(GatewayError):
    code = ErrorCode.RESPONSE_TOO_LARGE


class PersistedQueryNotFound(GatewayError):
    code = ErrorCode.PERSISTED_QUERY_NOT_FOUND


def expected(error: BaseException | None) -> tuple[str, ErrorCode] | None:
    """The message and code a client may see for `error`; None for a bug, which is masked."""
    if isinstance(error, GatewayError) and error.code is not ErrorCode.INTERNAL_SERVER_ERROR:
        return str(error), error.code
    if is_unavailable(error):
        # db's own verdicts say what became of a write; anything else was a read.
        message = str(error) if isinstance(error, DatabaseUnavailable) else DATABASE_UNAVAILABLE
        return message, ErrorCode.UNAVAILABLE
    return None


def error_dict(message: str, code: ErrorCode, error: GraphQLError | None = None) -> dict[str, Any]:
    """One entry of a response's `errors`, with its location and path when it has them."""
    out: dict[str, Any] = {"message": message}
    if error is not None and error.locations:
        out["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error is not None and error.path is not None:
        out["path"] = list(error.path)
    out["extensions"] = {"code": code.value}
    return out
