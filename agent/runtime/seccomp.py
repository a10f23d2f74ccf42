"""The seccomp filter of a container, in the OCI runtime-spec form runc reads.

Profiles come in docker's form (``archMap``, ``names``, rules with ``includes``/``excludes`` by
capability, architecture and minimum kernel: containers-common's
``/usr/share/containers/seccomp.json`` is one) or already in the OCI form (``architectures``,
plain rules). :func:`to_oci` turns either into the OCI form for the capabilities in effect and this
host's architecture, keeping only the rules that apply, as podman's ``seccomp.LoadProfile`` does;
the result is what podman hands runc for the same profile and capability set.
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from agent.runtime.configerrors import BundleError

DEFAULT_PROFILE = Path("/usr/share/containers/seccomp.json")

# Go's GOARCH (what docker profiles name in includes.arches) and libseccomp's name of it
_GOARCH = {
    "x86_64": "amd64", "i386": "386", "i686": "386", "aarch64": "arm64", "armv7l": "arm",
    "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64", "mips64": "mips64",
}  # fmt: skip
_SCMP_ARCH = {
    "amd64": "SCMP_ARCH_X86_64", "386": "SCMP_ARCH_X86", "arm64": "SCMP_ARCH_AARCH64",
    "arm": "SCMP_ARCH_ARM", "ppc64le": "SCMP_ARCH_PPC64LE", "s390x": "SCMP_ARCH_S390X",
    "riscv64": "SCMP_ARCH_RISCV64", "mips64": "SCMP_ARCH_MIPS64",
}  # fmt: skip


def host_arch() -> str:
    """This host's architecture as Go names it (amd64, arm64, ...)."""
    machine = platform.machine()
    return _GOARCH.get(machine, machine)


def kernel_version(release: str | None = None) -> tuple[int, int]:
    """(major, minor) of the running kernel: ``6.18.44-fc`` -> (6, 18)."""
    text = release if release is not None else os.uname().release
    numbers: list[int] = []
    for part in text.split("-", 1)[0].split(".")[:2]:
        digits = "".join(c for c in part if c.isdigit())
        numbers.append(int(digits) if digits else 0)
    while len(numbers) < 2:
        numbers.append(0)
    return numbers[0], numbers[1]


def _min_kernel(text: Any) -> tuple[int, int] | None:
    if not isinstance(text, str) or not text:
        return None
    return kernel_version(text)


def _architectures(profile: dict[str, Any], arch: str) -> list[str]:
    if profile.get("architectures"):
        return [str(a) for a in profile["architectures"]]
    native = _SCMP_ARCH.get(arch, "")
    out: list[str] = []
    for entry in profile.get("archMap") or []:
        if entry.get("architecture") == native:
            out = [native, *entry.get("subArchitectures", [])]
    return out


def _applies(rule: dict[str, Any], caps: set[str], arch: str, kernel: tuple[int, int]) -> bool:
    """podman's test: excluded by any matching exclude, included only when every include holds."""
    excludes = rule.get("excludes") or {}
    if arch in (excludes.get("arches") or []):
        return False
    if any(c in caps for c in excludes.get("caps") or []):
        return False
    minimum = _min_kernel(excludes.get("minKernel"))
    if minimum is not None and kernel >= minimum:
        return False
    includes = rule.get("includes") or {}
    if includes.get("arches") and arch not in includes["arches"]:
        return False
    if any(c not in caps for c in includes.get("caps") or []):
        return False
    minimum = _min_kernel(includes.get("minKernel"))
    return not (minimum is not None and kernel < minimum)


def _arg(arg: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"index": int(arg["index"]), "value": int(arg.get("value") or 0)}
    if arg.get("valueTwo"):
        out["valueTwo"] = int(arg["valueTwo"])
    out["op"] = str(arg["op"])
    return out


