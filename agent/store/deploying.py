"""Store operations the CLI and the agent call: deploy, update, rollback, remove, configure.

Each writer operation takes the store lock, runs recovery first (an interrupted transaction of
another process is cleared or completed before anything new starts), does its transaction, and
rewrites the metadata indexes. Images missing from the store are pulled by a ``Puller`` the
caller passes in (the CLI and the demo pass ``agent.registry.pulling.pull_image``): the registry
client sits above the store and writes into it, so the store never imports it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from agent.oci import references
from agent.store import layers
from agent.store.blobs import BlobStore
from agent.store.deployments import DeploymentError, Deployments, Version
from agent.store.images import ImageNotFound, ImageRecord, ImageStore
from agent.store.layout import Layout
from agent.store.locking import store_lock
from translators.errors import Diagnostics, LineIndex
from translators.paths import ROOT
from translators.spec import DeploymentSpec
from translators.validation import bind


class PullUnavailable(DeploymentError):
    """The image is not in the store and no puller was given to fetch it."""


class Puller(Protocol):
    """Fetches ``reference`` into the store at ``root`` and returns its record (the registry
    client's ``pull_image``, with the caller's progress display and credentials bound)."""

    def __call__(self, reference: str, root: Path, /, *, transport: str) -> ImageRecord: ...


@dataclass
class Store:
    """One store root opened for use."""

    layout: Layout
    blobs: BlobStore
    images: ImageStore
    deployments: Deployments

    @classmethod
    def open(cls, root: Path) -> Store:
        layout = Layout(root)
        blobs = BlobStore(layout.root)
        return cls(layout, blobs, ImageStore(layout.root, blobs), Deployments(layout))

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """The lock, with recovery first and the metadata indexes brought up to date last."""
        with store_lock(self.layout):
            recover_locked(self)
            yield
            self.deployments.write_index()


def recover_locked(store: Store) -> list[str]:
    """Clear ``tmp/`` and settle every deployment (lock held)."""
    done = []
    for child in store.layout.tmp.iterdir():
        os.rename(child, store.layout.trash / f"{child.name}.{os.urandom(4).hex()}")
        done.append(f"removed unfinished work tmp/{child.name}")
    done += store.deployments.recover()  # partial blobs stay: a pull resumes from them
    return done


def recover(root: Path) -> list[str]:
    store = Store.open(root)
    with store_lock(store.layout):
        done = recover_locked(store)
        if store.deployments.write_index():
            done.append("rewrote metadata indexes")
    return done


def image_key(reference: str) -> tuple[str, str, str]:
    """Where the registry client records ``reference``: registry, repository, tag or digest."""
    ref = references.parse(reference)
    return ref.registry, ref.repository, ref.digest or ref.tag or "latest"


def find_image(store: Store, reference: str) -> ImageRecord:
    """The stored image for ``reference``; a pinned digest must be the record's own digest."""
    record = store.images.get(*image_key(reference))
    pinned = references.parse(reference).digest
    if pinned is not None and record.digest != pinned:
        raise ImageNotFound(f"{reference}: the stored record has digest {record.digest}, not the pinned one")
    return record


def pull(
    store: Store, reference: str, transport: str = "docker", puller: Puller | None = None
) -> ImageRecord:
    """Pull through the caller's ``puller``, which records the image in the store."""
    if puller is None:
        raise PullUnavailable(
            f"image {reference} has to be pulled ({transport} transport) and this caller gave no registry "
            "client; pull it first with berth pull"
        )
    return puller(reference, store.layout.root, transport=transport)


def resolve_image(store: Store, spec: DeploymentSpec, puller: Puller | None = None) -> ImageRecord:
    """The spec's image from the store, pulled first as its pull policy says.

    Images from local layouts and archives (transport oci, oci-archive, docker-archive) are always
    read again through the registry client: their name in the store is the client's to choose, and
    blobs already stored are not copied twice.
    """
    policy = spec.config.pull_policy
    if policy == "always" or spec.transport != "docker":
        return pull(store, spec.image, spec.transport, puller)
    try:
        return find_image(store, spec.image)
    except ImageNotFound:
        if policy == "never":
            raise
        return pull(store, spec.image, spec.transport, puller)


