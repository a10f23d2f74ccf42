"""Store operations the CLI and the agent call: deploy, update, rollback, remove, configure.

Each writer operation takes the store lock, runs recovery first (an interrupted transaction of
another process is cleared or completed before anything new starts), does its transaction, and
rewrites the metadata indexes. Images missing from the store are pulled by a ``Puller`` the
caller passes in (the CLI and the demo pass ``agent.registry.pulling.pull_image``): the registry
client sits above the store and writes into it, so the store never imports it.

Readers get typed records (:class:`agent.store.records.Deployment`) from :meth:`Store.get`,
:meth:`Store.get_version` and :meth:`Store.list`, never the store's raw files; a reader opens the
store with ``create=False`` and creates nothing, not even the store root.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from agent.oci import imageconfig, references
from agent.store import atomic
from agent.store.blobs import BlobStore, Watching
from agent.store.deployments import DeploymentError, Deployments, Version, spec_bytes
from agent.store.errors import StoreNotFound
from agent.store.images import ImageNotFound, ImageRecord, ImageStore, InvalidImageRecord
from agent.store.layout import Layout
from agent.store.locking import store_lock
from agent.store.records import Deployment, DeploymentState, Owner, OwnerKind
from agent.store.volumes import Volumes
from translators.errors import Diagnostics, LineIndex
from translators.paths import ROOT

if TYPE_CHECKING:
    from agent.store.following import Following
    from translators.spec import DeploymentSpec

SPECS_KEPT = 4096
"""Versions whose config and spec a Store keeps (see ``Store._spec_of``): every kept version of a
few thousand deployments; past it the cache starts again."""


class PullUnavailable(DeploymentError):
    """The image is not in the store and no puller was given to fetch it."""


class Gate(Protocol):
    """The trust policy's verdict on an image before anything is written (the CLI passes
    ``agent.trust.enforcing.gate(policy)``): the manifest digest it verified ("" when no requirement
    needed one), or a BerthError when the image is refused. ``verify`` is the spec's own
    ``security.verify``; ``digest`` that of an image already in the store."""

    def __call__(self, reference: str, transport: str, /, *, verify: Any, digest: str | None) -> str: ...


class Puller(Protocol):
    """Fetches ``reference`` into the store at ``root`` and returns its record (the registry
    client's ``pull_image``, with the caller's progress display and credentials bound).
    ``watching`` is told of each layer download (a deploy unpacks layers while they arrive)."""

    def __call__(
        self,
        reference: str,
        root: Path,
        /,
        *,
        transport: str,
        digest: str | None = None,
        watching: Watching | None = None,
    ) -> ImageRecord: ...


@dataclass
class Store:
    """One store root opened for use."""

    layout: Layout
    blobs: BlobStore
    images: ImageStore
    deployments: Deployments
    volumes: Volumes
    _image_configs: dict[bytes, imageconfig.ImageConfig] = field(default_factory=dict, init=False, repr=False)
    """Parsed image configs by their bytes: the deployments of one image share one parse."""
    _trees: dict[str, Path] = field(default_factory=dict, init=False, repr=False)
    """Resolved merged trees by the path their links name (see :meth:`_rootfs`)."""
    _specs: dict[tuple[str, int, int, int], tuple[dict[str, Any], Callable[[], DeploymentSpec]]] = field(
        default_factory=dict, init=False, repr=False
    )
    """Each version's config.json and its spec builder, per file as on disk (see :meth:`_spec_of`)."""

    @classmethod
    def open(cls, root: Path, *, create: bool = True) -> Store:
        """Open the store at ``root``; with ``create=False`` (readers) a missing store is an error
        (StoreNotFound) and nothing is created."""
        layout = Layout(root, create=create)
        if not create and not layout.exists():
            raise StoreNotFound(layout.root)
        blobs = BlobStore(layout.root, create=create)
        deployments = Deployments(layout)
        images = ImageStore(layout.root, blobs, create=create)
        return cls(layout, blobs, images, deployments, Volumes(layout, deployments))

    # -- typed reading (no lock needed) ---------------------------------------------------
    def get(self, name: str) -> Deployment:
        """The current version of deployment ``name`` (DeploymentError if there is none)."""
        return self.record(self.deployments.current(name))

    def current_versions(self) -> dict[str, tuple[int, int]]:
        """Deployment name -> (serial, inode) of its current version: which version is current,
        without reading it (a readlink and a stat each; the supervisor asks every refresh). The
        inode tells a version from one of the same serial made after a remove and a deploy."""
        found = {}
        for name in self.deployments.names():
            serial = self.deployments.current_serial(name)
            if serial is None:
                continue
            try:
                found[name] = (serial, os.stat(self.layout.version_dir(name, serial)).st_ino)
            except FileNotFoundError:
                continue  # removed or switched while we looked
        return found

    def get_version(self, name: str, serial: int) -> Deployment:
        """Version ``serial`` of ``name``, current or kept for rollback."""
        if self.deployments.current_serial(name) is None:
            raise DeploymentError(f"no deployment named {name!r}")
        return self.record(self.deployments.version(name, serial))

    def list(
        self, *, owner_kind: OwnerKind | None = None, project: str | None = None
    ) -> builtins.list[Deployment]:
        """Current versions of every deployment, by name; ``owner_kind`` and ``project`` keep
        only those made by that kind of owner (``cli``, ``compose``, ...) and project."""
        found = []
        for name in self.deployments.names():
            try:
                record = self.get(name)
            except DeploymentError:
                if name in self.deployments.names():
                    raise
                continue  # removed while we listed
            owner = record.state.owner
            if owner_kind is not None and owner.kind != owner_kind:
                continue
            if project is not None and owner.project != project:
                continue
            found.append(record)
        return found

    def record(self, version: Version) -> Deployment:
        """The typed view of one version directory."""
        where = f"deployment {version.name!r} version {version.serial}"
        try:
            state = DeploymentState.from_json(version.state)
        except (KeyError, ValueError, TypeError) as exc:
            raise DeploymentError(f"{where}: state.json is malformed ({type(exc).__name__}: {exc})") from exc
        source = str(version.path / "config.json")
        try:
            data, load_spec = self._spec_of(version, source)
        except (OSError, ValueError) as exc:
            raise DeploymentError(f"{where}: config.json cannot be read: {exc}") from exc
        raw = version.image_config_bytes(self.layout)
        config = self._image_configs.get(raw)
        if config is None:
            config = self._image_configs[raw] = imageconfig.parse(raw)
        container = self.layout.container_dir(version.name, version.serial)
        return Deployment(
            name=version.name,
            serial=version.serial,
            state=state,
            image_config=config,
            path=version.path,
            rootfs=self._rootfs(version),
            upper=container / "upper",
            work=container / "work",
            versions=tuple(self.deployments.serials(version.name)),
            load_spec=load_spec,
            spec_data=data,
        )

    def _spec_of(self, version: Version, source: str) -> tuple[dict[str, Any], Callable[[], DeploymentSpec]]:
        """A version's config.json and the builder of its validated spec, both kept per file as
        it is on disk (a version directory is never rewritten: a new version is a new one).

        The node agent reads a deployment several times per reconcile (its status, the rollout,
        the judge of a settling version), and each read parsed the JSON and validated the spec
        again: at 500 deployments that was a tenth of the agent's CPU (py-spy). The spec models
        are never changed in place (a change is a model_copy), so one instance serves them all."""
        st = os.stat(source)
        key = (source, st.st_ino, st.st_mtime_ns, st.st_size)
        known = self._specs.get(key)
        if known is not None:
            return known
        data = version.spec()
        made = (data, functools.cache(functools.partial(build_spec, data, source=source)))
        if len(self._specs) >= SPECS_KEPT:
            self._specs.clear()
        self._specs[key] = made
        return made

    def _rootfs(self, version: Version) -> Path:
        """``version.rootfs`` resolved. Listing 200 deployments resolved each link component by
        component (a dozen lstat calls each); the versions of one image link to the same merged
        tree, so a relative link from a version directory the store made (not a symlink) is
        resolved once per tree it names."""
        link = version.rootfs
        try:
            target = os.readlink(link)
        except OSError:
            return link.resolve()
        if os.path.isabs(target) or os.path.islink(version.path) or os.path.islink(version.path.parent):
            return link.resolve()
        if "" not in self._trees:
            self._trees[""] = self.layout.versions.resolve()
        named = os.path.normpath(os.path.join(self._trees[""], version.name, str(version.serial), target))
        if named not in self._trees:
            self._trees[named] = Path(named).resolve()
        return self._trees[named]

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """The lock, with recovery first and the metadata indexes brought up to date last.

        Full recovery settles every deployment, so it costs as much as the store is large; it
        runs at a process's first write and then only when a transaction may have been cut short:
        the marker ``metadata/writing`` (made durable before a transaction changes anything, removed
        after it, also after a transaction that failed and was settled) is still there, or ``tmp/``
        or a half-made switch link is left. A clean store is written without it (at
        500 deployments, recovering before every write was most of a deploy's time under the lock).
        """
        self.layout.ensure()  # a store that only had pulls gets its deployment directories
        marker = self.layout.metadata / WRITING_MARKER
        with store_lock(self.layout):
            root = str(self.layout.root.resolve())
            recovered = root not in _recovered or marker.exists() or _leftovers(self.layout)
            if recovered:
                recover_locked(self)  # once per process too: a store of an older Berth has no marker
                _recovered.add(root)
            # After a recovery the indexes may lag a transaction cut short: rebuilt from every
            # deployment. Otherwise they matched when the last writer removed its marker, and only
            # the entries of what this transaction touches are made again.
            self.deployments.touched = set()
            self.deployments.index_trusted = not recovered
            fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            atomic.fsync_dir(self.layout.metadata)
            try:
                yield
            except BaseException:
                self.deployments.index_trusted = False
                # A refused layer, a full disk, Ctrl-C: the operation has undone its own work; settle
                # what it may have left now, so the store checks clean. If this fails too, the marker
                # stays and the next writer (or `store recover`) does it.
                with contextlib.suppress(Exception):
                    recover_locked(self)
                    self.deployments.write_index()
                    marker.unlink()
                raise
            self.deployments.index_trusted = False
            self.deployments.write_index(None if recovered else self.deployments.touched)
            marker.unlink()  # not synced: if this is lost, the next writer recovers once more


