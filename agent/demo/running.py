"""The main job on the demo project: build the image, translate, pull, deploy, start, serve.

Every step is the library call behind a CLI command, and each is printed as the command a user
would type to do the same: the demo image layout and one spec file per service are kept next to the
store (``<store>.demo/``), so the printed ``berth pull`` and ``berth container deploy --config``
reproduce the demo by hand (until ``berth compose up`` does it in one command).
"""

from __future__ import annotations

import os
import shutil
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from agent.compose import projects as compose_projects
from agent.compose import upping
from agent.demo import COMPOSE_FILE
from agent.demo import image as demo_image
from agent.registry import pulling
from agent.runtime.engine import Engine, StartFailed
from agent.store.records import Deployment
from translators import dispatch
from translators.result import Translation

LAYOUT_NAME = "berth-demo"  # an oci: layout is recorded as localhost/<directory name>:<tag>


def files_dir(root: Path) -> Path:
    """Where the demo keeps what its printed commands read: ``<store>.demo`` beside the store."""
    return root.with_name(f"{root.name}.demo")


def run(root: Path, say: Callable[[str], None]) -> list[Deployment]:
    """Deploy and start the demo project in the store at ``root``; returns the deployments made."""
    files = files_dir(root)
    layout = files / LAYOUT_NAME
    shutil.rmtree(layout, ignore_errors=True)  # built afresh: same input, same digests
    say(f"# build the demo image from {demo_image.BUSYBOX} into an OCI layout at {layout}")
    desc = demo_image.build_demo_layout(layout)
    say(f"  {desc.digest}")
    say(f"$ berth pull --root {root} oci:{layout}:{demo_image.TAG}")
    record = pulling.pull_image(f"oci:{layout}:{demo_image.TAG}", root)
    say(f"  {record.reference} {record.digest}")
    say(f"$ berth compose --root {root} -f {COMPOSE_FILE} up -d")
    project = compose_projects.load([COMPOSE_FILE], env=dict(os.environ), project_dir=COMPOSE_FILE.parent)
    engine = Engine(root)

    def progress(kind: str, name: str, what: str) -> None:
        say(f"  {kind} {name} {what}")

    result = upping.up(engine, project, upping.UpOptions(), say=progress)
    if result.failed:
        raise StartFailed("; ".join(f"{service}: {why}" for service, why in result.failed.items()))
    return [d for d in engine.store().list(owner_kind="compose", project=project.name)]


def serve_check(port: int = 18080, timeout: float = 20.0) -> str:
    """What the demo's web service answers on the host (it may take a moment to listen)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as answer:
                return str(answer.read().decode())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def translate() -> Translation:
    """The demo compose project, with the caller's environment (GREETING may be set)."""
    files = [dispatch.InputFile(str(COMPOSE_FILE))]
    return dispatch.translate(files, dispatch.Options(env=dict(os.environ), project_dir=COMPOSE_FILE.parent))