def build_spec(data: Any, *, source: str = "", lines: LineIndex | None = None) -> DeploymentSpec:
    """Validate a native spec; every problem is reported at once (InvalidSpec)."""
    diag = Diagnostics(file=source or None, lines=lines or {})
    spec = bind(DeploymentSpec, data, diag, at=ROOT)
    diag.raise_if_errors()
    if spec is None:  # pragma: no cover - bind returns None only with errors recorded
        raise DeploymentError("invalid spec")
    return spec


def default_name(reference: str) -> str:
    """``registry/team/web:1`` -> ``web``; ``oci:/srv/layouts/web:1`` -> ``web``."""
    path = reference.split("://", 1)[-1].rsplit("/", 1)[-1]
    return path.split("@", 1)[0].split(":", 1)[0] or "container"


def _state(image: ImageRecord, reference: str) -> dict[str, Any]:
    digests = [layer.digest for layer in image.layers]
    return {
        "image": reference,
        "image_digest": image.digest,
        "config_digest": image.config_digest,
        "layers": digests,
        "chain": layers.chain_key(digests),
    }


def deploy_locked(store: Store, spec: DeploymentSpec, image: ImageRecord, *, keep_previous: bool) -> Version:
    merged = layers.ensure_merged(store.layout, store.blobs, image)
    manifest = (image.path / "manifest.json").read_bytes()
    return store.deployments.deploy(
        spec.name,
        merged_rootfs=merged,
        spec=spec.model_dump(mode="json"),
        manifest=manifest,
        state=_state(image, spec.image),
        keep_previous=keep_previous,
    )


def deploy(
    root: Path, spec: DeploymentSpec, *, keep_previous: bool = False, puller: Puller | None = None
) -> Version:
    """Deploy ``spec`` (pulling its image if needed); ``keep_previous`` keeps a rollback."""
    store = Store.open(root)
    with store.writing():
        image = resolve_image(store, spec, puller)
        return deploy_locked(store, spec, image, keep_previous=keep_previous)


def update(
    root: Path, name: str, *, pull_image: bool = True, puller: Puller | None = None
) -> tuple[bool, Version]:
    """Redeploy ``name`` from the newest image of its tag; (False, current) when unchanged."""
    store = Store.open(root)
    with store.writing():
        current = store.deployments.current(name)
        spec = build_spec(current.spec())
        if pull_image or spec.transport != "docker":
            image = pull(store, spec.image, spec.transport, puller)
        else:
            image = find_image(store, spec.image)
        if image.digest == current.state.get("image_digest"):
            return False, current
        return True, deploy_locked(store, spec, image, keep_previous=True)


def rollback(root: Path, name: str) -> Version:
    store = Store.open(root)
    with store.writing():
        return store.deployments.rollback(name)


def remove(root: Path, name: str, *, cleanup: bool = False) -> list[str]:
    """Remove a deployment; with ``cleanup``, also its image when nothing else uses it, then gc."""
    from agent.store import collecting  # gc is only needed with --cleanup

    store = Store.open(root)
    removed: list[str] = []
    with store.writing():
        version = store.deployments.current(name)
        image_ref = str(version.state.get("image", ""))
        store.deployments.remove(name)
        if cleanup:
            used = {store.deployments.current(n).state.get("image_digest") for n in store.deployments.names()}
            with contextlib.suppress(ImageNotFound, ValueError, references.InvalidReference):
                image = find_image(store, image_ref)
                if image.digest not in used:
                    store.images.remove(*image_key(image_ref))
                    removed.append(f"image {image_ref}")
            removed += collecting.collect_locked(store)
    return removed


def edit_spec(root: Path, name: str, edit: Callable[[dict[str, Any]], dict[str, Any]]) -> DeploymentSpec:
    """Read, edit, validate and store the spec of ``name`` under one lock, so a deploy or another
    edit between the read and the write cannot be undone silently."""
    store = Store.open(root)
    with store.writing():
        return _store_spec(store, name, edit(store.deployments.current(name).spec()))


def set_spec(root: Path, name: str, data: dict[str, Any]) -> DeploymentSpec:
    """Validate and store a new spec for ``name`` (the name itself cannot change)."""
    store = Store.open(root)
    with store.writing():
        return _store_spec(store, name, data)


def _store_spec(store: Store, name: str, data: dict[str, Any]) -> DeploymentSpec:
    spec = build_spec(data)
    if spec.name != name:
        raise DeploymentError(f"the spec's name {spec.name!r} must stay {name!r}")
    store.deployments.set_spec(name, spec.model_dump(mode="json"))
    return spec
