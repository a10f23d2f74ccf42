"""Where things live in a store root, and how the root is chosen.

```
<root>/blobs/sha256/<hex>                 compressed blobs as pulled (agent.store.blobs)
<root>/images/<registry>/<repo>/<tag>/    manifest.json, config.json, image.json
<root>/layers/sha256/<hex>/               one unpacked layer: diff/ and layer.json, shared by all
<root>/merged/sha256/<chain>/             an image's layers flattened as hard links: rootfs/
<root>/deployments/<name>                 symlink to .versions/<name>/<serial> (the atomic switch)
<root>/deployments/.versions/<name>/<n>/  config.json, manifest.json, image-config.json, state.json, rootfs/
<root>/metadata/{containers,deployments}.json
<root>/containers/<name>/<serial>/{upper,work}/  a running container's writable layer (agent.runtime)
<root>/containers/<name>/logs/                 its logs
<root>/volumes/<volume>/_data/            named volumes
<root>/tmp/    work in progress, removed by recovery     <root>/trash/  removed later, in batches
<root>/lock    flock'ed by every writer
```
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_ROOT = Path("/var/lib/rpm-ostree/containers")
ENV_ROOT = "BERTH_ROOT"


def resolve_root(option: str | Path | None) -> Path:
    """``--root`` first, then ``$BERTH_ROOT``, then the rpm-ostree default."""
    if option:
        return Path(option)
    env = os.environ.get(ENV_ROOT)
    return Path(env) if env else DEFAULT_ROOT


class Layout:
    """Paths of one store root; creating it makes the top-level directories."""

    def __init__(self, root: Path, *, create: bool = True) -> None:
        self.root = Path(root)
        self.blobs = self.root / "blobs"
        self.images = self.root / "images"
        self.layers = self.root / "layers" / "sha256"
        self.merged = self.root / "merged" / "sha256"
        self.deployments = self.root / "deployments"
        self.versions = self.deployments / ".versions"
        self.metadata = self.root / "metadata"
        self.tmp = self.root / "tmp"
        self.trash = self.root / "trash"
        self.lock = self.root / "lock"
        self.containers = self.root / "containers"
        self.volumes = self.root / "volumes"
        if create:
            self.ensure()

    def exists(self) -> bool:
        """Whether a store is there: the root holds what a pull or a deploy makes.

        An empty or unrelated directory is no store, so a mistyped ``--root`` is reported.
        """
        return self.root.is_dir() and any(p.is_dir() for p in (self.blobs, self.images, self.deployments))

    def ensure(self) -> None:
        """Make the top-level directories (writers only: readers never create anything)."""
        for path in (self.layers, self.merged, self.versions, self.metadata, self.tmp, self.trash):
            path.mkdir(parents=True, exist_ok=True)
        # images may carry private data and setuid binaries (layers, merged trees, files set
        # aside in trash/ and tmp/): no other user may reach anything in the store
        os.chmod(self.root, 0o700)
        for path in (self.layers.parent, self.merged.parent, self.deployments):
            os.chmod(path, 0o700)

    def layer_dir(self, digest: str) -> Path:
        return self.layers / digest.split(":", 1)[1]

    def merged_dir(self, chain: str) -> Path:
        return self.merged / chain.split(":", 1)[1]

    def version_dir(self, name: str, serial: int) -> Path:
        return self.versions / name / str(serial)

    def container_dir(self, name: str, serial: int) -> Path:
        """The writable layer (``upper/``, ``work/``) of version ``serial`` of ``name``."""
        return self.containers / name / str(serial)

    def log_dir(self, name: str) -> Path:
        return self.containers / name / "logs"

    def volume_dir(self, volume: str) -> Path:
        """A named volume's data directory (``volumes/<volume>/_data``, as docker lays it out)."""
        return self.volumes / volume / "_data"