WRITING_MARKER = "writing"
_recovered: set[str] = set()
"""Store roots this process recovered fully once."""


def _leftovers(layout: Layout) -> bool:
    """Work that a writer without the marker (``store check`` under the lock) may have left."""
    if os.listdir(layout.tmp):
        return True
    # names, not Path objects: checked at every write, in a directory of one link per deployment
    return any(n.startswith(".") and n.endswith(".new") for n in os.listdir(layout.deployments))


def recover_locked(store: Store) -> list[str]:
    """Clear ``tmp/`` and settle every deployment (lock held)."""
    done = []
    for child in store.layout.tmp.iterdir():
        os.rename(child, store.layout.trash / f"{child.name}.{os.urandom(4).hex()}")
        done.append(f"removed unfinished work tmp/{child.name}")
    done += store.deployments.recover()  # partial blobs stay: a pull resumes from them
    return done


def recover(root: Path) -> list[str]:
    store = Store.open(root, create=False)
    store.layout.ensure()
    with store_lock(store.layout):
        done = recover_locked(store)
        if store.deployments.write_index():
            done.append("rewrote metadata indexes")
        marker = store.layout.metadata / WRITING_MARKER
        if marker.exists():
            marker.unlink()
            done.append(f"finished an interrupted transaction (metadata/{WRITING_MARKER})")
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


