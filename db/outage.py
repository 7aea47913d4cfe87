"""Failures in a row of a loop that must never give up: the first is logged, the recovery is
logged, and each retry waits a little longer (an outage is not a log line a second)."""

import asyncio
import logging
from dataclasses import dataclass


def stop_if_cancelled(error: BaseException | None = None) -> None:
    """Re-raises a cancellation that something below swallowed or turned into another exception
    (a database driver cancelled mid-statement may raise its own error): a loop that catches
    Exception must still end when its task is cancelled, or whatever awaits the task waits
    forever. Call it where such a loop catches, and at the top of each round."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError from error


@dataclass(slots=True)
class Outage:
    what: str
    log: logging.Logger
    base_seconds: float = 0.1
    max_seconds: float = 5.0
    failures: int = 0

    def failed(self, error: BaseException) -> float:
        """Seconds to wait before the next try (ends the loop if its task was cancelled)."""
        stop_if_cancelled(error)
        self.failures += 1
        if self.failures == 1:
            self.log.warning("%s, retrying: %r", self.what, error)
        return float(min(self.base_seconds * 2 ** min(self.failures, 16), self.max_seconds))

    def succeeded(self) -> None:
        if self.failures:
            self.log.warning("%s: back after %d failed tries", self.what, self.failures)
            self.failures = 0
