"""Errors of the network layer."""

from __future__ import annotations

from translators.errors import BerthError


class NetworkError(BerthError):
    """A network cannot be created, found, attached or removed."""
