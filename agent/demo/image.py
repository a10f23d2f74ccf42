"""The demo image: a busybox-static root that serves a page, built locally and offline.

Berth's main job must run on a fresh machine without a network, so the demo image is made from
Debian's busybox-static binary rather than pulled from a public registry.
"""

from __future__ import annotations

from pathlib import Path

from agent.oci import layouts

BUSYBOX = Path("/bin/busybox")
APPLETS = ("sh", "httpd", "wget", "echo", "cat", "ls", "mkdir", "sleep", "env", "id", "true", "false", "ps")
TAG = "latest"
PAGE = b"<h1>hello from berth</h1>\n"


def demo_entries(busybox: Path = BUSYBOX) -> list[layouts.Entry]:
    data = busybox.read_bytes()
    entries = [
        layouts.Entry("bin", "dir", mode=0o755),
        layouts.Entry("bin/busybox", data=data, mode=0o755),
        *(layouts.Entry(f"bin/{name}", "symlink", target="busybox", mode=0o777) for name in APPLETS),
        layouts.Entry("etc", "dir", mode=0o755),
        layouts.Entry(
            "etc/passwd", data=b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"
        ),
        layouts.Entry("etc/group", data=b"root:x:0:\nnogroup:x:65534:\n"),
        layouts.Entry("srv", "dir", mode=0o755),
        layouts.Entry("srv/www", "dir", mode=0o755),
        layouts.Entry("srv/www/index.html", data=PAGE),
        layouts.Entry("tmp", "dir", mode=0o1777),
        *(layouts.Entry(d, "dir", mode=0o755) for d in ("dev", "proc", "sys", "run", "root", "var")),
    ]
    return entries


def build_demo_layout(directory: Path, busybox: Path = BUSYBOX) -> layouts.Descriptor:
    """Write the demo image into an OCI layout at ``directory``, tagged ``latest``."""
    writer = layouts.LayoutWriter(directory)
    config = {
        "Env": ["PATH=/bin"],
        "Cmd": ["httpd", "-f", "-p", "8080", "-h", "/srv/www"],
        "ExposedPorts": {"8080/tcp": {}},
        "WorkingDir": "/",
        "Labels": {"org.opencontainers.image.title": "berth-demo"},
    }
    return writer.add_image(TAG, [layouts.tar_layer(demo_entries(busybox))], config)
