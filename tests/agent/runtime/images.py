"""Test images for the runtime: the demo busybox root, and one with users, groups and a VOLUME.

Each is available both as an OCI layout (for podman, through skopeo) and as a plain directory
(the rootfs Berth's bundle points at), made from the same entries.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from agent.demo.image import demo_entries
from agent.oci import imageconfig, layouts

PASSWD = (
    b"root:x:0:0:root:/root:/bin/sh\n"
    b"app:x:1000:1000:app:/home/app:/bin/sh\n"
    b"nobody:x:65534:65534:nobody:/:/bin/false\n"
)
GROUP = b"root:x:0:\naudio:x:29:app\nwheel:x:10:root,app\napp:x:1000:\nstaff:x:50:\n"
DEMO_CONFIG: dict[str, Any] = {
    "Env": ["PATH=/bin"],
    "Cmd": ["httpd", "-f", "-p", "8080", "-h", "/srv/www"],
    "WorkingDir": "/",
}
USERS_CONFIG: dict[str, Any] = {
    "Env": ["PATH=/bin", "FOO=image", "BAR=image"],
    "Entrypoint": ["/bin/sh", "-c"],
    "Cmd": ["id"],
    "WorkingDir": "/srv",
    "User": "app",
    "Volumes": {"/data": {}},
}


def users_entries() -> list[layouts.Entry]:
    entries = [e for e in demo_entries() if e.path not in ("etc/passwd", "etc/group")]
    return [
        *entries,
        layouts.Entry("etc/passwd", data=PASSWD),
        layouts.Entry("etc/group", data=GROUP),
        layouts.Entry("data", "dir", mode=0o750, uid=1000, gid=1000),
        layouts.Entry("data/seed.txt", data=b"seed\n", uid=1000, gid=1000, mode=0o640),
        layouts.Entry("data/link", "symlink", target="seed.txt", mode=0o777),
        layouts.Entry("home", "dir", mode=0o755),
        layouts.Entry("home/app", "dir", mode=0o755, uid=1000, gid=1000),
    ]


IMAGES = {"demo": (demo_entries, DEMO_CONFIG), "users": (users_entries, USERS_CONFIG)}


def write_layout(name: str, directory: Path) -> None:
    entries, config = IMAGES[name]
    layouts.LayoutWriter(directory).add_image("latest", [layouts.tar_layer(entries())], config)


def config_of(name: str) -> imageconfig.ImageConfig:
    return imageconfig.parse({"os": "linux", "architecture": "amd64", "config": IMAGES[name][1]})


def materialise(name: str, root: Path) -> Path:
    """The image's tree as a plain directory (what the store's merged rootfs holds)."""
    root.mkdir(parents=True, exist_ok=True)
    for e in IMAGES[name][0]():
        path = root / e.path
        if e.kind == "dir":
            path.mkdir(exist_ok=True)
        elif e.kind == "symlink":
            os.symlink(e.target, path)
            os.lchown(path, e.uid, e.gid)
            continue
        else:
            path.write_bytes(e.data)
        os.chown(path, e.uid, e.gid)
        os.chmod(path, e.mode)
    return root
