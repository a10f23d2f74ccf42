"""``compose down --rmi local|all`` with real images in the store: ``local`` removes only the image
of a built service (no ``image:``, named ``<project>-<service>``), ``all`` every service's image;
an image another project still runs from stays with docker compose's warning, and the blobs of an
image that goes are collected."""

from __future__ import annotations

from tests.agent.compose.conftest import IMAGE, Host

PROJECT = """
name: {project}
services:
  web:
    image: {image}
    command: httpd -f -p 80 -h /
    stop_signal: SIGKILL
  app:
    build: .
    command: httpd -f -p 81 -h /
    stop_signal: SIGKILL
"""

OTHER = """
name: {project}
services:
  solo:
    image: {image}
    command: httpd -f -p 82 -h /
    stop_signal: SIGKILL
"""


def _tag_built_image(host: Host, name: str) -> None:
    """The image a build of ``app`` would give, as docker compose names it: the demo image's
    manifest and config recorded again under ``docker.io/library/<name>:latest``."""
    store = host.engine.store()
    demo = next(i for i in store.images.list() if i.reference == IMAGE)
    store.images.put(
        "docker.io",
        f"library/{name}",
        "latest",
        (demo.path / "manifest.json").read_bytes(),
        (demo.path / "config.json").read_bytes(),
    )


def _images(host: Host) -> list[str]:
    return sorted(i.reference for i in host.engine.store().images.list())


def test_down_rmi_local_then_all_with_an_image_in_use(host: Host) -> None:
    p = host.project
    built = f"{p}-app"
    _tag_built_image(host, built)
    assert _images(host) == sorted([IMAGE, f"docker.io/library/{built}:latest"])
    (host.base / "Dockerfile").write_text("FROM scratch\n")
    f = str(host.write("compose.yaml", PROJECT.format(project=p, image=IMAGE)))
    other = str(host.write("other.yaml", OTHER.format(project=f"{p}o", image=IMAGE)))
    for file in (f, other):
        up = host.berth("compose", "-f", file, "up", "-d")
        assert up.returncode == 0, up.stderr

    # local: only the built service's image; the image with a custom tag stays
    down = host.berth("compose", "-f", f, "down", "--rmi", "local")
    assert down.returncode == 0, down.stderr
    assert f" Image {built}  Removed" in down.stderr.splitlines()
    assert IMAGE not in down.stderr
    assert _images(host) == [IMAGE]

    # all: the demo image is still used by the other project: warned, kept, down succeeds
    up = host.berth("compose", "-f", f, "up", "-d", "web")
    assert up.returncode == 0, up.stderr
    down = host.berth("compose", "-f", f, "down", "--rmi", "all")
    assert down.returncode == 0, down.stderr
    lines = down.stderr.splitlines()
    assert f" Image {IMAGE}  Resource is still in use" in lines
    assert f" Image {built}  No resource found to remove" in lines
    assert _images(host) == [IMAGE]
    assert [d.name for d in host.engine.store().list()] == [f"{p}o-solo-1"]

    # the last user goes with --rmi all: the image and every blob and layer of it are collected
    down = host.berth("compose", "-f", other, "down", "--rmi", "all")
    assert down.returncode == 0, down.stderr
    assert f" Image {IMAGE}  Removed" in down.stderr.splitlines()
    assert _images(host) == []
    store = host.engine.store()
    assert list(store.blobs.digests()) == []
    assert list(store.layout.layers.iterdir()) == []
    assert list(store.layout.merged.iterdir()) == []
