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

import yaml

from agent.demo import COMPOSE_FILE
from agent.demo import image as demo_image
from agent.network.networks import Networks
from agent.registry import pulling
from agent.runtime.engine import Engine
from agent.store.records import Deployment, Owner
from agent.trust import enforcing
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
    specs = files / "specs"
    say(f"$ berth translate -f {COMPOSE_FILE} --to spec -o yaml   # one spec per service, kept in {specs}/")
    translation = translate()
    for warning in translation.warnings:
        say(f"  {warning}")
    specs.mkdir(parents=True, exist_ok=True)
    by_name = {spec.name: spec for spec in translation.specs}
    engine = Engine(root)
    networks = Networks(root).ensure_project(translation.project)
    say(f"# create the project's networks ({', '.join(n.name for n in networks)}): no command of its own yet")
    deployments = []
    for name in translation.project.order:
        spec = by_name[name]
        spec_file = specs / f"{name}.yaml"
        spec_file.write_text(
            yaml.safe_dump(spec.model_dump(mode="json", exclude_defaults=True), sort_keys=False)
        )
        say(f"$ berth container deploy --root {root} --config {spec_file} {spec.image}")
        project = translation.project.name
        service = name.removeprefix(f"{project}-")
        deployment = engine.deploy(
            spec,
            owner=Owner(kind="compose", project=project, service=service),
            puller=pulling.pull_image,
            gate=enforcing.gate(),
        )
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
