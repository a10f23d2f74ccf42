"""A container's cgroup directories on this host, in cgroup v1, hybrid and v2 layouts.

runc creates one directory per mounted hierarchy for a container's ``cgroupsPath`` and removes
them on ``runc delete``; Berth reads them for the OOM-kill count (before the delete) and checks,
after a delete, that none is left behind (removing empty leftovers, as a failed delete can leave
them).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from agent.store import mountpoints

HOST_TTL = 30.0
"""Seconds the host's cgroup mounts, once read, are taken as known. /proc/self/mountinfo lists every
mount (every running container's overlay too, before the overlays left the host's table once
created: with 500 containers one read was 500+ lines), and a status look at every container read
it several times. Cgroup hierarchies are mounted at boot and do not move while containers run."""
_host: tuple[float, list[tuple[Path, str, frozenset[str]]]] | None = None


def hierarchies(mountinfo: str | None = None) -> list[tuple[Path, str, frozenset[str]]]:
    """(mount point, 'cgroup' or 'cgroup2', v1 controllers) of every cgroup mount.

    ``mountinfo`` is the text of /proc/self/mountinfo (read when not given, at most every
    ``HOST_TTL`` seconds).
    """
    global _host  # noqa: PLW0603 - one host, one answer, shared by every caller
    if mountinfo is None:
        cached = _host
        if cached is not None and time.monotonic() - cached[0] < HOST_TTL:
            return list(cached[1])
        found = _parse(None)
        _host = (time.monotonic(), found)
        return list(found)
    return _parse(mountinfo)


def _parse(text: str | None) -> list[tuple[Path, str, frozenset[str]]]:
    return [
        (
            Path(entry.point),
            entry.fstype,
            frozenset(o for o in entry.super_options if o not in _NOT_CONTROLLERS),
        )
        for entry in mountpoints.entries(text)
        if entry.fstype in ("cgroup", "cgroup2")
    ]


_NOT_CONTROLLERS = frozenset(("rw", "ro", "relatime", "nosuid", "nodev", "noexec"))


def directories(cgroup_path: str, mountinfo: str | None = None) -> list[Path]:
    """Every directory ``cgroup_path`` names in any hierarchy (existing or not)."""
    relative = cgroup_path.lstrip("/")
    seen: set[Path] = set()
    dirs: list[Path] = []
    for mount_point, _fstype, _controllers in hierarchies(mountinfo):
        path = mount_point / relative
        if path not in seen:
            seen.add(path)
            dirs.append(path)
    return dirs


def existing(cgroup_path: str, mountinfo: str | None = None) -> list[Path]:
    return [d for d in directories(cgroup_path, mountinfo) if d.is_dir()]


def _counter(path: Path, key: str) -> int | None:
    try:
        text = path.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name == key and value.strip().isdigit():
            return int(value)
    return None


def oom_kills(cgroup_path: str, mountinfo: str | None = None) -> int:
    """How many processes the kernel OOM-killed in this cgroup (v1 memory.oom_control, v2 memory.events)."""
    relative = cgroup_path.lstrip("/")
    total = 0
    for mount_point, fstype, controllers in hierarchies(mountinfo):
        if fstype == "cgroup" and "memory" in controllers:
            total = max(total, _counter(mount_point / relative / "memory.oom_control", "oom_kill") or 0)
        elif fstype == "cgroup2":
            total = max(total, _counter(mount_point / relative / "memory.events", "oom_kill") or 0)
    return total


def remove(cgroup_path: str, mountinfo: str | None = None) -> list[Path]:
    """rmdir what is left of the cgroup (children first); return the directories that stay."""
    left: list[Path] = []
    for top in existing(cgroup_path, mountinfo):
        for dirpath, _dirnames, _files in sorted(os.walk(top), key=lambda entry: -len(entry[0])):
            try:
                os.rmdir(dirpath)
            except FileNotFoundError:
                pass
            except OSError:
                left.append(Path(dirpath))
    return left


def frozen(cgroup_path: str, mountinfo: str | None = None) -> bool:
    """Whether the freezer holds the cgroup (``runc pause``): v1 freezer.state, v2 cgroup.freeze."""
    relative = cgroup_path.lstrip("/")
    for mount_point, fstype, controllers in hierarchies(mountinfo):
        try:
            if fstype == "cgroup" and "freezer" in controllers:
                if (mount_point / relative / "freezer.state").read_text().strip() == "FROZEN":
                    return True
            elif (
                fstype == "cgroup2" and (mount_point / relative / "cgroup.freeze").read_text().strip() == "1"
            ):
                return True
        except OSError:
            continue
    return False
