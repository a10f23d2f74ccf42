"""Blobs from a registry into the BlobStore: verified while streaming, resumed with Range.

A download writes into the blob's partial file and hashes as it goes. When the connection drops
mid-body the bytes received stay there, and the next attempt asks for the rest with
``Range: bytes=N-``; a server that answers 200 instead of 206 gets a clean restart. Only a blob
whose size and sha256 match its descriptor reaches ``blobs/sha256/``. A lock file per blob keeps
two pulls of the same blob (other processes) from writing one partial file at once.
"""

from __future__ import annotations

import fcntl
import re
import time
from collections.abc import Iterator
from pathlib import Path

import requests

from agent.registry import authorizing, client, errors, manifests, progress
from agent.store import blobs

_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")
NET_CHUNK = 1 << 16
"""Bytes per read from the socket: a read cut short loses its chunk, so keep it small."""
_BODY_ERRORS = (requests.exceptions.ChunkedEncodingError, requests.ConnectionError, requests.Timeout)


def _counted(resp: requests.Response, digest: str, sink: progress.ProgressSink) -> Iterator[bytes]:
    for chunk in resp.iter_content(NET_CHUNK):
        sink.blob_advanced(digest, len(chunk))
        yield chunk


def _resume_offset(resp: requests.Response, offset: int) -> int:
    """Where the body starts: ``offset`` for a matching 206, 0 when the server sent it all."""
    if resp.status_code != 206:
        return 0
    match = _CONTENT_RANGE.match(resp.headers.get("Content-Range", ""))
    if match is None or int(match.group(1)) != offset:
        return -1
    return offset


def fetch_blob(
    registry: client.RegistryClient,
    repository: str,
    desc: manifests.Descriptor,
    store: blobs.BlobStore,
    sink: progress.ProgressSink,
    *,
    watching: blobs.Watching | None = None,
) -> Path:
    """Make ``desc`` present and verified in ``store``; raise a BlobError otherwise.

    ``watching`` may follow a download that starts at the blob's first byte (a layer unpacked
    while it arrives, see :mod:`agent.store.following`)."""
    if store.has(desc.digest):
        sink.blob_finished(desc.digest, skipped=True)
        return store.path(desc.digest)
    partial = store.partial_path(desc.digest)
    lock_path = partial.with_name(partial.name + ".lock")
    with open(lock_path, "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        # The lock file is never unlinked: unlinking a held flock file lets a third process lock
        # a new inode while a second one still waits on the old.
        if store.has(desc.digest):  # another process finished it while we waited
            sink.blob_finished(desc.digest, skipped=True)
            return store.path(desc.digest)
        return _download(
            registry, repository, desc=desc, store=store, sink=sink, partial=partial, watching=watching
        )


def _download(
    registry: client.RegistryClient,
    repository: str,
    *,
    desc: manifests.Descriptor,
    store: blobs.BlobStore,
    sink: progress.ProgressSink,
    partial: Path,
    watching: blobs.Watching | None,
) -> Path:
    source = registry.host
    path = f"/v2/{repository}/blobs/{desc.digest}"
    scope = authorizing.pull_scope(repository)
    last = ""
    for attempt in range(registry.retry.attempts):
        offset = partial.stat().st_size if partial.exists() else 0
        if offset > desc.size:
            offset = 0
        if offset and offset == desc.size:
            try:
                return store.commit_partial(desc.digest, desc.size)
            except (blobs.DigestMismatch, blobs.SizeMismatch):
                offset = 0  # the partial file was bad and is gone; download it all
        # identity: a transfer encoding would make Range offsets and sizes mean something else
        headers = {"Accept-Encoding": "identity", **({"Range": f"bytes={offset}-"} if offset else {})}
        resp = registry.request(
            "GET", path, scope=scope, headers=headers, ok=(200, 206), what=f"blob {desc.digest}"
        )
        with resp:
            start = _resume_offset(resp, offset)
            if start < 0:
                partial.unlink(missing_ok=True)
                last = f"bad Content-Range {resp.headers.get('Content-Range')!r} for offset {offset}"
                continue
            if offset and start == 0:
                sink.note(f"{desc.digest[:19]}: server ignored Range, restarting the download")
            elif start:
                sink.note(f"{desc.digest[:19]}: resuming at byte {start}")
            sink.blob_started(desc.digest, desc.size, start)
            try:
                final = store.resume_stream(
                    desc.digest,
                    _counted(resp, desc.digest, sink),
                    desc.size,
                    start,
                    watcher=watching.watch(desc.digest, desc.size) if watching and not start else None,
                )
            except _BODY_ERRORS as exc:
                last = f"connection closed mid-body: {exc}"
                sink.note(f"{desc.digest[:19]}: {last}; retrying")
                time.sleep(registry.retry.delay(attempt))
                continue
            except blobs.DigestMismatch as exc:
                raise errors.BlobDigestMismatch(
                    source, desc.digest, f"content hashes to {exc.actual} (repository {repository})"
                ) from exc
            except blobs.SizeMismatch as exc:
                raise errors.BlobSizeMismatch(
                    source,
                    desc.digest,
                    f"expected {exc.expected} bytes, received {exc.actual} (repository {repository})",
                ) from exc
        sink.blob_finished(desc.digest, skipped=False)
        return final
    raise errors.BlobTruncated(
        source,
        desc.digest,
        f"incomplete after {registry.retry.attempts} attempts: {last} (partial data kept for resume)",
    )
