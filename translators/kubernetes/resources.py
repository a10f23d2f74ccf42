"""``resources``: limits become cgroup limits, requests become reservations and CPU weight.

- ``limits.cpu`` (``500m``) is the CPU limit in cores (0.5); ``limits.memory`` (``512Mi``) the
  memory limit in bytes. Quantities follow Kubernetes: ``512M`` is decimal, ``512Mi`` binary.
- ``requests.memory`` becomes ``memory_reservation`` (a soft limit).
- ``requests.cpu`` becomes ``cpu_shares`` with the kubelet's formula, ``millicores * 1024 / 1000``
  clamped to [2, 262144]. As in the API, an unset request defaults to the limit.
- Other resources (ephemeral-storage, hugepages, devices such as ``nvidia.com/gpu``) are reported.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal
from typing import Any

from translators.kubernetes import reporting
from translators.kubernetes.objects import quantity_bytes
from translators.kubernetes.reporting import ObjectDiagnostics
from translators.paths import YamlPath
from translators.spec.units import parse_quantity

MIN_SHARES, MAX_SHARES = 2, 262144


def cpu_shares(cores: Decimal) -> int:
    """The kubelet's MilliCPUToShares."""
    milli = int((cores * 1000).to_integral_value(rounding=ROUND_CEILING))
    return max(MIN_SHARES, min(MAX_SHARES, milli * 1024 // 1000))


def _cores(value: object, at: YamlPath, diag: ObjectDiagnostics) -> Decimal | None:
    try:
        cores = parse_quantity(value)
    except ValueError as exc:
        diag.error(at, str(exc))
        return None
    if cores < 0:
        diag.error(at, f"a CPU amount cannot be negative, got {value!r}")
        return None
    return cores


def container_resources(raw: object, at: YamlPath, diag: ObjectDiagnostics) -> dict[str, Any]:
    """The spec's ``resources`` for a container's ``resources``."""
    resources = reporting.mapping(raw, at, diag)
    reporting.check_keys(
        resources, at, diag, {"limits", "requests"}, {"claims": "dynamic resource claims are not supported"}
    )
    out: dict[str, Any] = {}
    limits = reporting.mapping(resources.get("limits"), at / "limits", diag)
    requests = reporting.mapping(resources.get("requests"), at / "requests", diag)
    for name, table in (("limits", limits), ("requests", requests)):
        for key in table:
            if key not in ("cpu", "memory"):
                diag.unsupported(at / name / key, "only cpu and memory are applied")
    if "cpu" in limits:
        cores = _cores(limits["cpu"], at / "limits" / "cpu", diag)
        if cores is not None and cores > 0:
            out["cpu"] = float(cores)
        elif cores is not None:
            diag.warn(at / "limits" / "cpu", "a CPU limit of 0 means no limit")
    if "memory" in limits:
        memory = quantity_bytes(limits["memory"], at / "limits" / "memory", diag)
        if memory:
            out["memory"] = memory
    cpu_request = requests.get("cpu", limits.get("cpu"))
    cpu_at = at / ("requests" if "cpu" in requests else "limits") / "cpu"
    if cpu_request is not None:
        cores = _cores(cpu_request, cpu_at, diag) if "cpu" in requests else _quiet_cores(cpu_request)
        if cores is not None:
            out["cpu_shares"] = cpu_shares(cores)
    if "memory" in requests:
        reservation = quantity_bytes(requests["memory"], at / "requests" / "memory", diag)
        if reservation:
            out["memory_reservation"] = reservation
    return out


def _quiet_cores(value: object) -> Decimal | None:
    """A limit already reported when it was read as a limit."""
    try:
        cores = parse_quantity(value)
    except ValueError:
        return None
    return cores if cores >= 0 else None
