"""Gateway settings, read from the environment (and `.env`)."""

from typing import Literal, Self

from pydantic import model_validator

from workers.settings import WorkerSettings

# Good enough for a laptop; `ENVIRONMENT=production` refuses to start with it.
DEVELOPMENT_SECRET = "development-only-secret-change-me-0123456789"


class Settings(WorkerSettings):
    environment: Literal["development", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    jwt_secret: str = DEVELOPMENT_SECRET
    # Adds `extensions.sqlStatements` to every response; for `make bench` and debugging only.
    expose_sql_count: bool = False
    graphiql: bool = True
    max_page_size: int = 100
    default_page_size: int = 20
    max_body_bytes: int = 4_000_000
    document_cache_size: int = 1_000
    # Events a subscriber may fall behind by before it is closed (SUBSCRIBER_TOO_SLOW).
    subscription_queue_size: int = 1_000
    ws_max_subscriptions: int = 100
    # A WebSocket that sends no connection_init within this is closed with 4408.
    ws_init_timeout_seconds: float = 5.0
    # The server pings each WebSocket this often, so proxies keep idle ones open.
    ws_keepalive_seconds: float = 15.0
    # Also speak Apollo's retired subscriptions-transport-ws (subprotocol `graphql-ws`).
    ws_legacy_protocol: bool = False
    # Compressing each small event costs more CPU per subscriber than it saves on a LAN.
    ws_per_message_deflate: bool = False

    @model_validator(mode="after")
    def _production_needs_a_secret(self) -> Self:
        if self.environment == "production" and self.jwt_secret == DEVELOPMENT_SECRET:
            raise ValueError("set JWT_SECRET: production refuses the development secret")
        if len(self.jwt_secret) < 32:
            raise ValueError("JWT_SECRET must be at least 32 characters")
        return self
