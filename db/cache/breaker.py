"""A circuit breaker for best-effort Redis calls: after a failure the caller skips Redis for a
cooldown, then lets one call through as a probe, so recovery needs no restart."""

import logging
import time
from dataclasses import dataclass


@dataclass(slots=True)
class Breaker:
    what: str
    log: logging.Logger
    cooldown: float = 1.0
    errors: int = 0
    skipped: int = 0
    is_open: bool = False
    _open_until: float = 0.0

    def available(self) -> bool:
        if self._open_until and time.monotonic() < self._open_until:
            self.skipped += 1
            return False
        return True

    def failed(self, error: Exception) -> None:
        self.errors += 1
        if not self.is_open:
            self.log.warning("%s unavailable: %r", self.what, error)
        self.is_open = True
        self._open_until = time.monotonic() + self.cooldown

    def succeeded(self) -> None:
        if self.is_open:
            self.log.warning("%s is back", self.what)
        self.is_open = False
        self._open_until = 0.0
