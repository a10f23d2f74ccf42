"""The main job on the demo project: build the image, translate, pull, deploy, list.

Every step is the library call behind a CLI command, and each is printed as that command so a
reader can repeat it by hand.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from agent.demo import COMPOSE_FILE
from agent.demo import image as demo_image
from agent.registry import pulling
from agent.store import deploying
from agent.store.deployments import Version
from translators import dispatch
from translators.result import Translation

LAYOUT_NAME = "berth-demo"  # an oci: layout is recorded as localhost/<directory name>:<tag>


def run(root: Path, say: Callable[[str], None]) -> list[Version]:
    """Deploy the demo project into the store at ``root``; returns the deployments made."""
    with tempfile.TemporaryDirectory(prefix="berth-demo-") as scratch:
        layout = Path(scratch) / LAYOUT_NAME
        say(f"$ (build the demo image from {demo_image.BUSYBOX} into an OCI layout at {layout})")
        desc = demo_image.build_demo_layout(layout)
        say(f"  {desc.digest}")
        say(f"$ berth pull --root {root} oci:{layout}:{demo_image.TAG}")
        record = pulling.pull_image(f"oci:{layout}:{demo_image.TAG}", root)
        say(f"  {record.reference} {record.digest}")
    say(f"$ berth translate -f {COMPOSE_FILE}")
    translation = translate()
    for warning in translation.warnings:
        say(f"  {warning}")
    by_name = {spec.name: spec for spec in translation.specs}
    versions = []
    for name in translation.project.order:
        spec = by_name[name]
        say(f"$ berth container deploy --root {root} --name {name} {spec.image}")
        version = deploying.deploy(root, spec, keep_previous=True, puller=pulling.pull_image)
        say(f"  version {version.serial}, rootfs {version.rootfs}")
        versions.append(version)
    return versions


def translate() -> Translation:
    """The demo compose project, with the caller's environment (GREETING may be set)."""
    files = [dispatch.InputFile(str(COMPOSE_FILE))]
    return dispatch.translate(files, dispatch.Options(env=dict(os.environ), project_dir=COMPOSE_FILE.parent))
