"""The main job on the demo project: build the image, translate, pull, deploy, start, serve.

Every step is the library call behind a CLI command, and each is printed as that command so a
reader can repeat it by hand: the translated specs are written next to the store, and each
service is deployed from its spec file with ``berth container deploy --config``.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from agent.demo import COMPOSE_FILE
from agent.demo import image as demo_image
from agent.network.networks import Networks
from agent.registry import pulling
from agent.runtime.engine import Engine
from agent.store.records import Deployment, Owner
from translators import dispatch
from translators.result import Translation

LAYOUT_NAME = "berth-demo"  # an oci: layout is recorded as localhost/<directory name>:<tag>


def run(root: Path, say: Callable[[str], None]) -> list[Deployment]:
    """Deploy and start the demo project in the store at ``root``; returns the deployments made."""
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
    specs_dir = root.parent / f"{root.name}-specs"
    specs_dir.mkdir(parents=True, exist_ok=True)
    by_name = {spec.name: spec for spec in translation.specs}
    engine = Engine(root)
    Networks(root).ensure_project(translation.project)
    deployments = []
    for name in translation.project.order:
        spec = by_name[name]
        spec_file = specs_dir / f"{name}.json"
        spec_file.write_text(json.dumps(spec.model_dump(mode="json", exclude_defaults=True), indent=2) + "\n")
        say(f"$ berth container deploy --root {root} --config {spec_file} {spec.image}")
        project = translation.project.name
        service = name.removeprefix(f"{project}-")
        deployment = engine.deploy(spec, owner=Owner(kind="compose", project=project, service=service))
        status = engine.status(name)
        say(
            f"  version {deployment.serial}: {status.state}"
            + (f" (exit code {status.exit_code})" if status.state == "exited" else "")
        )
        deployments.append(deployment)
    return deployments


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
