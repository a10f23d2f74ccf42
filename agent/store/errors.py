"""Errors of the store as a whole (the others live beside what raises them: DeploymentError in
:mod:`agent.store.deployments`, ImageNotFound in :mod:`agent.store.images`, ...)."""

from __future__ import annotations

from pathlib import Path

from translators.errors import BerthError


class StoreNotFound(BerthError):
    """A reading command was pointed at a store that does not exist: say so, create nothing.

    A mistyped ``--root`` must not become an empty store that lists nothing, exit 0.
    """

    def __init__(self, root: Path) -> None:
        super().__init__(f"no store at {root}: deploy something first, or give --root")
        self.root = root
