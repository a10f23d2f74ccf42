"""A deployment's OCI bundle: the runtime-spec ``config.json`` runc runs, from spec + image config.

The image's defaults are overridden exactly as docker (compose) and Kubernetes override them:

- args: an entrypoint in the spec drops the image's CMD; a cmd alone replaces the image's CMD
  (:meth:`ContainerConfig.argv`); with ``init: true`` catatonit is PID 1 and runs them after ``--``.
- env: the image's, the spec's over it (``${VAR}`` resolved when the container starts), then PATH,
  HOSTNAME, HOME and (with a terminal) TERM=xterm where neither set them.
- cwd: the spec's, else the image's WorkingDir, else /.
- user: the spec's, else the image's USER, resolved against the image's /etc/passwd and /etc/group
  (:mod:`agent.runtime.users`), with supplementary groups and ``group_add``.
- capabilities, rlimits, resources, mounts, seccomp, namespaces: see the modules named below.

Where Berth differs from podman on purpose (tests compare the rest field by field with the bundle
``podman create`` writes):

- ``noNewPrivileges`` is on unless the spec turns it off (podman: off). Security by default.
- no ``TERM=xterm`` without a terminal, no ``container=podman`` variable (docker's behaviour).
- no default pids limit (podman: 2048 from containers.conf): the spec's null means unlimited.
- a read-only rootfs gets no implicit tmpfs on /run, /tmp, /var/tmp (podman adds them; docker
  does not, and compose files are written for docker).
- /dev/shm is a tmpfs mounted by runc (podman binds a tmpfs it mounts on the host): same size,
  same options, nothing left on the host.
- the init binary appears at /run/berth-init (podman: /run/podman-init).
- AppArmor: this kernel has none; a profile in the spec is not set and a warning says so.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.runtime import capabilities, envs, isolation, limits, mounts, rootpaths, seccomp
from agent.runtime.configerrors import BundleError
from agent.runtime.inputs import INIT_TARGET, BundleInputs
from agent.runtime.users import Accounts, ExecUser

OCI_VERSION = "1.0.2"
APPARMOR_ENABLED = Path("/sys/module/apparmor/parameters/enabled")


@dataclass
class Bundle:
    """The runtime spec and what building it found out."""

    config: dict[str, Any]
    """The OCI runtime-spec ``config.json``."""
    user: ExecUser
    mounts: mounts.Plan
    """The mounts and the host work they need (:func:`agent.runtime.preparing.prepare`)."""
    warnings: list[str] = field(default_factory=list)
    """Settings of the spec that cannot be applied on this host (AppArmor, SELinux), one line each."""


def apparmor_available() -> bool:
    try:
        return APPARMOR_ENABLED.read_text().strip().upper().startswith("Y")
    except OSError:
        return False


def resolve_user(inputs: BundleInputs) -> ExecUser:
    config = inputs.deployment.spec.config
    spec = config.user if config.user is not None else inputs.deployment.image_config.user
    what = "user" if config.user is not None else "the image's USER"
    try:
        return Accounts.of_root(inputs.image_root).resolve(spec, config.group_add, what=what)
    except BundleError as exc:
        raise BundleError(f"{inputs.name}: {exc}") from None


def _args(inputs: BundleInputs) -> list[str]:
    config = inputs.deployment.spec.config
    image = inputs.deployment.image_config
    argv = config.argv(
        list(image.entrypoint) if image.entrypoint is not None else None,
        list(image.cmd) if image.cmd is not None else None,
    )
    if not argv:
        raise BundleError(
            f"{inputs.name}: nothing to run: the image has no ENTRYPOINT or CMD and the spec sets "
            "neither config.entrypoint nor config.cmd"
        )
    if config.init:
        return [INIT_TARGET, "--", *argv]
    return argv


def _cwd(inputs: BundleInputs) -> str:
    config = inputs.deployment.spec.config
    cwd = config.working_dir or inputs.deployment.image_config.working_dir or "/"
    return rootpaths.normalise(cwd)


def process(inputs: BundleInputs, user: ExecUser, caps: list[str]) -> dict[str, Any]:
    config = inputs.deployment.spec.config
    security = config.security
    out: dict[str, Any] = {
        "terminal": config.tty,
        # umask 0022 whatever the starting process's is (runc would pass its own on), as podman
        "user": {"uid": user.uid, "gid": user.gid, "umask": 0o022},
        "args": _args(inputs),
        "env": envs.build(
            inputs.deployment.image_config.env,
            config.env,
            inputs.environ,
            container=inputs.name,
            hostname=inputs.container_hostname,
            home=user.home,
            tty=config.tty,
        ),
        "cwd": _cwd(inputs),
        "capabilities": capabilities.process_capabilities(caps, security, user.uid),
        "rlimits": limits.rlimits(config.resources),
        "noNewPrivileges": security.no_new_privileges,
    }
    # podman lists the primary group first whenever a user is named (by the spec or the image)
    named = (config.user if config.user is not None else inputs.deployment.image_config.user) != ""
    gids = list(dict.fromkeys([*([user.gid] if named else []), *user.additional_gids]))
    if gids:
        out["user"]["additionalGids"] = gids
    return out


def linux(inputs: BundleInputs, caps: list[str], plan: mounts.Plan) -> dict[str, Any]:
    config = inputs.deployment.spec.config
    security = config.security
    privileged = security.privileged
    devices = limits.host_devices() if privileged else limits.devices(config.resources.devices)
    out: dict[str, Any] = {
        "namespaces": isolation.namespaces(config.network.mode, inputs.join_namespaces),
        "resources": limits.resources(config.resources, devices, privileged=privileged),
        "cgroupsPath": inputs.cgroups_path,
        "maskedPaths": isolation.masked_paths(security),
        "readonlyPaths": isolation.readonly_paths(security),
    }
    if devices:
        out["devices"] = [d.oci() for d in devices]
    sysctl = isolation.sysctls(security, network_mode=config.network.mode)
    if sysctl:
        out["sysctl"] = sysctl
    profile = seccomp.for_container(security.seccomp, caps, privileged=privileged)
    if profile is not None:
        out["seccomp"] = profile
    if plan.rootfs_propagation:
        out["rootfsPropagation"] = plan.rootfs_propagation
    return out


def build(inputs: BundleInputs) -> Bundle:
    """The runtime spec of ``inputs.deployment``. Reads the image tree and host files; writes nothing."""
    spec = inputs.deployment.spec
    config = spec.config
    security = config.security
    user = resolve_user(inputs)
    caps = capabilities.container_set(security)
    plan = mounts.plan(inputs, user)
    warnings = list(plan.warnings)
    doc: dict[str, Any] = {
        "ociVersion": OCI_VERSION,
        "process": process(inputs, user, caps),
        "root": {"path": str(inputs.rootfs), "readonly": security.readonly},
        "hostname": inputs.container_hostname,
        "mounts": plan.mounts,
        "linux": linux(inputs, caps, plan),
    }
    if config.network.domainname:
        doc["domainname"] = config.network.domainname
    if security.apparmor and security.apparmor != "unconfined":
        if apparmor_available():
            doc["process"]["apparmorProfile"] = security.apparmor
        else:
            warnings.append(
                f"{inputs.name}: AppArmor profile {security.apparmor!r} is not applied: "
                "this kernel has no AppArmor"
            )
    if security.selinux_options:
        warnings.append(
            f"{inputs.name}: SELinux options are not applied: SELinux is not enabled on this host"
        )
    return Bundle(doc, user, plan, warnings)


def write(inputs: BundleInputs, bundle: Bundle) -> Path:
    """``config.json`` in the bundle directory (0600: it holds the resolved environment) and the
    rootfs mount point; returns the config's path."""
    inputs.bundle.mkdir(parents=True, exist_ok=True, mode=0o700)
    inputs.rootfs.mkdir(exist_ok=True)
    path = inputs.bundle / "config.json"
    tmp = path.with_name(".config.json.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "wb") as f:
        # compact: json's C encoder; with indent the pure-Python one takes ~15 ms on the seccomp list
        f.write(json.dumps(bundle.config, separators=(",", ":")).encode())
    os.replace(tmp, path)
    return path
