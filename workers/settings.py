"""Settings the workers and the relay share with the gateway."""

from pathlib import Path

from db.cache.aside import Cache
from db.cache.setup import build_cache
from db.settings import DatabaseSettings


class WorkerSettings(DatabaseSettings):
    redis_url: str | None = None
    # Where tasks go; defaults to REDIS_URL. Neither set: jobs run inside the gateway process.
    celery_broker_url: str | None = None
    # Publishing to a hung broker must not hang the relay or a request.
    broker_timeout_seconds: float = 2.0
    # Longer than the longest task, or Redis redelivers a task that is still running.
    task_visibility_timeout_seconds: int = 3_600
    task_max_retries: int = 5
    # First retry after about this long, doubling each time, with +-50% jitter.
    task_retry_base_seconds: float = 2.0
    relay_batch_size: int = 100
    relay_poll_seconds: float = 1.0
    export_dir: Path = Path("var/exports")
    webhook_timeout_seconds: float = 5.0
    webhook_max_attempts: int = 5
    # Lets webhooks reach loopback, private, link-local and other non-public addresses: for a
    # receiver on the same host or network, and never where admins are not trusted with it.
    webhook_allow_private: bool = False
    view_flush_seconds: float = 2.0
    bulk_batch_size: int = 200

    cache_enabled: bool = True
    cache_ttl_seconds: int = 300
    # Redis must answer within this or the request reads the database instead.
    cache_timeout_seconds: float = 0.05
    cache_breaker_seconds: float = 1.0
    # How often each gateway reads the change log for invalidations a Redis outage lost (it is
    # also woken by every change the event stream brings): the bound on a stale read's age.
    cache_follow_seconds: float = 1.0

    @property
    def broker_url(self) -> str | None:
        return self.celery_broker_url or self.redis_url

    def build_cache(self) -> "Cache | None":
        if not self.cache_enabled:
            return None
        return build_cache(
            redis_url=self.redis_url,
            ttl=self.cache_ttl_seconds,
            timeout=self.cache_timeout_seconds,
            breaker_seconds=self.cache_breaker_seconds,
        )
