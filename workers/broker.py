"""Is the broker there, and is this host's worker answering through it: for `gateway check`,
the commands' start-up checks and a worker container's health check."""

import socket

from kombu import Connection

from workers.app import create_celery
from workers.settings import WorkerSettings


def broker_address(url: str) -> str:
    """host:port of the broker, for messages (never its password)."""
    connection = Connection(url)
    port = connection.port or connection.transport.default_port
    return f"{connection.hostname or 'localhost'}:{port}"


def ping_broker(url: str, timeout: float) -> None:
    """Connects once, or raises what the transport raised."""
    options = {"socket_connect_timeout": timeout, "socket_timeout": timeout}
    with Connection(url, connect_timeout=timeout, transport_options=options) as connection:
        connection.ensure_connection(
            max_retries=1, interval_start=0, interval_step=0, timeout=max(1, round(timeout))
        )


def ping_worker(settings: WorkerSettings, timeout: float) -> str | None:
    """The name of this host's worker if it answered a ping within `timeout`, else None."""
    name = f"celery@{socket.gethostname()}"
    app = create_celery(settings)
    try:
        replies = app.control.ping(destination=[name], timeout=timeout)
    finally:
        app.close()
    return name if any(name in reply for reply in replies or []) else None
