"""A client span per SQL statement, under the span current where it runs (a loader batch's).

Ours rather than opentelemetry-instrumentation-sqlalchemy, which declines SQLAlchemy 2.1 and
patches `create_engine` for the whole process: this listens on the gateway's engine only.
"""

from typing import Any

from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.util.types import Attributes
from sqlalchemy import event
from sqlalchemy.engine import Engine, ExceptionContext


class StatementSpans:
    HOOKS = ("before_cursor_execute", "after_cursor_execute", "handle_error")

    def __init__(self, tracer: Tracer, engine: Engine) -> None:
        self.tracer = tracer
        self.engine = engine
        self.system = engine.dialect.name
        for hook in self.HOOKS:
            event.listen(engine, hook, getattr(self, f"_{hook}"), named=True)

    def _before_cursor_execute(self, statement: str, context: Any, **_: Any) -> None:
        verb = statement.split(None, 1)[0].upper() if statement.strip() else "SQL"
        attributes: Attributes = {"db.system.name": self.system, "db.query.text": statement}
        span = self.tracer.start_span(verb, kind=SpanKind.CLIENT, attributes=attributes)
        if context is None:
            span.end()
        else:
            context._gateway_span = span

    @staticmethod
    def _after_cursor_execute(context: Any, **_: Any) -> None:
        span: Span | None = getattr(context, "_gateway_span", None)
        if span is not None:
            span.end()

    @staticmethod
    def _handle_error(exception_context: ExceptionContext, **_: Any) -> None:
        span: Span | None = getattr(exception_context.execution_context, "_gateway_span", None)
        if span is not None:
            span.record_exception(exception_context.original_exception)
            span.set_status(Status(StatusCode.ERROR))
            span.end()

    def close(self) -> None:
        for hook in self.HOOKS:
            event.remove(self.engine, hook, getattr(self, f"_{hook}"))
