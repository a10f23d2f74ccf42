"""When to try again: bounded exponential backoff that honours ``Retry-After``.

Registries rate-limit (429) and fail transiently (5xx, dropped connections); a pull retries a
bounded number of times, so a broken registry ends in a clear error instead of a hang.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts per request, and how long to wait between them."""

    attempts: int = 5
    base_delay: float = 0.2
    max_delay: float = 10.0
    max_retry_after: float = 60.0
    """A ``Retry-After`` longer than this is not waited for: the pull fails instead."""

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (0-based)."""
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        return float(min(self.base_delay * (2**attempt), self.max_delay))


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date; None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
