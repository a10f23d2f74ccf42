"""Named volumes: ``volumes/<name>/_data``, as docker lays them out.

A volume outlives the deployments that mount it (docker's and compose's rule): garbage collection
never looks here, removing a deployment leaves its volumes, and only :meth:`Volumes.remove` (``compose
down -v``, a future ``volume rm``) deletes one, refusing while a kept version of a deployment
(current or rollback) mounts it, unless forced. Filling a new volume with the image's content at
its target (docker's copy-up, unless ``nocopy``) is the runtime's part: it sees whether ``_data`` is
still empty.
"""

from __future__ import annotations

import builtins
import os
import re
from pathlib import Path

from agent.store import trees
from agent.store.deployments import DeploymentError, Deployments
from agent.store.layout import Layout
from translators.errors import BerthError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
"""Docker's rule for volume names: they become one directory name."""


class VolumeError(BerthError):
    """A volume operation cannot be done (bad name, no such volume)."""


class VolumeInUse(VolumeError):
    """The volume is mounted by a kept version of a deployment."""


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise VolumeError(
            f"invalid volume name {name!r}: use letters, digits, '_', '.' and '-', starting with a letter or digit"
        )
    return name


class Volumes:
    """The ``volumes/`` tree of a store root. :meth:`remove` wants the store lock held."""

    def __init__(self, layout: Layout, deployments: Deployments) -> None:
        self.layout = layout
        self.deployments = deployments

    def path(self, name: str) -> Path:
        """Where volume ``name`` keeps its data (whether it exists or not)."""
        return self.layout.volume_dir(check_name(name))

    def create(self, name: str) -> Path:
        """Create volume ``name`` if it is not there; its ``_data`` directory either way.

        No lock needed: ``mkdir`` is atomic, and a volume being created twice at once is one volume.
        """
        data = self.path(name)
        self.layout.volumes.mkdir(mode=0o700, exist_ok=True)
        data.parent.mkdir(mode=0o700, exist_ok=True)
        data.mkdir(mode=0o755, exist_ok=True)  # root of the container's view: traversable, as docker
        return data

    def list(self) -> builtins.list[str]:
        """Names of the volumes there, sorted."""
        if not self.layout.volumes.is_dir():
            return []
        return sorted(p.name for p in self.layout.volumes.iterdir() if (p / "_data").is_dir())

    def users(self, name: str) -> builtins.list[str]:
        """Deployments whose current or rollback version mounts volume ``name``."""
        found = []
        for deployment in self.deployments.names():
            try:
                kept = self.deployments.kept(deployment)
            except DeploymentError:
                continue  # removed while we looked
            for version in kept:
                mounts = version.spec().get("config", {}).get("volumes", [])
                if any(m.get("type") == "volume" and m.get("source") == name for m in mounts):
                    found.append(deployment)
                    break
        return found

    def remove(self, name: str, *, force: bool = False) -> None:
        """Delete volume ``name`` and its data; refused while a kept version mounts it, unless
        ``force`` (the caller has removed or will redeploy those deployments)."""
        path = self.path(name).parent
        if not path.is_dir():
            raise VolumeError(f"no volume named {name!r}")
        users = self.users(name)
        if users and not force:
            raise VolumeInUse(
                f"volume {name!r} is mounted by deployment {', '.join(users)}: remove "
                f"{'it' if len(users) == 1 else 'them'} first, or force the removal"
            )
        aside = self.layout.trash / f"volume-{name}.{os.getpid()}.{os.urandom(4).hex()}"
        self.layout.trash.mkdir(exist_ok=True)
        os.rename(path, aside)  # gone at once for every reader; the data is deleted next
        trees.remove(str(aside))
