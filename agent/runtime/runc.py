"""Calling runc: one place that builds its command lines and turns its failures into one line.

runc reports errors as logrus lines on stderr (``time="..." level=error msg="..."``); a user
needs only the message, prefixed with the container it concerns.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agent.runtime.errors import ContainerNotFound, RuntimeFailure

RUNC = "/usr/sbin/runc"
_MSG = re.compile(r'msg="((?:[^"\\]|\\.)*)"')


def message(output: str) -> str:
    """The last error message of runc's (or conmon's) output, unquoted, on one line."""
    found = _MSG.findall(output)
    if found:
        text: str = json.loads(f'"{found[-1]}"') if "\\" in found[-1] else found[-1]
    else:
        lines = [line.strip() for line in output.splitlines() if line.strip()]
        text = lines[-1] if lines else "no message"
    return " ".join(text.split())


def run(root: Path, name: str, args: Sequence[str], *, timeout: float = 30.0) -> str:
    """``runc --root ROOT ARGS``: its stdout, or RuntimeFailure naming container ``name``."""
    argv = [RUNC, "--root", str(root), *args]
    try:
        done = subprocess.run(
            argv, check=False, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired as exc:
        raise RuntimeFailure(f"container {name}: runc {args[0]} did not answer within {timeout:g} s") from exc
    except OSError as exc:
        raise RuntimeFailure(f"container {name}: cannot run {RUNC}: {exc.strerror}") from exc
    if done.returncode != 0:
        text = message(done.stderr or done.stdout)
        if "does not exist" in text or "not exist" in text:
            raise ContainerNotFound(f"container {name}: runc {args[0]}: {text}")
        raise RuntimeFailure(f"container {name}: runc {args[0]}: {text}")
    return done.stdout


def state(root: Path, name: str) -> dict[str, Any] | None:
    """runc's state of container ``name`` (status created/running/paused/stopped), None if unknown to runc."""
    try:
        out = run(root, name, ["state", name])
    except ContainerNotFound:
        return None
    value: dict[str, Any] = json.loads(out)
    return value


def exists(root: Path, name: str) -> bool:
    return (root / name / "state.json").exists()
