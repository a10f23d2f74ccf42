"""The host side of a bundle: generated files, bind sources and volume directories, before runc runs.

:func:`prepare` carries out a :class:`agent.runtime.mounts.Plan`: it writes /etc/hosts,
/etc/hostname, /etc/resolv.conf and the spec's files under the container's run directory (secrets
in a 0700 directory, never logged), makes sure bind sources exist (creating them only where docker
would), creates volume directories and fills a new, empty volume with the image's content at its
target, as docker does. :func:`create` is the whole job: build, prepare, write ``config.json``.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import stat
from pathlib import Path

from agent.runtime import bundles, rootpaths
from agent.runtime.configerrors import BundleError
from agent.runtime.inputs import BundleInputs
from agent.runtime.mounts import GeneratedFile, HostDir, VolumeDir


def _write(file: GeneratedFile, name: str) -> None:
    file.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if file.secret:
        os.chmod(file.path.parent, 0o700)
    if file.content is not None:
        data = file.content
    else:
        try:
            data = Path(file.source or "").read_bytes()
        except OSError as exc:
            raise BundleError(f"{name}: file source {file.source}: {exc.strerror}") from None
    tmp = file.path.with_name("." + file.path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    try:
        os.write(fd, data)
        os.fchown(fd, file.uid, file.gid)
        os.fchmod(fd, file.mode)
    finally:
        os.close(fd)
    os.replace(tmp, file.path)


def _host_dir(spec: HostDir, name: str) -> None:
    if os.path.lexists(spec.path):
        return
    if not spec.create:
        raise BundleError(
            f"{name}: bind source {spec.path} (for {spec.target}) does not exist: create it "
            "(a bind in the long syntax is not created for you, as in docker)"
        )
    spec.path.mkdir(parents=True, mode=0o755)


def _copy_tree(source: Path, target: Path) -> None:
    """Copy the image's directory ``source`` into the empty volume ``target``, keeping modes,
    owners and times; symlinks are copied as links, device nodes and sockets left out."""
    st = os.lstat(source)
    os.chown(target, st.st_uid, st.st_gid)
    os.chmod(target, stat.S_IMODE(st.st_mode))
    for entry in os.scandir(source):
        src = Path(entry.path)
        dst = target / entry.name
        est = os.lstat(src)
        if stat.S_ISDIR(est.st_mode):
            dst.mkdir()
            _copy_tree(src, dst)
        elif stat.S_ISLNK(est.st_mode):
            os.symlink(os.readlink(src), dst)
            os.lchown(dst, est.st_uid, est.st_gid)
            continue
        elif stat.S_ISREG(est.st_mode):
            shutil.copyfile(src, dst, follow_symlinks=False)
            os.chown(dst, est.st_uid, est.st_gid)
            os.chmod(dst, stat.S_IMODE(est.st_mode))
        else:
            continue
        os.utime(dst, ns=(est.st_atime_ns, est.st_mtime_ns), follow_symlinks=False)
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))


def _volume(spec: VolumeDir, name: str) -> None:
    volume = spec.path.parent
    volume.mkdir(parents=True, exist_ok=True, mode=0o755)
    with open(volume / "lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        new = not spec.path.exists()
        spec.path.mkdir(exist_ok=True, mode=0o755)
        if spec.copy_from is not None and (new or not any(spec.path.iterdir())):
            _copy_tree(spec.copy_from, spec.path)
    if spec.subpath:
        sub = rootpaths.resolve(spec.path, spec.subpath)
        if not sub.exists():
            raise BundleError(f"{name}: volume {spec.name}: subpath {spec.subpath} does not exist in it")


def prepare(inputs: BundleInputs, bundle: bundles.Bundle | None = None) -> bundles.Bundle:
    """Create every host file and directory the bundle's mounts name; returns the bundle."""
    bundle = bundle if bundle is not None else bundles.build(inputs)
    inputs.run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    plan = bundle.mounts
    for host_dir in plan.host_dirs:
        _host_dir(host_dir, inputs.name)
    for volume in plan.volumes:
        _volume(volume, inputs.name)
    for file in plan.files:
        _write(file, inputs.name)
    return bundle


def create(inputs: BundleInputs) -> bundles.Bundle:
    """Build the bundle, prepare the host side and write ``config.json``: ready for ``runc create``
    once the rootfs is mounted at ``inputs.rootfs``."""
    bundle = prepare(inputs)
    bundles.write(inputs, bundle)
    return bundle
