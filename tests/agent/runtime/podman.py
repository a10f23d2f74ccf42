"""podman as the oracle: the runtime spec it writes for an image and options.

``podman init`` writes ``config.json`` (the OCI runtime spec it hands runc) under
``<root>/overlay-containers/<id>/userdata/``; ``podman create`` alone does not. The container is
removed right after reading it. The store lives under a scratch directory with its own
containers.conf (runc, cgroupfs, file events), as in /work/shared/peers-here.md.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from tests.agent.runtime import images

CONTAINERS_CONF = """\
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
"""


class Podman:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.root = base / "root"
        conf = base / "containers.conf"
        conf.write_text(CONTAINERS_CONF)
        self.env = {**os.environ, "CONTAINERS_CONF": str(conf)}
        self.flags = [
            "--root",
            str(self.root),
            "--runroot",
            str(base / "runroot"),
            "--tmpdir",
            str(base / "tmp"),
        ]

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["podman", *self.flags, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=check,
        )

    def load(self, name: str) -> str:
        """The test image ``name`` in podman's store (from an OCI layout, through skopeo)."""
        layout = self.base / "layouts" / name
        images.write_layout(name, layout)
        ref = f"localhost/{name}:latest"
        store = f"containers-storage:[overlay@{self.root}+{self.base / 'runroot'}]{ref}"
        subprocess.run(
            ["skopeo", "copy", "-q", f"oci:{layout}:latest", store], check=True, capture_output=True
        )
        return ref

    def spec(self, image: str, *options: str, args: tuple[str, ...] = ()) -> dict[str, Any]:
        """The runtime spec podman generates for ``podman create OPTIONS IMAGE ARGS``."""
        network = () if any(o.startswith("--network") for o in options) else ("--network", "none")
        cid = self.run("create", *network, *options, f"localhost/{image}:latest", *args).stdout.strip()
        try:
            # init may fail in runc (a limit this host refuses): the spec is written before that
            self.run("init", cid, check=False)
            path = self.root / "overlay-containers" / cid / "userdata" / "config.json"
            doc: dict[str, Any] = json.loads(path.read_text())
            return doc
        finally:
            self.run("rm", "-f", cid, check=False)

    def inspect(self, image: str, *options: str) -> dict[str, Any]:
        cid = self.run("create", "--network", "none", *options, f"localhost/{image}:latest").stdout.strip()
        try:
            doc: dict[str, Any] = json.loads(self.run("inspect", cid).stdout)[0]
            return doc
        finally:
            self.run("rm", "-f", cid, check=False)

    def close(self) -> None:
        self.run("rm", "-af", check=False)
        self.run("volume", "prune", "-f", check=False)
        self.run("system", "reset", "-f", check=False)
        shutil.rmtree(self.base, ignore_errors=True)
