"""Which compose keys Berth applies: the support table behind the unsupported-key warnings.

``SERVICE_KEYS`` gives each service key of the Compose Specification a status: ``supported``
(mapped to the spec), ``partial`` (mapped, with the limits in the note) or ``unsupported`` (read,
validated, then reported as a warning naming its path). ``x-`` keys are user extensions and
ignored silently. The README's support table is generated from these dicts.
"""

from __future__ import annotations

from typing import Literal

Status = Literal["supported", "partial", "unsupported"]

SERVICE_KEYS: dict[str, tuple[Status, str]] = {
    "image": ("supported", ""),
    "build": ("partial", "not built: the image (or <project>-<service>) is pulled"),
    "command": ("supported", ""),
    "entrypoint": ("supported", ""),
    "environment": ("supported", ""),
    "env_file": ("supported", "merged into environment"),
    "working_dir": ("supported", ""),
    "user": ("supported", ""),
    "group_add": ("supported", ""),
    "volumes": (
        "partial",
        "bind and volume; tmpfs-type entries become tmpfs mounts; npipe/cluster unsupported",
    ),
    "tmpfs": ("supported", ""),
    "secrets": ("partial", "file-based secrets (files, read-only 0444 unless mode)"),
    "configs": ("partial", "file, content and environment configs"),
    "ports": ("supported", ""),
    "expose": ("partial", "accepted: services reach each other on project networks without it"),
    "networks": ("supported", "aliases, ipv4_address, ipv6_address"),
    "network_mode": ("supported", "host, none, service:X, container:X"),
    "dns": ("supported", ""),
    "dns_search": ("supported", ""),
    "dns_opt": ("supported", ""),
    "hostname": ("supported", ""),
    "domainname": ("supported", ""),
    "extra_hosts": ("supported", ""),
    "links": ("partial", "become depends_on; names resolve through the project network"),
    "depends_on": ("supported", ""),
    "healthcheck": ("supported", ""),
    "deploy": ("partial", "replicas, resources (limits, reservations.memory), restart_policy"),
    "restart": ("supported", ""),
    "mem_limit": ("supported", ""),
    "mem_reservation": ("supported", ""),
    "memswap_limit": ("supported", ""),
    "cpus": ("supported", ""),
    "cpu_shares": ("supported", ""),
    "cpuset": ("supported", ""),
    "pids_limit": ("supported", ""),
    "shm_size": ("supported", ""),
    "devices": ("supported", ""),
    "ulimits": ("supported", ""),
    "cap_add": ("supported", ""),
    "cap_drop": ("supported", ""),
    "privileged": ("supported", ""),
    "read_only": ("supported", ""),
    "security_opt": ("partial", "no-new-privileges, seccomp, apparmor, label"),
    "sysctls": ("supported", ""),
    "labels": ("supported", ""),
    "stop_signal": ("supported", ""),
    "stop_grace_period": ("supported", ""),
    "tty": ("supported", ""),
    "stdin_open": ("supported", ""),
    "init": ("supported", ""),
    "pull_policy": ("partial", "build, daily, weekly and every_<duration> pull when missing (warned)"),
    "scale": ("supported", "as replicas"),
    "container_name": ("partial", "the spec name is <project>-<service>; container_name is not used"),
    "profiles": ("supported", ""),
    "extends": ("supported", ""),
    "platform": ("unsupported", ""),
    "develop": ("unsupported", ""),
    "annotations": ("unsupported", ""),
    "attach": ("unsupported", ""),
    "blkio_config": ("unsupported", ""),
    "cgroup": ("unsupported", ""),
    "cgroup_parent": ("unsupported", ""),
    "cpu_count": ("unsupported", ""),
    "cpu_percent": ("unsupported", ""),
    "cpu_quota": ("unsupported", ""),
    "cpu_period": ("unsupported", ""),
    "cpu_rt_period": ("unsupported", ""),
    "cpu_rt_runtime": ("unsupported", ""),
    "credential_spec": ("unsupported", ""),
    "device_cgroup_rules": ("unsupported", ""),
    "external_links": ("unsupported", ""),
    "gpus": ("unsupported", ""),
    "ipc": ("unsupported", ""),
    "isolation": ("unsupported", ""),
    "label_file": ("supported", "merged into labels"),
    "logging": ("unsupported", ""),
    "mac_address": ("unsupported", ""),
    "mem_swappiness": ("unsupported", ""),
    "models": ("unsupported", ""),
    "oom_kill_disable": ("unsupported", ""),
    "oom_score_adj": ("unsupported", ""),
    "pid": ("unsupported", ""),
    "post_start": ("unsupported", ""),
    "pre_stop": ("unsupported", ""),
    "provider": ("unsupported", ""),
    "pull_refresh_after": ("unsupported", ""),
    "runtime": ("unsupported", ""),
    "storage_opt": ("unsupported", ""),
    "use_api_socket": ("unsupported", ""),
    "uts": ("unsupported", ""),
    "userns_mode": ("unsupported", ""),
    "volumes_from": ("unsupported", "becomes depends_on only"),
}

DEPLOY_KEYS: dict[str, Status] = {
    "replicas": "supported",
    "resources": "partial",
    "restart_policy": "supported",
    "labels": "unsupported",
    "mode": "unsupported",
    "endpoint_mode": "unsupported",
    "rollback_config": "unsupported",
    "update_config": "unsupported",
    "placement": "unsupported",
}

TOP_LEVEL_KEYS: dict[str, Status] = {
    "name": "supported",
    "services": "supported",
    "networks": "partial",
    "volumes": "partial",
    "secrets": "partial",
    "configs": "partial",
    "include": "supported",
    "version": "supported",
    "models": "unsupported",
}

# Inside these mappings only the listed keys are applied; any other (x- aside) is warned with its path.
APPLIED_SUBKEYS: dict[str, frozenset[str]] = {
    "services.*.deploy.resources": frozenset({"limits", "reservations"}),
    "services.*.deploy.resources.limits": frozenset({"cpus", "memory", "pids"}),
    "services.*.deploy.resources.reservations": frozenset({"memory"}),
    "services.*.deploy.restart_policy": frozenset({"condition", "max_attempts", "delay"}),
    "services.*.ports.*": frozenset({"target", "published", "host_ip", "protocol", "mode"}),
    "services.*.volumes.*": frozenset(
        {"type", "source", "target", "read_only", "bind", "volume", "tmpfs", "consistency"}
    ),
    "services.*.volumes.*.bind": frozenset({"propagation", "create_host_path", "selinux"}),
    "services.*.volumes.*.volume": frozenset({"nocopy", "subpath"}),
    "services.*.volumes.*.tmpfs": frozenset({"size", "mode"}),
    "services.*.networks.*": frozenset({"aliases", "ipv4_address", "ipv6_address"}),
    "services.*.healthcheck": frozenset(
        {"test", "interval", "timeout", "start_period", "start_interval", "retries", "disable"}
    ),
    "networks.*": frozenset({"name", "driver", "external", "internal", "ipam", "labels", "driver_opts"}),
    "networks.*.ipam": frozenset({"config"}),
    "networks.*.ipam.config.*": frozenset({"subnet"}),
    "volumes.*": frozenset({"name", "driver", "external", "labels", "driver_opts"}),
}
# Values Berth implements for a key; another value is warned (the default is used instead).
APPLIED_VALUES: dict[str, frozenset[str]] = {
    "networks.*.driver": frozenset({"bridge"}),
    "volumes.*.driver": frozenset({"local"}),
}
