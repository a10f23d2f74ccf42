"""Pull an image into the host store: resolve, fetch and verify every blob, then record it.

The order is what makes a half-pulled image impossible: the manifest is fetched and its digest
checked, an index is resolved to one platform, the config and all layers are fetched (several at
once from a registry) and verified into the BlobStore, and only then does ``ImageStore.put`` write
the image directory, ``image.json`` last. Any failure before that leaves no record; blobs already
verified stay (content-addressed, reusable) and partial downloads stay for resuming.

Transports: ``docker`` (a registry; also ``docker://REF``), ``oci:PATH[:REF]``,
``oci-archive:PATH[:REF]`` and ``docker-archive:PATH[:NAME:TAG]``. Non-registry images are
recorded under the registry ``localhost`` (see ``references.local_name``). A reference with a
digest is recorded under the tag directory ``sha256-<hex>`` of that digest, even when it also
names a tag (the digest wins).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol

from agent.oci import references
from agent.registry import (
    archives,
    authorizing,
    client,
    credentials,
    errors,
    fetching,
    layouts,
    manifests,
    platforms,
    progress,
    reading,
    retrying,
)
from agent.store import blobs, images, locking

TRANSPORTS = ("docker", "oci", "oci-archive", "docker-archive")
ProgressSink = progress.ProgressSink
_NullProgress = progress.NullProgress  # the parameter ``progress`` of pull_image hides the module
MAX_MANIFEST = 4 << 20
"""Manifests are small; a registry sending more is broken or hostile (containerd's limit too)."""
LAYER_WORKERS = 3
"""Concurrent layer downloads: enough to hide latency on 2 cores without hogging the registry."""


class Source(Protocol):
    """Where manifests and blobs come from."""

    name: str
    parallel: bool

    def get_manifest(self, digest: str | None) -> tuple[bytes, str | None, str | None]:
        """The reference's own manifest (None) or a child by digest: bytes, media type, digest."""

    def fetch_blob(
        self,
        desc: manifests.Descriptor,
        store: blobs.BlobStore,
        sink: progress.ProgressSink,
        watching: blobs.Watching | None = None,
    ) -> Path:
        """Make the blob present and verified in ``store`` (``watching`` may follow a layer's
        download: see :func:`fetching.fetch_blob`)."""

    def close(self) -> None: ...


class RegistrySource:
    """A repository on a registry."""

    parallel = True

    def __init__(self, ref: references.Reference, registry: client.RegistryClient) -> None:
        self.ref = ref
        self.client = registry
        self.name = ref.registry

    def get_manifest(self, digest: str | None) -> tuple[bytes, str | None, str | None]:
        target = digest or self.ref.manifest_ref
        resp = self.client.request(
            "GET",
            f"/v2/{self.ref.repository}/manifests/{target}",
            scope=authorizing.pull_scope(self.ref.repository),
            headers={"Accept": manifests.ACCEPT},
            what=f"manifest {self.ref.repository}:{target}" if not digest else f"manifest {digest}",
        )
        with resp:
            try:
                raw = reading.read_bounded(resp, MAX_MANIFEST)
            except reading.READ_ERRORS as exc:
                raise errors.TransportError(
                    self.name, f"manifest {target}: connection failed mid-body: {exc}"
                ) from exc
            if len(raw) > MAX_MANIFEST:
                raise errors.ManifestError(
                    self.name, f"manifest {target} is larger than {MAX_MANIFEST} bytes"
                )
            header_digest = resp.headers.get("Docker-Content-Digest", "")
            if not digest and header_digest.startswith("sha256:"):
                digest = header_digest
            return raw, resp.headers.get("Content-Type"), digest

    def fetch_blob(
        self,
        desc: manifests.Descriptor,
        store: blobs.BlobStore,
        sink: progress.ProgressSink,
        watching: blobs.Watching | None = None,
    ) -> Path:
        return fetching.fetch_blob(self.client, self.ref.repository, desc, store, sink, watching=watching)

    def close(self) -> None:
        self.client.close()


def split_transport(text: str, transport: str = "docker") -> tuple[str, str]:
    """``oci:/x:tag`` -> (``oci``, ``/x:tag``); ``docker://nginx`` -> (``docker``, ``nginx``)."""
    if text.startswith("docker://"):
        return "docker", text.removeprefix("docker://")
    for name in ("oci-archive", "docker-archive", "oci"):
        if text.startswith(f"{name}:"):
            return name, text[len(name) + 1 :]
    if transport not in TRANSPORTS:
        raise errors.InvalidReference("", f"unknown transport {transport!r} (one of {', '.join(TRANSPORTS)})")
    return transport, text


def _load(source: Source, digest: str | None, what: str) -> manifests.Manifest:
    raw, media_type, expected = source.get_manifest(digest)
    parsed = manifests.parse(raw, media_type, source.name)
    if expected is not None and parsed.digest != expected:
        raise errors.ManifestError(source.name, f"{what} hashes to {parsed.digest}, expected {expected}")
    return parsed


def resolve(
    source: Source, wanted: platforms.Platform, pinned: str | None, sink: progress.ProgressSink
) -> manifests.Manifest:
    """The image manifest to pull: the reference's own, or its index entry for ``wanted``."""
    top = _load(source, None, "manifest")
    if pinned is not None and top.digest != pinned:
        raise errors.ManifestError(
            source.name, f"manifest hashes to {top.digest}, but the reference pins {pinned}"
        )
    current = top
    for _ in range(3):  # an index may point at another index (rare); bounded
        if not current.is_index:
            return current
        entry = manifests.select_platform(current, wanted, source.name)
        sink.note(f"platform {wanted}: manifest {entry.digest}")
        current = _load(source, entry.digest, f"manifest {entry.digest} for {wanted}")
    raise errors.ManifestError(source.name, "indexes nested too deeply")


def fetch_all(
    source: Source,
    image: manifests.Manifest,
    store: blobs.BlobStore,
    sink: progress.ProgressSink,
    watching: blobs.Watching | None = None,
) -> bytes:
    """Fetch config and layers; return the config bytes. Raises on the first failure.

    ``watching`` follows the layers' downloads (a deploy unpacking them as they arrive)."""
    if image.config is None:
        raise errors.ManifestError(source.name, "manifest has no config")
    config_path = source.fetch_blob(image.config, store, sink)
    unique = list({layer.digest: layer for layer in image.layers}.values())
    if source.parallel and len(unique) > 1:
        with concurrent.futures.ThreadPoolExecutor(LAYER_WORKERS, thread_name_prefix="berth-pull") as pool:
            futures = [pool.submit(source.fetch_blob, layer, store, sink, watching) for layer in unique]
            try:
                for future in concurrent.futures.as_completed(futures):
                    future.result()
            finally:
                for future in futures:
                    future.cancel()
    else:
        for layer in unique:
            source.fetch_blob(layer, store, sink, watching)
    with _store_errors(store.root, f"cannot read config blob {image.config.digest}"):
        return config_path.read_bytes()


def open_source(
    transport: str,
    text: str,
    *,
    creds: str | credentials.Credentials | None,
    insecure: Sequence[str],
    ca_file: Path | None,
    retry: retrying.RetryPolicy | None,
) -> tuple[Source, references.Reference]:
    """The source for a transport string, and the reference its image is recorded under.

    ``creds``: ``user:pass`` text (``--creds``), or credentials the caller already chose for this
    image's registry (the agent's from a pull secret); None: the host's auth files, if any."""
    if transport == "docker":
        ref = references.parse(text)
        found = (
            creds
            if isinstance(creds, credentials.Credentials)
            else credentials.lookup(ref.registry, ref.repository, explicit=creds)
        )
        registry = client.RegistryClient(
            ref.api_host, creds=found, insecure=insecure, ca_file=ca_file, retry=retry
        )
        return RegistrySource(ref, registry), ref
    path, name = layouts.split_path_ref(text)
    if transport == "docker-archive":
        archive = archives.DockerArchiveSource(path, name)
        return archive, archive.target
    reader: layouts.Reader = layouts.DirReader(path) if transport == "oci" else layouts.TarReader(path)
    fallback = path.name if transport == "oci" else path.name.split(".")[0]
    layout = layouts.LayoutSource(reader, name, fallback)
    return layout, layout.target


def pull_image(
    reference: str,
    store_root: Path,
    *,
    transport: str = "docker",
    platform: str | None = None,
    creds: str | credentials.Credentials | None = None,
    insecure: Sequence[str] = (),
    ca_file: Path | None = None,
    progress: ProgressSink | None = None,
    retry: retrying.RetryPolicy | None = None,
    digest: str | None = None,
    watching: blobs.Watching | None = None,
) -> images.ImageRecord:
    """Pull ``reference`` into the store at ``store_root`` and return its record.

    ``digest``: the manifest digest the trust policy verified (``agent.trust.enforcing.check``);
    a reference whose manifest no longer has it is refused before any blob is fetched.
    ``watching``: told of each layer download (a deploy unpacks layers while they arrive,
    :mod:`agent.store.following`); it trusts nothing before the blob is verified.

    Raises a ``errors.RegistryError`` subclass naming the registry (or file), the blob and the
    problem; in that case nothing is recorded.
    """
    sink = progress or _NullProgress()
    wanted = platforms.parse(platform)
    transport, text = split_transport(reference, transport)
    source, target = open_source(
        transport, text, creds=creds, insecure=insecure, ca_file=ca_file, retry=retry
    )
    try:
        with _store_errors(store_root, "cannot open the store"):
            blob_store = blobs.BlobStore(store_root)
        with locking.pulling(store_root):  # garbage collection waits for us
            pinned = digest or (target.digest if transport == "docker" else None)
            image = resolve(source, wanted, pinned, sink)
            config = fetch_all(source, image, blob_store, sink, watching)
            missing = [d.digest for d in image.layers if not blob_store.has(d.digest)]
            if missing:  # fetch_all raises first; this guards the invariant against future edits
                raise errors.BlobError(source.name, missing[0], "missing after fetch")
            tag = target.digest or target.tag or "latest"
            with _store_errors(store_root, f"cannot record {target}"):
                return images.ImageStore(store_root, blob_store).put(
                    target.registry, target.repository, tag, image.raw, config
                )
    finally:
        source.close()


@contextlib.contextmanager
def _store_errors(store_root: Path, what: str) -> Iterator[None]:
    """The store's own failures (OSError, and the ValueError of ``ImageStore.put`` for missing
    blobs or bad names) as a StoreError; only around store calls, so a bug elsewhere still
    shows as one."""
    try:
        yield
    except (OSError, ValueError) as exc:
        raise errors.StoreError(str(store_root), f"{what}: {exc}") from exc
