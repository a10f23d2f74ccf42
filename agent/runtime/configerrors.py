"""The error of building a container's runtime bundle: one line naming the container and the cause."""

from __future__ import annotations

from agent.runtime.errors import RuntimeFailure


class BundleError(RuntimeFailure):
    """The deployment cannot become an OCI bundle as it stands (unknown user, unset variable, a
    missing bind source, a bad seccomp profile): the user fixes the spec, the image or the host."""
