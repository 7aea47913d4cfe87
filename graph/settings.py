"""Gateway settings, read from the environment (and `.env`)."""

from db.settings import DatabaseSettings


class Settings(DatabaseSettings):
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    redis_url: str | None = None
    # Adds `extensions.sqlStatements` to every response; for `make bench` and debugging only.
    expose_sql_count: bool = False
    graphiql: bool = True
    max_page_size: int = 100
    default_page_size: int = 20
    max_body_bytes: int = 1_000_000
    document_cache_size: int = 1_000
