"""Errors of the runtime: each says which container and what to do about it."""

from __future__ import annotations

from translators.errors import BerthError


class RuntimeFailure(BerthError):
    """Starting, stopping or inspecting a container failed (runc, conmon or the kernel said no)."""


class ContainerNotFound(RuntimeFailure):
    """No container of that name exists (never started, or removed)."""


class ContainerStateError(RuntimeFailure):
    """The operation does not fit the container's state (exec into a stopped container, ...)."""
