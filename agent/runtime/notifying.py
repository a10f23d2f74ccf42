"""``sd_notify``: tell systemd that ``container run`` (a ``Type=notify`` unit) is ready or stopping.

The protocol is one datagram of ``KEY=VALUE`` lines to the ``AF_UNIX`` socket named by
``$NOTIFY_SOCKET``; a name starting with ``@`` is in the abstract namespace (a leading NUL byte).
Outside systemd the variable is unset and every call is a no-op that returns False, so
``container run`` calls these unconditionally.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

from agent.runtime.errors import RuntimeFailure

ENV = "NOTIFY_SOCKET"


def _address(name: str) -> str | bytes:
    if name.startswith("@"):
        return b"\0" + name[1:].encode()
    if not name.startswith("/"):
        raise RuntimeFailure(f"${ENV}={name!r}: expected an absolute path or an @abstract name")
    return name


def notify(state: Mapping[str, str | int], *, environ: Mapping[str, str] | None = None) -> bool:
    """Send ``state`` (``{"READY": 1}``...) to systemd; False when not run by systemd."""
    name = (environ if environ is not None else os.environ).get(ENV, "")
    if not name:
        return False
    message = "\n".join(f"{k}={v}" for k, v in state.items()).encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        try:
            sock.sendto(message, _address(name))
        except OSError as exc:
            raise RuntimeFailure(f"cannot notify systemd through {name}: {exc.strerror or exc}") from exc
    return True


def ready(*, main_pid: int | None = None, status: str | None = None) -> bool:
    """READY=1, optionally with the process systemd should watch (MAINPID) and a status line."""
    state: dict[str, str | int] = {"READY": 1}
    if main_pid is not None:
        state["MAINPID"] = main_pid
    if status:
        state["STATUS"] = status
    return notify(state)


def stopping(status: str | None = None) -> bool:
    """STOPPING=1: the container is being stopped."""
    return notify({"STOPPING": 1, **({"STATUS": status} if status else {})})


def status(text: str) -> bool:
    """A free-form status line shown by ``systemctl status``."""
    return notify({"STATUS": text})
