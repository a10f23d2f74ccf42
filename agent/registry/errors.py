"""One error hierarchy for pulls, independent of the HTTP library underneath.

``requests`` could be replaced; callers (the CLI, the deploy code) catch these classes and never
the transport's own. Every error names the registry (or source) it came from and, for blobs, the
digest, so a failed pull says where and what. Causes are chained with ``raise ... from``.
"""

from __future__ import annotations

from agent.oci import references
from translators.errors import BerthError

# A bad reference is found below the registry client too (the store parses references), so its
# class is defined there and only named here.
InvalidReference = references.InvalidReference


class RegistryError(BerthError):
    """A pull failed; ``source`` is the registry host or the local path it was reading."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}" if source else message)
        self.source = source
        self.message = message


class AuthError(RegistryError):
    """The registry refused our credentials, or wants credentials we do not have."""


class TLSError(RegistryError):
    """TLS failed: certificate not trusted, or plain HTTP where only HTTPS is allowed."""


class TransportError(RegistryError):
    """The connection failed (refused, dropped, timed out) and retries did not help."""


class ServerError(RegistryError):
    """The registry answered 5xx (or another unexpected status) until retries ran out."""

    def __init__(self, source: str, message: str, status: int) -> None:
        super().__init__(source, message)
        self.status = status


class TooManyRequests(ServerError):
    """The registry kept answering 429 (rate limited) until retries ran out."""


class NotFound(RegistryError):
    """The repository, tag, manifest or blob does not exist."""


class ManifestError(RegistryError):
    """A manifest is malformed, of an unsupported type (schema1), or does not match its digest."""


class PlatformNotFound(ManifestError):
    """A manifest list / index has no entry for the requested platform."""

    def __init__(self, source: str, wanted: str, available: list[str]) -> None:
        listed = ", ".join(available) if available else "none"
        super().__init__(source, f"no image for platform {wanted}; available platforms: {listed}")
        self.wanted = wanted
        self.available = available


class BlobError(RegistryError):
    """A blob could not be stored as announced; nothing was recorded for it."""

    def __init__(self, source: str, digest: str, message: str) -> None:
        super().__init__(source, f"blob {digest}: {message}")
        self.digest = digest


class BlobDigestMismatch(BlobError):
    """The blob's content hashed to another digest than its descriptor says."""


class BlobSizeMismatch(BlobError):
    """The blob was longer or shorter than its descriptor says."""


class BlobTruncated(BlobError):
    """The connection kept closing before the blob was complete, until retries ran out."""


class StoreError(RegistryError):
    """The host store could not take the image (not writable, disk full, a blob removed while
    the pull ran); ``source`` is the store directory concerned."""
