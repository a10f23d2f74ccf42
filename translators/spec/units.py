"""Parsing of sizes, CPU amounts, durations and signals, in every form users write them.

Each parser returns one canonical value (bytes, cores, seconds, ``SIGNAME``) or raises
``ValueError`` with a message that says what was expected; pydantic turns that into a diagnostic
with the field's path.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation

# Docker's RAMInBytes: single-letter and two-letter units are binary and case-insensitive.
_DOCKER_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
# Kubernetes quantities: binary with an ``i``; decimal otherwise (``m`` is milli).
_BINARY_SI = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "Pi": 1 << 50, "Ei": 1 << 60}
_DECIMAL_SI = {
    "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1),
    "k": Decimal(10**3), "M": Decimal(10**6), "G": Decimal(10**9), "T": Decimal(10**12),
    "P": Decimal(10**15), "E": Decimal(10**18),
}  # fmt: skip

_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*$")
_QUANTITY = re.compile(r"^\s*([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(?:[eE]([+-]?[0-9]+))?([A-Za-z]*)\s*$")

MEMORY_FORMS = "bytes as an integer, or a size such as 512M, 1G, 512Mi, 64k"
MAX_SIZE = (1 << 63) - 1
"""Sizes are int64 bytes in docker, Kubernetes and the cgroup files: 8 EiB at most."""
MAX_DURATION = ((1 << 63) - 1) / 1e9
"""Go's ``time.Duration`` (int64 nanoseconds): about 292 years."""


def _size(amount: Decimal | int, value: object) -> int:
    result = math.ceil(amount)
    if result > MAX_SIZE:
        raise ValueError(f"a size must be at most {MAX_SIZE} bytes (8 EiB), got {str(value)[:40]!r}")
    return result


def parse_memory(value: object) -> int:
    """Bytes from ``536870912``, ``"512M"``/``"512m"``/``"512MB"`` (binary, as docker) or ``"512Mi"``."""
    if isinstance(value, bool):
        raise ValueError(f"expected {MEMORY_FORMS}, got a boolean")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("a size cannot be negative")
        return _size(value, value)
    if isinstance(value, float):
        if value < 0 or not math.isfinite(value):
            raise ValueError("a size must be a finite, non-negative number")
        return _size(Decimal(value), value)
    if not isinstance(value, str):
        raise ValueError(f"expected {MEMORY_FORMS}, got {type(value).__name__}")
    m = _SIZE.match(value)
    if not m:
        raise ValueError(f"expected {MEMORY_FORMS}, got {value!r}")
    number, unit = Decimal(m.group(1)), m.group(2)
    if unit in _BINARY_SI:
        return _size(number * _BINARY_SI[unit], value)
    key = unit.lower()
    if key.endswith("b") and len(key) == 2:
        key = key[0]
    if key not in _DOCKER_UNITS:
        raise ValueError(f"unknown size unit {unit!r} in {value!r}: use b, k, m, g, t or Ki, Mi, Gi, Ti")
    return _size(number * _DOCKER_UNITS[key], value)


