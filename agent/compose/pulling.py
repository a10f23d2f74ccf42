"""Pulling a project's images with progress: ``compose pull``, and ``up`` before it creates anything.

docker compose pulls what is missing first (its ``[+] Pulling 2/2`` block), then runs the project;
Berth does the same, so a pull shows its bytes per image instead of happening silently inside a
deploy. ``up`` pulls only images the store lacks (a pull policy of ``always`` still pulls at deploy,
and layouts and archives are read at deploy as ever); ``pull`` pulls every registry image again.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from agent.compose.progress import Display, PullProgress
from agent.compose.projects import ComposeProject
from agent.store import deploying
from agent.store.images import InvalidImageRecord
from translators.errors import BerthError

if TYPE_CHECKING:
    from translators.spec import DeploymentSpec

PARALLEL = 4
"""Images pulled at once (docker compose pulls every service's image concurrently)."""


def _wanted(
    store: deploying.Store, specs: Sequence[DeploymentSpec], missing_only: bool
) -> list[DeploymentSpec]:
    out: dict[str, DeploymentSpec] = {}
    for spec in specs:
        if spec.image in out:
            continue
        if not missing_only:
            out[spec.image] = spec
            continue
        if spec.transport != "docker" or spec.config.pull_policy in ("never", "always"):
            continue
        try:  # a stat, not a read: a no-op up stays fast
            stored = store.images.dir_for(*deploying.image_key(spec.image)) / "image.json"
        except (InvalidImageRecord, BerthError):
            continue  # the deploy reports a reference it cannot read, naming the service
        if not stored.exists():
            out[spec.image] = spec
    return list(out.values())


def pull(
    root: Path,
    project: ComposeProject,
    services: Sequence[str],
    display: Display,
    *,
    missing_only: bool,
) -> dict[str, str]:
    """Pull the images of ``services``; failures by image reference (each line says Error)."""
    specs = [project.services[s].spec for s in services]
    store = deploying.Store.open(root)
    todo = _wanted(store, specs, missing_only)
    if not todo:
        return {}
    from agent.registry.pulling import pull_image  # only when something is pulled
    from agent.trust.enforcing import gate

    failed: dict[str, str] = {}
    check = gate(None)
    display.title = "Pulling"

    def one(spec: DeploymentSpec) -> None:
        display("Image", spec.image, "Pulling")
        puller = functools.partial(pull_image, progress=PullProgress(display, spec.image))
        try:
            deploying.pull(
                store, spec.image, spec.transport, puller, verify=spec.config.security.verify, gate=check
            )
        except BerthError as exc:
            failed[spec.image] = str(exc)
            display("Image", spec.image, "Error")
            return
        display("Image", spec.image, "Pulled")

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        list(pool.map(one, todo))
    display.close()
    display.title = "Running"
    return failed
