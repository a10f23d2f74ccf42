"""``compose down --rmi local|all``: the project's images leave the store, as docker compose's do.

``all`` removes the image of every service (and of every container of the project the store still
has, so a project whose file is gone loses its images too); ``local`` only the images without a
custom tag, those of services without an ``image:`` field, which carry the name docker compose
gives a build (``<project>-<service>``). Removing drops the store's record of the image and then
collects the blobs, layers and trees nothing refers to any more; an image another deployment still
runs from (or keeps for its rollback) stays, with docker compose's warning, and ``down`` goes on.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from agent.compose.projects import ComposeProject
from agent.compose.upping import Say
from agent.store import deploying
from agent.store.records import Deployment

FATE_WORDS = {
    "removed": "Removed",
    "in use": "Resource is still in use",
    "missing": "No resource found to remove",
}
"""What docker compose prints after ``Image NAME`` for each fate (``missing``: nothing to remove)."""


def _local(project: str, service: str, image: str) -> bool:
    """An image with no custom tag: the name docker compose gives a service's build."""
    return image.split(":", 1)[0].rsplit("/", 1)[-1] == f"{project}-{service}"


def wanted(
    name: str, project: ComposeProject | None, deployments: Sequence[Deployment], mode: str
) -> dict[str, str]:
    """The images ``down --rmi MODE`` removes: name as the project writes it -> name in the store."""
    out: dict[str, str] = {}
    for d in deployments:
        if mode == "all" or _local(name, d.state.owner.service or "", d.state.image):
            out.setdefault(d.state.image, d.state.image_record or d.state.image)
    if project is not None:
        for svc in project.services.values():
            image = svc.spec.image
            if svc.spec.transport != "docker" or image in out:
                continue  # a layout or archive is kept where its deployments recorded it
            if mode == "all" or _local(name, svc.name, image):
                out[image] = image
    return out


def remove(root: Path, images: dict[str, str], say: Say) -> dict[str, str]:
    """Remove ``images`` (see :func:`wanted`); each image's fate by the name the project writes."""
    if not images:
        return {}
    for shown in images:
        say("Image", shown, "Removing")
    fates, _ = deploying.remove_images(root, sorted(set(images.values())))
    out = {}
    for shown, stored in images.items():
        out[shown] = fates[stored]
        say("Image", shown, FATE_WORDS[fates[stored]])
    return out
