"""``berth store check``: verify the whole store and name every problem found.

Checked: every blob hashes to its name; every image's manifest hashes to its recorded digest and
its config and layers are in the blob store; every unpacked layer holds what its description lists;
every merged tree and deployment rootfs is made of links to its layers' files (same inodes, same
paths, directories with the same owner and mode); rollback targets exist; no debris of an
unfinished transaction is left; the metadata indexes match the deployments.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from agent.store import atomic
from agent.store.deploying import Store, build_spec
from agent.store.deployments import PARTIAL, DeploymentError
from agent.store.unpacking import LayerDescription
from translators.errors import InvalidSpec

_KIND_OF_MODE = {
    0o040000: "dir",
    0o100000: "file",
    0o120000: "symlink",
    0o020000: "char",
    0o060000: "block",
    0o010000: "fifo",
}


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def _tree(root: Path) -> dict[str, os.stat_result]:
    """Every path under ``root`` (relative) with its lstat, the root itself as ''."""
    out = {"": os.lstat(root)}
    base = len(str(root)) + 1
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            out[full[base:]] = os.lstat(full)
    return out


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
    for info_path in sorted(store.layout.images.rglob("image.json")):
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
    for path in sorted(store.layout.layers.iterdir()):
        data = atomic.read_json(path / "layer.json")
        if data is None:
            problems.append(f"layer sha256:{path.name}: layer.json is missing")
            continue
        desc = LayerDescription.from_json({k: v for k, v in data.items() if k != "diff_id"})
        for rel, kind, _ in desc.entries:
            try:
                st = os.lstat(path / "diff" / rel)
            except FileNotFoundError:
                problems.append(f"layer sha256:{path.name}: {rel} is missing")
                continue
            if _KIND_OF_MODE.get(st.st_mode & 0o170000) != kind:
                problems.append(f"layer sha256:{path.name}: {rel} is not a {kind}")
    return problems


def check_merged(store: Store) -> list[str]:
    problems = []
    for path in sorted(store.layout.merged.iterdir()):
        data = atomic.read_json(path / "merged.json")
        if data is None:
            problems.append(f"merged sha256:{path.name}: merged.json is missing")
            continue
        inodes: set[tuple[int, int]] = set()
        for digest in data["layers"]:
            diff = store.layout.layer_dir(digest) / "diff"
            if not diff.is_dir():
                problems.append(f"merged sha256:{path.name}: layer {digest} is missing")
                continue
            inodes |= {
                (st.st_dev, st.st_ino) for st in _tree(diff).values() if (st.st_mode & 0o170000) != 0o040000
            }
        for rel, st in _tree(path / "rootfs").items():
            if (st.st_mode & 0o170000) != 0o040000 and (st.st_dev, st.st_ino) not in inodes:
                problems.append(f"merged sha256:{path.name}: {rel} is not a file of its layers")
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
                build_spec(version.spec())
            except (InvalidSpec, OSError, json.JSONDecodeError) as exc:
                problems.append(f"{where}: config.json is not a valid spec: {exc}")
            manifest = version.path / "manifest.json"
            if not manifest.is_file() or _sha256_file(manifest) != version.state.get("image_digest"):
                problems.append(f"{where}: manifest.json does not match image digest")
            merged = layout.merged_dir(str(version.state.get("chain"))) / "rootfs"
            if not merged.is_dir():
                problems.append(f"{where}: merged tree {version.state.get('chain')} is missing")
                continue
            if not version.rootfs.is_dir():
                problems.append(f"{where}: rootfs is missing")
                continue
            problems += _compare(_tree(version.rootfs), _tree(merged), f"{where} rootfs")
    return problems


def check_debris(store: Store) -> list[str]:
    layout = store.layout
    problems = [f"unfinished work tmp/{p.name} (run berth store recover)" for p in layout.tmp.iterdir()]
    problems += [f"unfinished switch deployments/{p.name}" for p in layout.deployments.glob(".*.new")]
    for base in layout.versions.iterdir():
        keep: set[str] = set()
        serial = store.deployments.current_serial(base.name)
        if serial is not None:
            keep = {str(serial), str(store.deployments.current(base.name).rollback)}
        for child in base.iterdir():
            if child.name not in keep:
                kind = "unfinished version" if child.name.endswith(PARTIAL) else "stray version"
                problems.append(
                    f"{kind} deployments/.versions/{base.name}/{child.name} (run berth store recover)"
                )
    return problems


def check_metadata(store: Store) -> list[str]:
    deployments, containers = store.deployments.index()
    problems = []
    for fname, value in (("deployments.json", deployments), ("containers.json", containers)):
        if (atomic.read_json(store.layout.metadata / fname) or {}) != value:
            problems.append(f"metadata/{fname} does not match the deployments (run berth store recover)")
    return problems


def check(root: Path) -> list[str]:
    """Every problem of the store at ``root``; empty when it is sound."""
    store = Store.open(root)
    problems: list[str] = []
    for step in (
        check_blobs,
        check_images,
        check_layers,
        check_merged,
        check_deployments,
        check_debris,
        check_metadata,
    ):
        problems += step(store)
    return problems
