"""systemd units: ``<name>-container.service`` per container and ``berth-agent.service``.

The container unit has the product document's shape (Service Integration): ``Type=notify``,
``ExecStart=berth container run NAME`` (in the foreground, READY=1 once started),
``ExecStop=berth container stop NAME``, ``Restart=`` from the restart policy, ``RestartSec``. When
systemd runs a container, systemd's ``Restart=`` is the restart policy: the unit sets
``BERTH_SYSTEMD_UNIT`` so ``container run`` can leave restarting to systemd, as podman's units
set ``PODMAN_SYSTEMD_UNIT``.

Docker's policies map onto systemd's: ``no`` -> ``no``; ``always`` and ``unless-stopped`` ->
``always`` (``systemctl stop`` is the "stopped" unless-stopped remembers, ``systemctl enable``
makes it survive a reboot); ``on-failure:N`` -> ``on-failure`` with a start limit of N+1 starts
over an unlimited interval, so systemd gives up after N restarts. systemd 252 (this Debian) has
no growing backoff (``RestartSteps`` arrived in 254), so ``RestartSec`` is the policy's delay or
the document's 10 s.

:func:`verify` runs ``systemd-analyze verify`` and, stricter than its exit status (which stays 0
on unparsable lines), refuses any complaint.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from agent.runtime.errors import RuntimeFailure
from translators.spec.deployment import DeploymentSpec, RestartPolicy

SYSTEM_DIR = Path("/etc/systemd/system")
DEFAULT_RESTART_SEC = 10.0
"""The product document's RestartSec."""
STOP_MARGIN = 30.0
"""Seconds systemd waits beyond the stop grace period before SIGKILL (podman's units: 60)."""
DEFAULT_GRACE = 10.0
AGENT_UNIT = "berth-agent.service"


class UnitError(RuntimeFailure):
    """A unit file is invalid or cannot be installed."""


@dataclass(frozen=True)
class Unit:
    """A unit file: its name (``web-container.service``) and its text."""

    name: str
    text: str


def unit_name(container: str) -> str:
    return f"{container}-container.service"


def _arg(value: str, *, expands: bool = True) -> str:
    """One word of a unit line, quoted as systemd reads it: ``%`` starts a specifier everywhere,
    ``$`` a variable in the arguments of a command (``expands``) but not in its path."""
    escaped = value.replace("%", "%%")
    if expands:
        escaped = escaped.replace("$", "$$")
    if escaped and not any(c in escaped for c in " \t\"'\\;"):
        return escaped
    return '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _command(argv: Sequence[str]) -> str:
    return " ".join(_arg(a, expands=i > 0) for i, a in enumerate(argv))


def _seconds(value: float) -> str:
    return f"{value:g}"


def _env(key: str, value: str) -> str:
    return _arg(f"{key}={value}", expands=False)  # Environment= expands specifiers, not variables


def _render(sections: Sequence[tuple[str, Sequence[tuple[str, str]]]]) -> str:
    parts = []
    for title, entries in sections:
        lines = [f"[{title}]", *(f"{k}={v}" for k, v in entries)]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def restart_settings(policy: RestartPolicy) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """``([Unit] entries, [Service] entries)`` for a restart policy."""
    unit: list[tuple[str, str]] = []
    restart = {"no": "no", "always": "always", "unless-stopped": "always", "on-failure": "on-failure"}
    service = [("Restart", restart[policy.policy])]
    if policy.policy != "no":
        service.append(("RestartSec", _seconds(policy.delay or DEFAULT_RESTART_SEC)))
    if policy.policy == "on-failure" and policy.max_retries is not None:
        unit += [("StartLimitIntervalSec", "infinity"), ("StartLimitBurst", str(policy.max_retries + 1))]
    return unit, service