def parse_quantity(value: object) -> Decimal:
    """A Kubernetes ``resource.Quantity`` (``500m``, ``1.5``, ``512Mi``, ``1e3``, ``2G``) as a number."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"expected a Kubernetes quantity such as 500m or 512Mi, got {value!r}")
    if isinstance(value, int | float):
        return Decimal(str(value))
    m = _QUANTITY.match(value)
    if not m:
        raise ValueError(f"expected a Kubernetes quantity such as 500m or 512Mi, got {value!r}")
    try:
        number = Decimal(m.group(1))
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only numbers
        raise ValueError(f"invalid quantity {value!r}") from exc
    exponent, suffix = m.group(2), m.group(3)
    if exponent is not None:
        if suffix or len(exponent.lstrip("+-")) > 2:  # Kubernetes' quantities stop near 10^18
            raise ValueError(f"invalid quantity {value!r}")
        return number * (Decimal(10) ** int(exponent))
    if suffix in _BINARY_SI:
        return number * _BINARY_SI[suffix]
    if suffix in _DECIMAL_SI:
        return number * _DECIMAL_SI[suffix]
    raise ValueError(f"unknown quantity suffix {suffix!r} in {value!r}")


CPU_FORMS = "a number of cores such as 0.5 or 2, or millicores such as 500m"


def parse_cpu(value: object) -> float:
    """Cores from ``0.5``, ``"0.5"``, ``2`` or ``"500m"``."""
    if isinstance(value, bool):
        raise ValueError(f"expected {CPU_FORMS}, got a boolean")
    if isinstance(value, int | float):
        cores = float(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            cores = float(Decimal(text[:-1]) / 1000) if text.endswith("m") else float(Decimal(text))
        except InvalidOperation as exc:
            raise ValueError(f"expected {CPU_FORMS}, got {value!r}") from exc
    else:
        raise ValueError(f"expected {CPU_FORMS}, got {type(value).__name__}")
    if not math.isfinite(cores) or cores <= 0:
        raise ValueError(f"a CPU amount must be positive, got {value!r}")
    return round(cores, 6)


_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
DURATION_FORMS = "seconds as a number, or a duration such as 30s, 1m30s, 500ms"


def parse_duration(value: object) -> float:
    """Seconds from a number or a Go duration string (``1m30s``, ``500ms``, ``2h``)."""
    if isinstance(value, bool):
        raise ValueError(f"expected {DURATION_FORMS}, got a boolean")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"[0-9]+(?:\.[0-9]+)?", text):
            seconds = float(text)
        else:
            pos, seconds = 0, 0.0
            for m in _DURATION_PART.finditer(text):
                if m.start() != pos:
                    break
                seconds += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
                pos = m.end()
            if pos != len(text) or not text:
                raise ValueError(f"expected {DURATION_FORMS}, got {value!r}")
    else:
        raise ValueError(f"expected {DURATION_FORMS}, got {type(value).__name__}")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"a duration cannot be negative, got {value!r}")
    if seconds > MAX_DURATION:
        raise ValueError(
            f"a duration must be at most {MAX_DURATION:.0f}s (about 292 years), got {str(value)[:40]!r}"
        )
    return round(seconds, 9)


def format_duration(seconds: float) -> str:
    """The Go form of a duration, as docker compose prints it (``1m30s``, ``500ms``)."""
    if seconds == 0:
        return "0s"
    if seconds < 1:
        ms = seconds * 1000
        return f"{ms:g}ms" if ms >= 1 else f"{seconds * 1e6:g}µs"
    out = ""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        out += f"{int(hours)}h"
    if minutes or (hours and secs):
        out += f"{int(minutes)}m"
    if secs or not out:
        out += f"{secs:g}s"
    return out


_SIGNALS = (
    "HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM STKFLT CHLD CONT STOP TSTP "
    "TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH IO PWR SYS"
).split()


def parse_signal(value: object) -> str:
    """``SIGTERM`` from ``"SIGTERM"``, ``"term"``, ``15`` or ``"15"``, and real-time ``SIGRTMIN+3``."""
    if isinstance(value, bool):
        raise ValueError("expected a signal name such as SIGTERM or a number")
    text = str(value).strip().upper()
    if text.isdigit():
        n = int(text)
        if 1 <= n <= len(_SIGNALS):
            return "SIG" + _SIGNALS[n - 1]
        if 34 <= n <= 64:
            return f"SIGRTMIN+{n - 34}" if n != 34 else "SIGRTMIN"
        raise ValueError(f"no signal number {n}")
    name = text.removeprefix("SIG")
    if name in _SIGNALS or re.fullmatch(r"RTM(IN|AX)([+-][0-9]+)?", name):
        return "SIG" + name
    raise ValueError(f"unknown signal {value!r}")
