"""``securityContext`` of the pod and of each container; the container's settings win.

Mapping (Kubernetes -> spec):

- ``runAsUser``/``runAsGroup`` -> ``user`` ``"uid:gid"`` (``"uid"`` alone when no group is given);
  ``runAsNonRoot`` is checked against ``runAsUser`` when that is known, else reported as not verified.
- ``supplementalGroups`` and ``fsGroup`` -> ``group_add``; ``fsGroup`` does not chown volumes (reported).
- ``readOnlyRootFilesystem`` -> ``readonly``; ``privileged`` -> ``privileged``;
  ``capabilities.add/drop`` -> ``capabilities`` (relative to the runtime's default set in both).
- ``allowPrivilegeEscalation: false`` -> ``no_new_privileges``. When it is not given Berth keeps its
  least-privilege default (on), except where Kubernetes forces it off: ``privileged`` or ``SYS_ADMIN``.
- ``seccompProfile``: RuntimeDefault -> ``default``, Unconfined -> ``unconfined``, Localhost ->
  ``/var/lib/kubelet/seccomp/<localhostProfile>`` (the kubelet's profile root). Unset: Berth's
  default profile, where Kubernetes (without ``SeccompDefault``) would run unconfined.
- ``appArmorProfile`` (or the older ``container.apparmor.security.beta.kubernetes.io/<container>``
  annotation): RuntimeDefault -> the runtime's default, Unconfined -> ``unconfined``, Localhost -> the
  profile name.
- ``seLinuxOptions`` -> ``selinux_options`` (``type:spc_t``...); ``sysctls`` -> ``sysctls``;
  ``procMount: Unmasked`` -> no masked paths.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from translators.kubernetes import reporting
from translators.kubernetes.reporting import ObjectDiagnostics
from translators.paths import YamlPath

SECCOMP_ROOT = "/var/lib/kubelet/seccomp/"
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
_COMMON = {"runAsUser", "runAsGroup", "runAsNonRoot", "seccompProfile", "appArmorProfile", "seLinuxOptions"}
_POD_KEYS = _COMMON | {"supplementalGroups", "fsGroup", "sysctls"}
_CONTAINER_KEYS = _COMMON | {
    "readOnlyRootFilesystem",
    "allowPrivilegeEscalation",
    "capabilities",
    "privileged",
    "procMount",
}
_IGNORED = {
    "windowsOptions": "Windows only",
    "fsGroupChangePolicy": "volume ownership is not changed",
    "supplementalGroupsPolicy": "",
    "seLinuxChangePolicy": "",
}


@dataclass
class Context:
    """The settings one securityContext gives; None where it says nothing."""

    values: dict[str, Any] = field(default_factory=dict)
    paths: dict[str, YamlPath] = field(default_factory=dict)


def read_context(raw: object, at: YamlPath, diag: ObjectDiagnostics, *, pod: bool) -> Context:
    """Read and check one securityContext (pod level when ``pod``)."""
    data = reporting.mapping(raw, at, diag)
    reporting.check_keys(data, at, diag, _POD_KEYS if pod else _CONTAINER_KEYS, _IGNORED)
    ctx = Context()

    def keep(key: str, value: object) -> None:
        if value is not None:
            ctx.values[key] = value
            ctx.paths[key] = at / key

    for key in ("runAsUser", "runAsGroup", "fsGroup"):
        if key in data:
            keep(key, reporting.integer(data[key], at / key, diag, minimum=0))
    for key in ("runAsNonRoot", "readOnlyRootFilesystem", "allowPrivilegeEscalation", "privileged"):
        if key in data:
            keep(key, reporting.boolean(data[key], at / key, diag))
    if "supplementalGroups" in data:
        groups = [
            reporting.integer(g, at / "supplementalGroups" / i, diag, minimum=0)
            for i, g in enumerate(
                reporting.sequence(data["supplementalGroups"], at / "supplementalGroups", diag)
            )
        ]
        keep("supplementalGroups", [str(g) for g in groups if g is not None])
    if "sysctls" in data:
        sysctls: dict[str, str] = {}
        for path, item in reporting.mappings(data["sysctls"], at / "sysctls", diag):
            reporting.check_keys(item, path, diag, {"name", "value"})
            name = reporting.string(item.get("name"), path / "name", diag, required=True)
            value = item.get("value", "")
            if name is not None:
                sysctls[name] = str(value).lower() if isinstance(value, bool) else str(value)
        keep("sysctls", sysctls)
    if "seccompProfile" in data:
        keep("seccomp", _profile(data["seccompProfile"], at / "seccompProfile", diag, seccomp=True))
    if "appArmorProfile" in data:
        keep("apparmor", _profile(data["appArmorProfile"], at / "appArmorProfile", diag, seccomp=False))
    if "seLinuxOptions" in data:
        options = reporting.mapping(data["seLinuxOptions"], at / "seLinuxOptions", diag)
        reporting.check_keys(options, at / "seLinuxOptions", diag, {"user", "role", "type", "level"})
        keep("selinux", [f"{k}:{v}" for k, v in options.items() if isinstance(v, str) and v])
    if "capabilities" in data:
        caps = reporting.mapping(data["capabilities"], at / "capabilities", diag)
        reporting.check_keys(caps, at / "capabilities", diag, {"add", "drop"})
        keep(
            "capabilities",
            {
                k: reporting.strings(caps.get(k), at / "capabilities" / k, diag)
                for k in ("add", "drop")
                if k in caps
            },
        )
    if "procMount" in data:
        mount = reporting.string(data["procMount"], at / "procMount", diag)
        if mount not in (None, "Default", "Unmasked"):
            diag.error(at / "procMount", f"expected Default or Unmasked, got {mount!r}")
        elif mount is not None:
            keep("procMount", mount)
    return ctx


def _profile(raw: object, at: YamlPath, diag: ObjectDiagnostics, *, seccomp: bool) -> str | None:
    """A seccomp or AppArmor profile; ``""`` stands for the runtime's default AppArmor profile."""
    data = reporting.mapping(raw, at, diag)
    reporting.check_keys(data, at, diag, {"type", "localhostProfile"})
    kind = reporting.string(data.get("type"), at / "type", diag, required=True)
    local = reporting.string(data.get("localhostProfile"), at / "localhostProfile", diag)
    if kind == "RuntimeDefault":
        return "default" if seccomp else ""
    if kind == "Unconfined":
        return "unconfined"
    if kind == "Localhost":
        if not local:
            diag.error(at / "localhostProfile", "required with type Localhost")
            return None
        return SECCOMP_ROOT + local if seccomp else local
    if kind is not None:
        diag.error(at / "type", f"expected RuntimeDefault, Unconfined or Localhost, got {kind!r}")
    return None