def trusted(
    reference: str, transport: str, verify: Any = None, digest: str | None = None, gate: Gate | None = None
) -> str:
    """The caller's trust verdict before anything is written: the digest its gate verified ("" when
    nothing pins one). ``verify`` is a spec's ``security.verify``, ``digest`` that of an image
    already stored. Without a gate no policy is evaluated, but a spec's own signature requirement is
    never skipped silently: it is refused."""
    if gate is None:
        if verify is not None:
            raise PullUnavailable(
                f"image {reference}: the spec requires a signature (security.verify) and this caller "
                "checks no trust policy"
            )
        return ""
    return gate(reference, transport, verify=verify, digest=digest)


def pull(
    store: Store,
    reference: str,
    transport: str = "docker",
    puller: Puller | None = None,
    *,
    verify: Any = None,
    gate: Gate | None = None,
    watching: Watching | None = None,
) -> ImageRecord:
    """Pull through the caller's ``puller``, which records the image in the store.

    The caller's trust gate is asked first and the pull pinned to the digest it verified.
    ``watching``: a deploy's :class:`agent.store.following.Following`, unpacking the layers as
    they download.
    """
    if puller is None:
        raise PullUnavailable(
            f"image {reference} has to be pulled ({transport} transport) and this caller gave no registry "
            "client; pull it first with berth pull"
        )
    digest = trusted(reference, transport, verify, gate=gate)
    if watching is None:  # a puller that predates watching need not know the keyword
        return puller(reference, store.layout.root, transport=transport, digest=digest or None)
    return puller(reference, store.layout.root, transport=transport, digest=digest or None, watching=watching)


