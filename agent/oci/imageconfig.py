"""The parts of an OCI image config a container runtime uses, as a typed value.

The store keeps each deployment version's image config (``image-config.json``) so that the
runtime never reads raw dicts: :func:`parse` turns the config blob (OCI image spec
``config.json``, which Docker's schema 2 config shares) into :class:`ImageConfig`.
Unknown or malformed fields are ignored the way docker ignores them: an image is not refused
for a config it would still run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ImageHealthcheck:
    """Docker's HEALTHCHECK instruction (``config.Healthcheck``); durations in seconds."""

    test: tuple[str, ...] = ()
    """["CMD", ...], ["CMD-SHELL", "..."] or ["NONE"]; empty: inherit (none)."""
    interval: float | None = None
    timeout: float | None = None
    start_period: float | None = None
    retries: int | None = None


@dataclass(frozen=True)
class ImageConfig:
    """What an image asks for when nothing overrides it (docker's image defaults)."""

    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    env: tuple[str, ...] = ()
    working_dir: str = ""
    user: str = ""
    stop_signal: str | None = None
    exposed_ports: tuple[str, ...] = ()
    """As the image lists them: "80/tcp", "53/udp"."""
    volumes: tuple[str, ...] = ()
    """Paths the image declares as VOLUME (anonymous volumes, as docker creates them)."""
    labels: dict[str, str] = field(default_factory=dict)
    healthcheck: ImageHealthcheck | None = None
    os: str = "linux"
    architecture: str = "amd64"

    def to_json(self) -> dict[str, Any]:
        """The OCI form back (what :func:`parse` reads), for storing and ``-o json``."""
        cfg: dict[str, Any] = {
            "Env": list(self.env),
            "WorkingDir": self.working_dir,
            "User": self.user,
            "Labels": dict(self.labels),
        }
        if self.entrypoint is not None:
            cfg["Entrypoint"] = list(self.entrypoint)
        if self.cmd is not None:
            cfg["Cmd"] = list(self.cmd)
        if self.stop_signal:
            cfg["StopSignal"] = self.stop_signal
        if self.exposed_ports:
            cfg["ExposedPorts"] = {p: {} for p in self.exposed_ports}
        if self.volumes:
            cfg["Volumes"] = {p: {} for p in self.volumes}
        if self.healthcheck is not None:
            hc = self.healthcheck
            cfg["Healthcheck"] = {
                k: v
                for k, v in (
                    ("Test", list(hc.test)),
                    ("Interval", _to_ns(hc.interval)),
                    ("Timeout", _to_ns(hc.timeout)),
                    ("StartPeriod", _to_ns(hc.start_period)),
                    ("Retries", hc.retries),
                )
                if v is not None
            }
        return {"os": self.os, "architecture": self.architecture, "config": cfg}


def _strings(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    if isinstance(value, str):
        return (value,)
    return None


def _string(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _keys(value: Any) -> tuple[str, ...]:
    return tuple(sorted(str(k) for k in value)) if isinstance(value, dict) else ()


def _seconds(value: Any) -> float | None:
    """Docker stores healthcheck durations as nanoseconds; 0 means 'the default'."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value / 1e9
    return None


def _to_ns(value: float | None) -> int | None:
    return round(value * 1e9) if value is not None else None


def _healthcheck(value: Any) -> ImageHealthcheck | None:
    if not isinstance(value, dict):
        return None
    retries = value.get("Retries")
    return ImageHealthcheck(
        test=_strings(value.get("Test")) or (),
        interval=_seconds(value.get("Interval")),
        timeout=_seconds(value.get("Timeout")),
        start_period=_seconds(value.get("StartPeriod")),
        retries=retries
        if isinstance(retries, int) and not isinstance(retries, bool) and retries > 0
        else None,
    )


def parse(data: bytes | dict[str, Any]) -> ImageConfig:
    """The typed view of an image config blob (bytes as stored, or already decoded)."""
    doc = json.loads(data) if isinstance(data, bytes | bytearray) else data
    if not isinstance(doc, dict):
        return ImageConfig()
    cfg = doc.get("config")
    cfg = cfg if isinstance(cfg, dict) else {}
    labels = cfg.get("Labels")
    stop = cfg.get("StopSignal")
    return ImageConfig(
        entrypoint=_strings(cfg.get("Entrypoint")),
        cmd=_strings(cfg.get("Cmd")),
        env=_strings(cfg.get("Env")) or (),
        working_dir=_string(cfg.get("WorkingDir")),
        user=_string(cfg.get("User")),
        stop_signal=stop if isinstance(stop, str) and stop else None,
        exposed_ports=_keys(cfg.get("ExposedPorts")),
        volumes=_keys(cfg.get("Volumes")),
        labels={str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {},
        healthcheck=_healthcheck(cfg.get("Healthcheck")),
        os=str(doc.get("os") or "linux"),
        architecture=str(doc.get("architecture") or "amd64"),
    )
