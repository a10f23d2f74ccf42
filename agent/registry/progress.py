"""Progress reporting for pulls: a small protocol the CLI implements (rich bar or plain lines).

Called from the download threads, so implementations must be thread-safe.
"""

from __future__ import annotations

from typing import Protocol


class ProgressSink(Protocol):
    """Receives blob-level progress of one pull."""

    def blob_started(self, digest: str, size: int, offset: int) -> None:
        """A download of ``size`` bytes starts (at ``offset`` when resuming a partial blob)."""

    def blob_advanced(self, digest: str, nbytes: int) -> None:
        """``nbytes`` more bytes were received."""

    def blob_finished(self, digest: str, *, skipped: bool) -> None:
        """The blob is verified in the store (``skipped``: it was there already)."""

    def note(self, message: str) -> None:
        """Something worth telling: a retry, a resume, the platform chosen."""


class NullProgress:
    """Reports nothing."""

    def blob_started(self, digest: str, size: int, offset: int) -> None:
        pass

    def blob_advanced(self, digest: str, nbytes: int) -> None:
        pass

    def blob_finished(self, digest: str, *, skipped: bool) -> None:
        pass

    def note(self, message: str) -> None:
        pass