def _annotation_profile(value: str, at: YamlPath, diag: ObjectDiagnostics) -> str | None:
    if value == "runtime/default":
        return ""
    if value == "unconfined":
        return "unconfined"
    if value.startswith("localhost/") and len(value) > len("localhost/"):
        return value.removeprefix("localhost/")
    diag.error(at, f"expected runtime/default, unconfined or localhost/<profile>, got {value!r}")
    return None


@dataclass
class Settings:
    """What the securityContexts give one container."""

    security: dict[str, Any]
    user: str | None
    group_add: list[str]


def container_settings(
    pod: Context,
    container: Context,
    *,
    diag: ObjectDiagnostics,
    container_name: str,
    annotations: dict[str, str],
    annotations_at: YamlPath,
) -> Settings:
    """Merge the pod's and the container's securityContext; the container's keys win."""
    merged = {**pod.values, **container.values}
    paths = {**pod.paths, **container.paths}
    security: dict[str, Any] = {}
    for key, spec_key in (
        ("readOnlyRootFilesystem", "readonly"),
        ("privileged", "privileged"),
        ("seccomp", "seccomp"),
        ("sysctls", "sysctls"),
        ("capabilities", "capabilities"),
        ("selinux", "selinux_options"),
    ):
        if key in merged:
            security[spec_key] = merged[key]
    apparmor = merged.get("apparmor")
    annotation = annotations.get(APPARMOR_ANNOTATION + container_name)
    if apparmor is None and annotation is not None:
        apparmor = _annotation_profile(
            annotation, annotations_at / (APPARMOR_ANNOTATION + container_name), diag
        )
    if apparmor:
        security["apparmor"] = apparmor
    if merged.get("procMount") == "Unmasked":
        security["masked_paths"] = []
    adds = [c.upper().removeprefix("CAP_") for c in merged.get("capabilities", {}).get("add", [])]
    if "allowPrivilegeEscalation" in merged:
        security["no_new_privileges"] = not merged["allowPrivilegeEscalation"]
        if merged["allowPrivilegeEscalation"] is False and (merged.get("privileged") or "SYS_ADMIN" in adds):
            diag.error(
                paths["allowPrivilegeEscalation"], "cannot be false with privileged: true or CAP_SYS_ADMIN"
            )
    elif merged.get("privileged") or "SYS_ADMIN" in adds or "ALL" in adds:
        security["no_new_privileges"] = False
    uid, gid = merged.get("runAsUser"), merged.get("runAsGroup")
    user = None
    if uid is not None:
        user = f"{uid}:{gid}" if gid is not None else str(uid)
    elif gid is not None:
        diag.warn(
            paths["runAsGroup"],
            "runAsGroup without runAsUser is not applied: the image's user and group are used",
        )
    if merged.get("runAsNonRoot"):
        if uid == 0:
            diag.error(
                paths["runAsNonRoot"],
                "runAsNonRoot is true but runAsUser is 0: Kubernetes would not start the container",
            )
        elif uid is None:
            diag.warn(
                paths["runAsNonRoot"],
                "not verified: the image's USER is not known when translating",
                code="notice",
            )
    groups = list(merged.get("supplementalGroups", []))
    if "fsGroup" in merged:
        groups.append(str(merged["fsGroup"]))
    return Settings(security, user, list(dict.fromkeys(groups)))


def warn_pod_level(pod: Context, diag: ObjectDiagnostics) -> None:
    """Once per pod: what fsGroup does not do."""
    if "fsGroup" in pod.values:
        diag.warn(
            pod.paths["fsGroup"],
            "partly applied: added to the supplementary groups; volume ownership "
            "and permissions are not changed",
        )
