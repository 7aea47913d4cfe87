"""The import target for `uvicorn graph.main:app`: settings come from the environment."""

from graph.app import create_app

app = create_app()