def _rule(rule: dict[str, Any]) -> dict[str, Any]:
    names = list(rule.get("names") or [])
    if rule.get("name"):
        names.append(rule["name"])
    out: dict[str, Any] = {"names": names, "action": rule["action"]}
    if rule.get("errnoRet") is not None:
        out["errnoRet"] = int(rule["errnoRet"])
    args = [_arg(a) for a in rule.get("args") or []]
    if args:
        out["args"] = args
    return out


def to_oci(
    profile: dict[str, Any],
    capabilities: Iterable[str],
    *,
    arch: str | None = None,
    kernel: tuple[int, int] | None = None,
) -> dict[str, Any]:
    """The OCI ``linux.seccomp`` object of ``profile`` for a container holding ``capabilities``."""
    arch = arch or host_arch()
    kernel = kernel or kernel_version()
    caps = set(capabilities)
    out: dict[str, Any] = {"defaultAction": profile["defaultAction"]}
    if profile.get("defaultErrnoRet") is not None:
        out["defaultErrnoRet"] = int(profile["defaultErrnoRet"])
    out["architectures"] = _architectures(profile, arch)
    if profile.get("flags"):
        out["flags"] = list(profile["flags"])
    if profile.get("listenerPath"):
        out["listenerPath"] = profile["listenerPath"]
    out["syscalls"] = [_rule(r) for r in profile.get("syscalls") or [] if _applies(r, caps, arch, kernel)]
    return out


def load(path: Path) -> dict[str, Any]:
    """A profile file, checked enough that runc will not be the one to complain."""
    try:
        profile = json.loads(Path(path).read_bytes())
    except OSError as exc:
        raise BundleError(f"seccomp profile {path}: cannot read it: {exc.strerror}") from None
    except ValueError as exc:
        raise BundleError(f"seccomp profile {path}: not JSON: {exc}") from None
    if not isinstance(profile, dict) or not isinstance(profile.get("defaultAction"), str):
        raise BundleError(f"seccomp profile {path}: expected an object with a defaultAction")
    for i, rule in enumerate(profile.get("syscalls") or []):
        if not isinstance(rule, dict) or not isinstance(rule.get("action"), str):
            raise BundleError(f"seccomp profile {path}: syscalls[{i}] needs an action")
        if not (rule.get("names") or rule.get("name")):
            raise BundleError(f"seccomp profile {path}: syscalls[{i}] names no syscall")
        for arg in rule.get("args") or []:
            if not isinstance(arg, dict) or "index" not in arg or "op" not in arg:
                raise BundleError(f"seccomp profile {path}: syscalls[{i}].args needs index and op")
    return profile


def for_container(setting: str, capabilities: Iterable[str], *, privileged: bool) -> dict[str, Any] | None:
    """``linux.seccomp`` for the spec's setting: default, unconfined (None) or a profile's path.

    Privileged containers run unconfined unless a profile file is named, as in podman and docker.
    """
    if setting == "unconfined" or (privileged and setting == "default"):
        return None
    path = DEFAULT_PROFILE if setting == "default" else Path(setting)
    if setting == "default" and not path.exists():
        raise BundleError(
            f"the default seccomp profile {path} is missing: install golang-github-containers-common, "
            "or set security.seccomp: unconfined"
        )
    caps = frozenset(capabilities)
    try:
        st = os.stat(path)
    except OSError:
        return to_oci(load(path), caps)  # load says what is wrong with it
    key = (str(path), st.st_ino, st.st_mtime_ns, st.st_size, caps)
    made = _made.get(key)
    if made is None:
        if len(_made) > MADE_MAX:
            _made.clear()
        made = _made[key] = to_oci(load(path), caps)
    return dict(made)  # the rule lists are shared: a bundle only serialises them


_made: dict[tuple[str, int, int, int, frozenset[str]], dict[str, Any]] = {}
"""Profiles made for a set of capabilities, per profile file as it is on disk: parsing and
filtering the 16 KB default profile was a tenth of the node agent's bundle building (py-spy)."""
MADE_MAX = 64
