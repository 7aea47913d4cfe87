"""Settings the workers and the relay share with the gateway."""

from pathlib import Path
from typing import Literal, Self

from pydantic import field_validator, model_validator

from db.cache.aside import Cache
from db.cache.setup import build_cache
from db.settings import DatabaseSettings

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class WorkerSettings(DatabaseSettings):
    # Every process's log lines: JSON unless stdout is a terminal (`auto`), or as told.
    log_level: LogLevel = "INFO"
    log_format: Literal["auto", "json", "console"] = "auto"
    redis_url: str | None = None
    # Where tasks go; defaults to REDIS_URL. Neither set: jobs run inside the gateway process.
    celery_broker_url: str | None = None
    # Publishing to a hung broker must not hang the relay or a request.
    broker_timeout_seconds: float = 2.0
    # Longer than the longest task (and than the job lease), or Redis redelivers a task that is
    # still running; a job whose worker died is re-queued by its lease, well before this.
    task_visibility_timeout_seconds: int = 3_600
    # A RUNNING job's lease: its task renews it every JOB_HEARTBEAT_SECONDS (unset: a third of
    # the lease, so two renewals may fail in a row); once it runs out, the relay re-queues the
    # job, and fails it once it has been started JOB_MAX_ATTEMPTS times.
    job_lease_seconds: float = 30.0
    job_heartbeat_seconds: float | None = None
    job_max_attempts: int = 5
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

    @model_validator(mode="after")
    def _lease_fits(self) -> Self:
        if self.job_lease_seconds <= 0 or self.job_max_attempts < 1:
            raise ValueError("JOB_LEASE_SECONDS and JOB_MAX_ATTEMPTS must be positive")
        if not 0 < self.heartbeat_seconds < self.job_lease_seconds:
            raise ValueError("JOB_HEARTBEAT_SECONDS must be shorter than JOB_LEASE_SECONDS")
        if self.task_visibility_timeout_seconds <= self.job_lease_seconds:
            raise ValueError(
                "TASK_VISIBILITY_TIMEOUT_SECONDS must be longer than JOB_LEASE_SECONDS, or the "
                "broker hands a running job to a second worker before its lease says it is lost"
            )
        return self

    @property
    def heartbeat_seconds(self) -> float:
        if self.job_heartbeat_seconds is not None:
            return self.job_heartbeat_seconds
        return self.job_lease_seconds / 3

    @field_validator("log_level", mode="before")
    @classmethod
    def _level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _format(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

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
