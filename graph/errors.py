"""Every error code the API returns, and the exceptions that carry them.

    GatewayError                  expected; its code and message reach the client
     ├── BadUserInput             BAD_USER_INPUT: arguments, ids, cursors, caps
     ├── Unauthenticated          UNAUTHENTICATED
     ├── Forbidden                FORBIDDEN
     ├── TooManySubscriptions     TOO_MANY_SUBSCRIPTIONS: the per-connection limit
     ├── SubscriberTooSlow        SUBSCRIBER_TOO_SLOW: its event queue overflowed
     └── EventsUnavailable        UNAVAILABLE: the event stream cannot be read; retry later
    anything else                 masked as INTERNAL_SERVER_ERROR and logged

Parse and validation failures are found before execution and get GRAPHQL_PARSE_FAILED and
GRAPHQL_VALIDATION_FAILED from the executor.
"""

from enum import StrEnum


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
