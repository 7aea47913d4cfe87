"""Import targets for uvicorn: `graph.main:app` (settings from the environment), and the factory
`graph.main:serve` that `gateway serve` runs in each server process. Neither is built at import."""

from fastapi import FastAPI

from graph.app import create_app
from graph.observability.logs import configure_logging
from graph.settings import Settings


def serve() -> FastAPI:
    """Configures logging first: with --workers, uvicorn starts each process afresh, and the
    configuration `gateway serve` made in its own does not reach them."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings)


def __getattr__(name: str) -> FastAPI:
    """`app`, made when uvicorn asks for it (PEP 562)."""
    if name == "app":
        return create_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
