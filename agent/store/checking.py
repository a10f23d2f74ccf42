"""``berth store check``: verify the whole store and name every problem found.

Checked: every blob hashes to its name; every image's manifest hashes to its recorded digest and
its config and layers are in the blob store; every unpacked layer holds what its description lists
and, read again from its blob, the same data, modes, owners and link targets;
every merged tree is rebuilt from its layers and must match (same paths, same inodes, directories
with the same owner and mode); every deployment version's spec is valid, its manifest matches its
image digest, its image config is there (and hashes to its digest), and its rootfs leads to its
image's merged tree; rollback targets exist; no debris of an unfinished transaction is left, nor
a container directory of a version that is gone; the metadata indexes match the deployments.
Reading only: a store that does not exist is reported (StoreNotFound), not created.

Findings are of two kinds. *Problems* are corruption: something is wrong and no recovery will
make it right (exit 1). *Interrupted* work is what a killed operation leaves and recovery finishes
without losing anything (``tmp/`` work, an unfinished switch, versions not yet dropped, metadata
not yet rewritten, container directories of dropped versions): reported as such, exit 0, so that a
check after a crash is a trustworthy signal. ``berth store check --repair`` (or the next write)
finishes them. Every step reports what it cannot read as a problem naming the item; a check never
stops on one.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from agent.store import atomic, deploying, layers, merging, streams, tarreading, trees, unpacking
from agent.store.deploying import WRITING_MARKER, Store
from agent.store.deployments import IMAGE_CONFIG, PARTIAL, DeploymentError
from agent.store.locking import store_lock
from agent.store.unpacking import LayerDescription
from translators.errors import BerthError, InvalidSpec

_KIND_OF_MODE = {
    0o040000: "dir",
    0o100000: "file",
    0o120000: "symlink",
    0o020000: "char",
    0o060000: "block",
    0o010000: "fifo",
}


def _children(path: Path) -> list[Path]:
    """The entries of ``path``, sorted; none when it does not exist (a store with pulls only)."""
    return sorted(path.iterdir()) if path.is_dir() else []


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def _tree(root: Path) -> dict[str, os.stat_result]:
    """Every path under ``root`` (relative) with its lstat, the root itself as ''."""
    return dict(trees.walk(str(root)))


def _compare(found: dict[str, os.stat_result], expected: dict[str, os.stat_result], what: str) -> list[str]:
    problems = []
    for path in sorted(expected.keys() - found.keys())[:20]:
        problems.append(f"{what}: {path or '/'} is missing")
    for path in sorted(found.keys() - expected.keys())[:20]:
        problems.append(f"{what}: {path or '/'} is not in its layers")
    for path in sorted(found.keys() & expected.keys()):
        a, b = found[path], expected[path]
        if (a.st_mode & 0o170000) == 0o040000:
            if (a.st_mode, a.st_uid, a.st_gid) != (b.st_mode, b.st_uid, b.st_gid):
                problems.append(f"{what}: directory {path or '/'} differs from its layers (owner or mode)")
        elif (a.st_dev, a.st_ino) != (b.st_dev, b.st_ino):
            problems.append(f"{what}: {path} is not a link to its layer's file")
    return problems


def check_blobs(store: Store) -> list[str]:
    problems = []
    for digest in store.blobs.digests():
        actual = _sha256_file(store.blobs.path(digest))
        if actual != digest:
            problems.append(f"blob {digest}: content hashes to {actual}")
    return problems


def check_images(store: Store) -> list[str]:
    problems = []
    for info_path in sorted(store.layout.images.rglob("image.json")) if store.layout.images.is_dir() else []:
        where = info_path.parent.relative_to(store.layout.root)
        info = atomic.read_json(info_path)
        manifest = info_path.parent / "manifest.json"
        if not manifest.is_file():
            problems.append(f"image {where}: manifest.json is missing")
            continue
        if _sha256_file(manifest) != info["digest"]:
            problems.append(f"image {where}: manifest.json does not hash to {info['digest']}")
        for digest in [info["config_digest"], *(layer["digest"] for layer in info["layers"])]:
            if not store.blobs.has(digest):
                problems.append(f"image {where}: blob {digest} is missing")
    return problems


def check_layers(store: Store) -> list[str]:
    problems = []
    for path in _children(store.layout.layers):
        data = atomic.read_json(path / "layer.json")
        if data is None:
            problems.append(f"layer sha256:{path.name}: layer.json is missing")
            continue
        desc = LayerDescription.from_json(data)
        for rel, kind, _ in desc.entries:
            try:
                st = os.lstat(path / "diff" / rel)
            except FileNotFoundError:
                problems.append(f"layer sha256:{path.name}: {rel} is missing")
                continue
            if _KIND_OF_MODE.get(st.st_mode & 0o170000) != kind:
                problems.append(f"layer sha256:{path.name}: {rel} is not a {kind}")
        digest = f"sha256:{path.name}"
        # a corrupt blob is check_blobs' finding; only a sound one is a reference for the files
        if store.blobs.has(digest) and _sha256_file(store.blobs.path(digest)) == digest:
            try:
                problems += _layer_contents(store, digest, path / "diff")
            except (BerthError, OSError, ValueError) as exc:
                problems.append(f"layer {digest}: cannot be read again from its blob: {exc}")
    return problems


def _layer_contents(store: Store, digest: str, diff: Path) -> list[str]:
    """Read the blob again and compare every file's data, mode and owner, and every link target.

    This catches a shared file changed in place (by a runtime that wrote to a rootfs without an
    overlay, say), which inode comparisons cannot see. Layers whose blob was collected are skipped.
    """
    problems: list[str] = []
    as_root = os.geteuid() == 0
    with open(store.blobs.path(digest), "rb") as raw:
        stream, _ = streams.open_tar_stream(raw)
        reader = tarreading.TarReader(stream)
        for entry in reader:
            rel = unpacking.clean_path(entry.name, entry.name)
            base = rel.rpartition("/")[2]
            if not rel or base.startswith(unpacking.WH_PREFIX) or entry.islnk():
                continue
            full = diff / rel
            try:
                st = os.lstat(full)
            except FileNotFoundError:
                continue  # device nodes skipped when not root; the kind check reports the rest
            owner = (st.st_uid, st.st_gid) == (entry.uid, entry.gid) or not as_root
            if entry.issym() and os.readlink(full) != entry.linkname:
                problems.append(f"layer {digest}: symlink {rel} points elsewhere than in the blob")
            elif not entry.issym() and (st.st_mode & 0o7777 != entry.mode & 0o7777 or not owner):
                problems.append(f"layer {digest}: {rel} has another mode or owner than in the blob")
            if entry.isreg():
                want = hashlib.sha256()
                while chunk := reader.read_data(1 << 20):
                    want.update(chunk)
                if _sha256_file(full) != "sha256:" + want.hexdigest():
                    problems.append(f"layer {digest}: {rel} content differs from the blob")
    return problems


def check_merged(store: Store) -> list[str]:
    """Rebuild each merged tree from its layers beside it and compare: paths, inodes, directories.

    Rebuilding costs links only (a 100 MB image takes about a tenth of a second), and it checks
    what an inode test alone cannot: that no path is missing or extra, and whiteouts were applied.
    """
    problems = []
    layout = store.layout
    for path in _children(layout.merged):
        what = f"merged sha256:{path.name}"
        data = atomic.read_json(path / "merged.json")
        if data is None:
            problems.append(f"{what}: merged.json is missing")
            continue
        try:
            sources = [layers.load_layer(layout, digest) for digest in data["layers"]]
        except FileNotFoundError as exc:
            problems.append(f"{what}: {exc}")
            continue
        work = layout.tmp / f"check.{os.getpid()}.{os.urandom(4).hex()}"
        (work / "rootfs").mkdir(parents=True)
        try:
            merging.merge_layers(sources, work / "rootfs", work / "removed")
            problems += _compare(_tree(path / "rootfs"), _tree(work / "rootfs"), what)
        except (BerthError, OSError) as exc:
            problems.append(f"{what}: its layers no longer stack: {exc}")
        finally:
            trees.remove(str(work))
    return problems


def check_deployments(store: Store) -> list[str]:
    problems = []
    deployments = store.deployments
    layout = store.layout
    for name in deployments.names():
        try:
            current = deployments.current(name)
            previous = deployments.previous(name)
        except (DeploymentError, OSError, ValueError) as exc:
            problems.append(f"deployment {name}: {exc}")
            continue
        for version in (current, previous):
            if version is None:
                continue
            where = f"deployment {name} (version {version.serial})"
            try:
                store.record(version)  # the typed view the runtime reads: spec, state, image config
            except InvalidSpec as exc:
                problems.append(f"{where}: config.json is not a valid spec: {exc}")
            except DeploymentError as exc:
                problems.append(str(exc))  # names the deployment and version itself
            except (OSError, json.JSONDecodeError) as exc:
                problems.append(f"{where}: {exc}")
            image_config = version.path / IMAGE_CONFIG
            digest = version.state.get("config_digest")
            if image_config.is_file() and _sha256_file(image_config) != digest:
                problems.append(f"{where}: {IMAGE_CONFIG} does not hash to its config digest {digest}")
            manifest = version.path / "manifest.json"
            if not manifest.is_file() or _sha256_file(manifest) != version.state.get("image_digest"):
                problems.append(f"{where}: manifest.json does not match image digest")
            merged = layout.merged_dir(str(version.state.get("chain"))) / "rootfs"
            if not merged.is_dir():
                problems.append(f"{where}: merged tree {version.state.get('chain')} is missing")
                continue
            if not version.rootfs.is_symlink() or version.rootfs.resolve() != merged.resolve():
                problems.append(f"{where}: rootfs does not lead to the image's merged tree {merged}")
    return problems


def check_debris(store: Store) -> list[str]:
    """Leftovers of interrupted operations (recovery finishes them; nothing is lost)."""
    layout = store.layout
    problems = [f"unfinished work tmp/{p.name}" for p in _children(layout.tmp)]
    if (layout.metadata / WRITING_MARKER).exists():
        problems.append(f"unfinished transaction (metadata/{WRITING_MARKER})")
    problems += [f"unfinished switch deployments/{p.name}" for p in layout.deployments.glob(".*.new")]
    for base in _children(layout.versions):
        keep: set[str] = set()
        serial = store.deployments.current_serial(base.name)
        if serial is not None:
            try:
                keep = {str(serial), str(store.deployments.current(base.name).rollback)}
            except DeploymentError:
                continue  # check_deployments names the missing version
        for child in base.iterdir():
            if child.name not in keep:
                kind = "unfinished version" if child.name.endswith(PARTIAL) else "stray version"
                problems.append(f"{kind} deployments/.versions/{base.name}/{child.name}")
    for base in _children(layout.containers):
        if base.name.startswith("."):
            continue  # the runtime's own (names of deployments never start with a dot)
        keep = store.deployments.kept_serials(base.name)
        if not keep:
            problems.append(f"stray container directory containers/{base.name}: no such deployment")
            continue
        for child in base.iterdir():
            if child.name.isdigit() and child.name not in keep:
                problems.append(
                    f"stray container directory containers/{base.name}/{child.name}: the version is gone"
                )
    return problems


def check_metadata(store: Store) -> list[str]:
    deployments, containers = store.deployments.index()
    problems = []
    for fname, value in (("deployments.json", deployments), ("containers.json", containers)):
        if (atomic.read_json(store.layout.metadata / fname) or {}) != value:
            problems.append(f"metadata/{fname} does not match the deployments")
    return problems


@dataclass
class Findings:
    """What ``store check`` found: corruption (``problems``) and ``interrupted`` work."""

    problems: list[str] = field(default_factory=list)
    interrupted: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    """What ``--repair`` finished before checking."""


def _run(step: Callable[[Store], list[str]], store: Store, failures: list[str]) -> list[str]:
    """One step; a failure to read the store is itself a problem (in ``failures``), never a traceback."""
    try:
        return step(store)
    except (BerthError, OSError, ValueError, KeyError, TypeError) as exc:
        failures.append(
            f"{step.__name__.removeprefix('check_')}: cannot be checked: {unpacking.describe(exc)}"
        )
        return []


def examine(root: Path, *, repair: bool = False) -> Findings:
    """Check the store at ``root``; with ``repair``, recover interrupted operations first."""
    findings = Findings()
    if repair:
        findings.repaired = deploying.recover(root)
    store = Store.open(root, create=False)
    problems = findings.problems
    with store_lock(store.layout):  # the merged trees are rebuilt under tmp/ for comparison
        problems += _run(check_merged, store, problems)
    for step in (check_blobs, check_images, check_layers, check_deployments):
        problems += _run(step, store, problems)
    for step in (check_debris, check_metadata):
        findings.interrupted += _run(step, store, problems)
    return findings


def check(root: Path) -> list[str]:
    """Every problem (corruption) of the store at ``root``; empty when it is sound.

    Leftovers of interrupted operations are not problems: see :func:`examine`.
    """
    return examine(root).problems