def resolve_image(
    store: Store,
    spec: DeploymentSpec,
    puller: Puller | None = None,
    gate: Gate | None = None,
    watching: Watching | None = None,
) -> ImageRecord:
    """The spec's image from the store, pulled first as its pull policy says.

    Images from local layouts and archives (transport oci, oci-archive, docker-archive) are always
    read again through the registry client: their name in the store is the client's to choose, and
    blobs already stored are not copied twice.
    """
    verify = spec.config.security.verify
    if spec.config.pull_policy == "always" or spec.transport != "docker":
        return pull(store, spec.image, spec.transport, puller, verify=verify, gate=gate, watching=watching)
    try:
        record = find_image(store, spec.image)
    except ImageNotFound:
        if spec.config.pull_policy == "never":
            raise
        return pull(store, spec.image, spec.transport, puller, verify=verify, gate=gate, watching=watching)
    trusted(spec.image, spec.transport, verify, record.digest, gate)  # a stored image obeys it too
    return record


def build_spec(data: Any, *, source: str = "", lines: LineIndex | None = None) -> DeploymentSpec:
    """Validate a native spec; every problem is reported at once (InvalidSpec).

    The spec models (and pydantic) are imported here, not with this module: readers such as
    ``berth container list`` never validate a spec."""
    from translators.spec import DeploymentSpec
    from translators.validation import bind

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
    from agent.store import layers  # the unpacker: writers only, not readers like container list

    digests = [layer.digest for layer in image.layers]
    return {
        "image": reference,
        "image_record": image.reference,  # where the store keeps it (oci:/x/web:1 -> localhost/web:1)
        "image_digest": image.digest,
        "config_digest": image.config_digest,
        "layers": digests,
        "chain": layers.chain_key(digests),
    }


def _image_config(store: Store, image: ImageRecord) -> bytes:
    """The image's config blob, byte for byte (the image directory keeps a copy of the blob)."""
    data = (image.path / "config.json").read_bytes()
    if "sha256:" + hashlib.sha256(data).hexdigest() != image.config_digest:
        raise DeploymentError(
            f"image {image.reference}: config.json does not hash to {image.config_digest} (run berth store check)"
        )
    return data


def deploy_locked(
    store: Store,
    spec: DeploymentSpec,
    image: ImageRecord,
    *,
    owner: Owner,
    keep_previous: bool = True,
    early: Following | None = None,
) -> Deployment:
    """Stack ``image`` (``early``: the layers its pull unpacked already) and switch ``spec.name``
    to a new version of it (lock held)."""
    return store.record(
        _deploy_version(store, spec, image, owner=owner, keep_previous=keep_previous, early=early)
    )


def _deploy_version(
    store: Store,
    spec: DeploymentSpec,
    image: ImageRecord,
    *,
    owner: Owner,
    keep_previous: bool = True,
    encoded: bytes | None = None,
    early: Following | None = None,
) -> Version:
    """``encoded``: the spec as :func:`agent.store.deployments.spec_bytes` made it (before the lock)."""
    from agent.store import layers

    merged = layers.ensure_merged(store.layout, store.blobs, image, early)
    manifest = (image.path / "manifest.json").read_bytes()
    return store.deployments.deploy(
        spec.name,
        merged_rootfs=merged,
        spec=encoded if encoded is not None else spec.model_dump(mode="json"),
        manifest=manifest,
        image_config=_image_config(store, image),
        state={**_state(image, spec.image), "owner": owner.to_json()},
        keep_previous=keep_previous,
    )


def deploy(
    root: Path,
    spec: DeploymentSpec,
    *,
    owner: Owner = Owner(),  # noqa: B008 - frozen, so one shared default is safe
    keep_previous: bool = True,
    puller: Puller | None = None,
    gate: Gate | None = None,
) -> Deployment:
    """Deploy ``spec`` (pulling its image if needed) for ``owner``.

    A deployment of that name already there is kept as the rollback target, as ostree keeps its
    rollback deployment (``keep_previous=False`` drops it, for callers that must not keep one).
    ``puller`` fetches an image the store lacks; ``gate`` is the trust policy's verdict (see Gate).
    """
    from agent.store.following import Following  # writers only, as the unpacker

    store = Store.open(root)
    encoded = spec_bytes(spec.model_dump(mode="json"))  # before the lock: other writers wait for less
    # the layers are unpacked while the pull downloads them; leaving joins those threads, so the
    # lock (and recovery, on a failure) never runs beside them
    with store.writing(), Following(store.layout, store.blobs) as early:
        image = resolve_image(store, spec, puller, gate, early)
        version = _deploy_version(
            store, spec, image, owner=owner, keep_previous=keep_previous, encoded=encoded, early=early
        )
    return store.record(version)  # read back after the lock: other writers wait for less