def container_unit(
    spec: DeploymentSpec,
    *,
    berth: str,
    root: Path | None = None,
    installed: Sequence[str] = (),
) -> Unit:
    """``<name>-container.service`` for a deployment.

    ``berth`` is the absolute path of the berth executable; ``root`` the store (None: the
    default, not written); ``installed`` names the containers that have units, so dependencies
    (``depends_on``) on them become ``Requires=``/``Wants=`` and ``After=`` (others are left to
    the runtime, since systemd would refuse a unit it cannot find).
    """
    if not os.path.isabs(berth):
        raise UnitError(f"{unit_name(spec.name)}: ExecStart needs the absolute path of berth, got {berth!r}")
    cfg = spec.config
    start_unit, restart = restart_settings(cfg.restart)
    after = ["network-online.target"]
    unit: list[tuple[str, str]] = [("Description", f"Berth container {spec.name}")]
    unit.append(("Wants", "network-online.target"))
    for dep in cfg.depends_on:
        if dep.name in installed:
            unit.append(("Requires" if dep.required else "Wants", unit_name(dep.name)))
            after.append(unit_name(dep.name))
    unit.append(("After", " ".join(after)))
    if root is not None:
        unit.append(("RequiresMountsFor", _arg(str(root), expands=False)))
    unit += start_unit
    grace = cfg.stop_grace_period if cfg.stop_grace_period is not None else DEFAULT_GRACE
    service: list[tuple[str, str]] = [
        ("Type", "notify"),
        ("NotifyAccess", "main"),
        ("Environment", "BERTH_SYSTEMD_UNIT=%n"),  # %n: systemd's specifier for the unit's name
    ]
    if root is not None:
        service.append(("Environment", _env("BERTH_ROOT", str(root))))
    service += [
        ("ExecStart", _command([berth, "container", "run", spec.name])),
        ("ExecStop", _command([berth, "container", "stop", spec.name])),
        *restart,
        ("KillMode", "mixed"),
        ("TimeoutStopSec", _seconds(grace + STOP_MARGIN)),
        ("SyslogIdentifier", spec.name),
    ]
    text = _render([("Unit", unit), ("Service", service), ("Install", [("WantedBy", "multi-user.target")])])
    return Unit(unit_name(spec.name), text)


def agent_unit(*, berth: str, args: Sequence[str] = (), root: Path | None = None) -> Unit:
    """``berth-agent.service``: the supervisor that runs probes and restarts on liveness failure."""
    if not os.path.isabs(berth):
        raise UnitError(f"{AGENT_UNIT}: ExecStart needs the absolute path of berth, got {berth!r}")
    unit: list[tuple[str, str]] = [
        ("Description", "Berth agent: health probes, restarts and metrics of Berth containers"),
        ("Wants", "network-online.target"),
        ("After", "network-online.target local-fs.target"),
    ]
    service: list[tuple[str, str]] = [("Type", "notify"), ("NotifyAccess", "main")]
    if root is not None:
        unit.append(("RequiresMountsFor", _arg(str(root), expands=False)))
        service.append(("Environment", _env("BERTH_ROOT", str(root))))
    service += [
        ("ExecStart", _command([berth, "agent", *args])),
        ("Restart", "always"),
        ("RestartSec", "5"),
        ("KillMode", "mixed"),
        ("TimeoutStopSec", "30"),
    ]
    text = _render([("Unit", unit), ("Service", service), ("Install", [("WantedBy", "multi-user.target")])])
    return Unit(AGENT_UNIT, text)


def install(unit: Unit, directory: Path = SYSTEM_DIR) -> Path:
    """Write the unit (atomically, 0644) into ``directory``; the caller runs ``systemctl daemon-reload``."""
    path = Path(directory) / unit.name
    tmp = path.with_name(f".{unit.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(unit.text)
        tmp.chmod(0o644)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UnitError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path


def verify(paths: Sequence[Path]) -> None:
    """``systemd-analyze verify`` on unit files; any complaint is an error naming the file and line."""
    try:
        done = subprocess.run(
            ["systemd-analyze", "verify", "--man=no", *(str(p) for p in paths)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except FileNotFoundError as exc:
        raise UnitError("systemd-analyze is not installed (Debian package systemd)") from exc
    complaints = (done.stdout + done.stderr).strip()
    if done.returncode != 0 or complaints:
        first = complaints.splitlines()[0] if complaints else f"exit status {done.returncode}"
        raise UnitError(f"systemd-analyze verify refused the unit: {first}")
