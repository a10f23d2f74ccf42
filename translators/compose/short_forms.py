"""The short forms of the Compose Specification, parsed: ports, volumes, and Go durations.

Pure functions from one string to its long form, raising ``ValueError`` with what was expected;
:mod:`translators.compose.canonical` applies them at their paths and reports the errors there.
"""

from __future__ import annotations

import re
from typing import Any

_PORT = re.compile(
    r"^(?:(?:(?P<ip>\[[0-9A-Fa-f:.]+\]|[0-9.]+|[0-9A-Fa-f:]*:[0-9A-Fa-f:]*):)?(?P<host>[0-9]*(?:-[0-9]+)?):)?"
    r"(?P<ctr>[0-9]+(?:-[0-9]+)?)(?:/(?P<proto>[A-Za-z]+))?$"
)


def _span(text: str, what: str = "port") -> tuple[int, int]:
    first, _, last = text.partition("-")
    if not first.isdigit() or (last and not last.isdigit()):
        raise ValueError(f"invalid {what} {text!r}: expected a port number or a range such as 8000-8010")
    return int(first), int(last) if last else int(first)


def parse_port(text: str) -> list[dict[str, Any]]:
    """A short port (``"127.0.0.1:8000-8001:80-81/udp"``) as long forms; ``ValueError`` if malformed."""
    m = _PORT.match(text.strip())
    if not m:
        raise ValueError(f"invalid port {text!r}: expected [[IP:]HOST:]CONTAINER[/PROTOCOL]")
    c0, c1 = _span(m.group("ctr"), "container port")
    if c1 < c0:
        raise ValueError(f"invalid port range {m.group('ctr')!r}")
    host = m.group("host") or ""
    ip = (m.group("ip") or "").strip("[]")
    out: list[dict[str, Any]] = []
    h0, h1 = _span(host, "host port") if host else (0, 0)
    for i, target in enumerate(range(c0, c1 + 1)):
        port: dict[str, Any] = {"mode": "ingress"}
        if ip:
            port["host_ip"] = ip
        port["target"] = target
        if host:
            if h1 == h0:
                port["published"] = str(h0)
            elif h1 - h0 == c1 - c0:
                port["published"] = str(h0 + i)
            else:
                port["published"] = f"{h0}-{h1}"
        port["protocol"] = (m.group("proto") or "tcp").lower()
        out.append(port)
    return out


def _is_bind_source(source: str) -> bool:
    return source.startswith((".", "/", "~")) or bool(re.match(r"^[A-Za-z]:[\\/]", source))


_DRIVE = re.compile(r"[A-Za-z]:[\\/]")


def _split_volume(text: str) -> list[str]:
    """Split on ``:``, except the one of a Windows drive (``C:\\data``) that starts a part."""
    parts: list[str] = []
    start = 0
    while True:
        skip = 2 if _DRIVE.match(text, start) else 0
        cut = text.find(":", start + skip)
        if cut < 0:
            parts.append(text[start:])
            return parts
        parts.append(text[start:cut])
        start = cut + 1


def parse_volume(text: str) -> dict[str, Any]:
    """A short volume (``"./data:/data:ro,z"``, ``"cache:/c"``, ``"/anon"``) as its long form."""
    parts = _split_volume(text)
    if not text or len(parts) > 3 or any(p == "" for p in parts[:2]):
        raise ValueError(f"invalid volume {text!r}: expected [SOURCE:]TARGET[:MODE]")
    if len(parts) == 1:
        return {"type": "volume", "target": parts[0], "volume": {}}
    source, target = parts[0], parts[1]
    bind = _is_bind_source(source)
    vol: dict[str, Any] = {"type": "bind" if bind else "volume", "source": source, "target": target}
    bind_opts: dict[str, Any] = {}
    volume_opts: dict[str, Any] = {}
    for opt in parts[2].split(",") if len(parts) == 3 else []:
        if opt == "ro":
            vol["read_only"] = True
        elif opt == "rw":
            continue
        elif opt in ("z", "Z"):
            bind_opts["selinux"] = opt
        elif opt in ("shared", "rshared", "slave", "rslave", "private", "rprivate"):
            bind_opts["propagation"] = opt
        elif opt == "nocopy":
            volume_opts["nocopy"] = True
        elif opt in ("delegated", "cached", "consistent"):
            vol["consistency"] = opt
        else:
            raise ValueError(f"invalid volume {text!r}: unknown option {opt!r}")
    if bind:
        bind_opts["create_host_path"] = True
    if bind_opts:
        vol["bind"] = bind_opts
    if not bind:
        vol["volume"] = volume_opts
    return vol


def go_duration(seconds: float) -> str:
    """Go's ``time.Duration.String()``: ``1h0m0s``, ``1m30s``, ``1.5s``, ``100ms``, ``0s``."""
    nanos = round(seconds * 1e9)
    if nanos == 0:
        return "0s"
    if nanos < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if nanos >= size:
                return f"{nanos / size:.9f}".rstrip("0").rstrip(".") + unit
    hours, rest = divmod(nanos, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    secs = f"{rest / 1e9:.9f}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{hours}h{minutes}m{secs}"
    return f"{minutes}m{secs}" if minutes else secs
