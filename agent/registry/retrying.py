"""When to try again: bounded exponential backoff that honours ``Retry-After``.

Registries rate-limit (429) and fail transiently (5xx, dropped connections); a pull retries a
bounded number of times, so a broken registry ends in a clear error instead of a hang.
"""

from __future__ import annotations

import datetime
import email.utils
import re
import time
from dataclasses import dataclass

_DELTA_SECONDS = re.compile(r"[0-9]+")


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
    """``Retry-After`` as seconds: delta-seconds or an HTTP date; None when absent or bad.

    Only ASCII digits are delta-seconds (``str.isdigit`` also takes "²", which ``int`` refuses).
    HTTP dates are GMT (RFC 9110), so a date without a zone is read as UTC, never local time.
    Anything else is None: the caller falls back to its own backoff.
    """
    if not value:
        return None
    value = value.strip()
    if _DELTA_SECONDS.fullmatch(value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.UTC)
        seconds = when.timestamp() - (time.time() if now is None else now)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return max(0.0, seconds)