def update(
    root: Path, name: str, *, pull_image: bool = True, puller: Puller | None = None, gate: Gate | None = None
) -> tuple[bool, Deployment]:
    """Redeploy ``name`` from the newest image of its tag; (False, current) when unchanged.

    The new version keeps the spec and the owner of the current one."""
    from agent.store.following import Following

    store = Store.open(root, create=False)
    with store.writing(), Following(store.layout, store.blobs) as early:
        current = store.get(name)
        spec = current.spec
        verify = spec.config.security.verify
        if pull_image or spec.transport != "docker":
            image = pull(store, spec.image, spec.transport, puller, verify=verify, gate=gate, watching=early)
        else:
            image = find_image(store, spec.image)
            trusted(spec.image, spec.transport, verify, image.digest, gate)
        if image.digest == current.state.image_digest:
            return False, current
        return True, deploy_locked(store, spec, image, owner=current.state.owner, early=early)


def rollback(root: Path, name: str) -> Deployment:
    store = Store.open(root, create=False)
    with store.writing():
        return store.record(store.deployments.rollback(name))


def remove(root: Path, name: str, *, cleanup: bool = False) -> list[str]:
    """Remove a deployment; with ``cleanup``, also its image when nothing else uses it, then gc."""
    from agent.store import collecting  # gc is only needed with --cleanup

    store = Store.open(root, create=False)
    removed: list[str] = []
    with store.writing():
        version = store.deployments.current(name)
        image_ref = str(version.state.get("image_record") or version.state.get("image", ""))
        store.deployments.remove(name)
        if cleanup:
            used = _images_in_use(store)
            with contextlib.suppress(ImageNotFound, InvalidImageRecord, references.InvalidReference):
                image = find_image(store, image_ref)
                if image.digest not in used:
                    store.images.remove(*image_key(image_ref))
                    removed.append(f"image {image_ref}")
            removed += collecting.collect_locked(store)
    return removed


def _images_in_use(store: Store) -> set[str]:
    """Manifest digests of the images any kept version (current or rollback) was deployed from."""
    return {str(v.get("image_digest")) for kept in store.deployments.references().values() for v in kept}


def remove_images(root: Path, refs: list[str]) -> tuple[dict[str, str], list[str]]:
    """Drop the store's records of ``refs`` (as the store names them, ``image_record``) unless a
    deployment still runs from them, then collect what nothing refers to any more.

    A name is dropped whenever another name of the same image stays (docker untags it). Returns each
    reference's fate (``removed``, ``in use`` or ``missing``) and what the garbage collection removed: ``compose down --rmi`` warns about an image in use and goes on, as docker's
    conflict error makes docker compose do."""
    from agent.store import collecting  # gc only when images go

    store = Store.open(root, create=False)
    fates: dict[str, str] = {}
    collected: list[str] = []
    with store.writing():
        used = _images_in_use(store)
        for ref in refs:
            try:
                image = find_image(store, ref)
            except (ImageNotFound, InvalidImageRecord, references.InvalidReference):
                fates[ref] = "missing"
                continue
            # as docker untags a name another name of the same image keeps, whoever runs it
            others = [i for i in store.images.list() if i.digest == image.digest and i.path != image.path]
            if image.digest in used and not others:
                fates[ref] = "in use"
                continue
            store.images.remove(*image_key(ref))
            fates[ref] = "removed"
        if "removed" in fates.values():
            collected = collecting.collect_locked(store)
    return fates, collected


def edit_spec(root: Path, name: str, edit: Callable[[dict[str, Any]], dict[str, Any]]) -> DeploymentSpec:
    """Read, edit, validate and store the spec of ``name`` under one lock, so a deploy or another
    edit between the read and the write cannot be undone silently."""
    store = Store.open(root, create=False)
    with store.writing():
        return _store_spec(store, name, edit(store.deployments.current(name).spec()))


def set_spec(root: Path, name: str, data: dict[str, Any]) -> DeploymentSpec:
    """Validate and store a new spec for ``name`` (the name itself cannot change)."""
    store = Store.open(root, create=False)
    with store.writing():
        return _store_spec(store, name, data)


def _store_spec(store: Store, name: str, data: dict[str, Any]) -> DeploymentSpec:
    spec = build_spec(data)
    if spec.name != name:
        raise DeploymentError(f"the spec's name {spec.name!r} must stay {name!r}")
    store.deployments.set_spec(name, spec.model_dump(mode="json"))
    return spec


def remove_volume(root: Path, name: str, *, force: bool = False) -> None:
    """Remove named volume ``name`` under the store lock (see :meth:`Volumes.remove`)."""
    store = Store.open(root, create=False)
    with store.writing():
        store.volumes.remove(name, force=force)
