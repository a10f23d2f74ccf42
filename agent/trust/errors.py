"""Why an image is not trusted, as values a user can act on.

Both derive from ``BerthError`` like every error Berth raises on purpose, so every command
reports them as one ``error:`` line.
``reason`` is one of :data:`REASONS`, for scripts and for the agent's ``SignatureRejected`` status.
"""

from __future__ import annotations

from typing import Literal

from translators.errors import BerthError

Reason = Literal[
    "rejected",
    "no-signature",
    "unknown-key",
    "digest-mismatch",
    "reference-mismatch",
    "bad-signature",
    "unsupported",
]
REASONS: tuple[Reason, ...] = (
    "rejected",
    "no-signature",
    "unknown-key",
    "digest-mismatch",
    "reference-mismatch",
    "bad-signature",
    "unsupported",
)


class TrustError(BerthError):
    """A policy file, key or registries.d file that cannot be used (names the file)."""


class SignatureRejected(TrustError):
    """The image is not accepted: ``reason`` says why, the message names image, scope and cause."""

    def __init__(self, message: str, reason: Reason) -> None:
        super().__init__(message)
        self.reason: Reason = reason
