"""What building a container's OCI bundle needs besides the deployment: one value, documented.

The lead's start path fills :class:`BundleInputs` from the store (``Store.get``), the run paths
(:class:`agent.runtime.paths.RunPaths`) and the networking of the container; the bundle modules
read nothing else from the host except the files named here (resolv.conf, hosts, devices, the
seccomp profile, the init binary) and the image's tree (users, volume content).
"""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.runtime.paths import RunPaths
from agent.store.layout import Layout
from agent.store.records import Deployment

CATATONIT = Path("/usr/bin/catatonit")
INIT_TARGET = "/run/berth-init"
"""Where the init binary appears in the container (podman: /run/podman-init)."""
NAMESPACES = ("pid", "network", "ipc", "uts", "mount")
"""The namespaces a container gets, as podman and docker give them (no user or cgroup namespace)."""


def anonymous_volume(container: str, target: str) -> str:
    """The volume name of an anonymous volume: stable per container and target, so that a restart
    or a new version of the deployment finds its data again, as docker compose reuses them."""
    digest = hashlib.sha256(f"{container}\0{target}".encode()).hexdigest()[:16]
    return f"{container}-anon-{digest}"


@dataclass(frozen=True)
class RunFiles:
    """Files Berth generates for a container, under its run directory (tmpfs)."""

    run_dir: Path

    @property
    def etc(self) -> Path:
        return self.run_dir / "etc"

    @property
    def hosts(self) -> Path:
        return self.etc / "hosts"

    @property
    def hostname(self) -> Path:
        return self.etc / "hostname"

    @property
    def resolv_conf(self) -> Path:
        return self.etc / "resolv.conf"

    @property
    def secrets(self) -> Path:
        """Secret files (0700 directory, 0600 files by default)."""
        return self.run_dir / "secrets"

    @property
    def files(self) -> Path:
        """Config files and ConfigMap keys."""
        return self.run_dir / "files"


@dataclass(frozen=True)
class BundleInputs:
    """Everything :func:`agent.runtime.bundles.build` and :func:`agent.runtime.preparing.prepare` use."""

    deployment: Deployment
    """The version to run: spec, image config, the image's tree (``rootfs``, read only)."""
    bundle: Path
    """The bundle directory: ``config.json`` goes here, the rootfs is mounted at ``bundle/rootfs``."""
    run_dir: Path
    """The container's run directory (tmpfs): generated files live under it (:class:`RunFiles`)."""
    cgroups_path: str
    """``linux.cgroupsPath`` (``RunPaths.cgroup_path(name)``)."""
    environ: Mapping[str, str] = field(default_factory=dict)
    """The environment ``${VAR}`` in the spec's env resolves from (the starting process's)."""
    join_namespaces: Mapping[str, Path] = field(default_factory=dict)
    """Namespaces to join instead of creating: type (network, ipc, uts, ...) -> path, e.g. the
    network namespace of the container's pod group. ``network.mode: host`` drops the network
    namespace altogether; ``none`` gets a new, empty one."""
    hostname: str | None = None
    """Host name inside the container; None: the spec's, else the host's on the host network,
    else the deployment's name."""
    volume_dir: Callable[[str], Path] | None = None
    """Named volume -> its data directory (``Layout(root).volume_dir``); None: volumes refused."""
    addresses: tuple[str, ...] = ()
    """The container's own addresses, for its /etc/hosts entry (none yet: 127.0.0.1)."""
    aliases: tuple[str, ...] = ()
    """More names of the container for its /etc/hosts entry."""
    dns_servers: tuple[str, ...] = ()
    """The networks' own DNS servers (aardvark-dns on each bridge's gateway), which resolve the
    other containers by name; used unless the spec names servers (podman does the same)."""
    dns_search: tuple[str, ...] = ()
    """Search domains the networks add (``dns.podman``)."""
    host_resolv: Path = Path("/etc/resolv.conf")
    host_hosts: Path = Path("/etc/hosts")
    shm_source: Path | None = None
    """A host directory (a tmpfs the caller mounted) bound at /dev/shm, for containers that share
    an IPC namespace and so must share /dev/shm too (a pod group, as podman binds the infra
    container's); None: a private tmpfs of ``resources.shm_size``."""
    init_binary: Path = CATATONIT
    """Bind-mounted read-only at :data:`INIT_TARGET` and run as PID 1 with ``init: true``."""

    @classmethod
    def of(
        cls,
        deployment: Deployment,
        paths: RunPaths,
        layout: Layout,
        *,
        environ: Mapping[str, str] | None = None,
        **more: Any,
    ) -> BundleInputs:
        """The usual inputs: the store's run paths and volumes, this process's environment."""
        name = deployment.name
        return cls(
            deployment=deployment,
            bundle=paths.bundle(name),
            run_dir=paths.container(name),
            cgroups_path=paths.cgroup_path(name),
            environ=dict(os.environ if environ is None else environ),
            volume_dir=layout.volume_dir,
            **more,
        )

    @property
    def name(self) -> str:
        return self.deployment.name

    @property
    def rootfs(self) -> Path:
        """The rootfs mount point (the overlay of the image tree and the container's upper)."""
        return self.bundle / "rootfs"

    @property
    def image_root(self) -> Path:
        """The image's tree as deployed: users and volume content are read from it, never written."""
        return self.deployment.rootfs

    @property
    def files(self) -> RunFiles:
        return RunFiles(self.run_dir)

    @property
    def container_hostname(self) -> str:
        if self.hostname:
            return self.hostname
        network = self.deployment.spec.config.network
        if network.hostname:
            return network.hostname
        if network.mode == "host":
            return socket.gethostname()
        return self.deployment.name[:63]
