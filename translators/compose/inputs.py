"""What a compose load reads: the ``-f`` files, the project name rule, and a record of every input.

A load is a pure function of what it reads: the text of the compose files (and of the files they
include or extend, the ``.env`` and ``env_file`` files), whether optional files exist, and the
values of the environment variables it looks up. Inside :func:`recording`, the loader notes each
of them in an :class:`Inputs`, so that a caller can tell later, by reading the same files and
variables again, that a new load would give the same result (``berth compose`` uses it to
recognise an unchanged project without building the spec validators). Outside of it nothing is
noted and nothing changes.

This module imports nothing heavy: ``berth compose ps`` uses the name rule without the loader.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_INVALID_NAME_CHARS = re.compile(r"[^a-z0-9_-]")


@dataclass(frozen=True)
class ComposeFile:
    """One ``-f`` file; ``text`` is given when it was read elsewhere (stdin), ``path`` then names it."""

    path: Path
    text: str | None = None


def normalise_project_name(name: str) -> str:
    """Lowercase with characters other than ``a-z 0-9 _ -`` removed, starting with a letter or digit."""
    return _INVALID_NAME_CHARS.sub("", name.lower()).lstrip("_-")


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class Inputs:
    """Everything one load read. ``whole_env`` is set when it read the environment as a whole
    (an ``include`` passes it on): then every variable counts."""

    files: dict[str, str | None] = field(default_factory=dict)
    """Path -> sha256 of its text, None when it could not be read."""
    exists: dict[str, bool] = field(default_factory=dict)
    """Path -> whether it was a file when the loader asked."""
    env: dict[str, str | None] = field(default_factory=dict)
    """Variable -> sha256 of its value in the process environment, None when unset (values may
    be secrets: they are compared, never kept)."""
    whole_env: bool = False
    given: set[str] = field(default_factory=set)
    """Files whose text the caller gave (stdin): they cannot be read again."""

    def to_json(self) -> dict[str, Any]:
        return {"files": self.files, "exists": self.exists, "env": self.env, "whole_env": self.whole_env}

    @property
    def repeatable(self) -> bool:
        """Whether the same inputs can be read again to compare (no stdin)."""
        return not self.given

    @staticmethod
    def unchanged(data: Mapping[str, Any], environ: Mapping[str, str]) -> bool:
        """Whether reading the inputs recorded in ``data`` (:meth:`to_json`) now gives the same."""
        try:
            if data["whole_env"]:
                return False
            for name, sha in data["env"].items():
                value = environ.get(name)
                if (digest(value) if value is not None else None) != sha:
                    return False
            for path, was in data["exists"].items():
                if os.path.isfile(path) != was:
                    return False
            for path, sha in data["files"].items():
                try:
                    now: str | None = digest(Path(path).read_text(encoding="utf-8"))
                except (OSError, UnicodeDecodeError):
                    now = None
                if now != sha:
                    return False
        except (KeyError, TypeError, AttributeError):
            return False
        return True


_ACTIVE: ContextVar[Inputs | None] = ContextVar("berth_compose_inputs", default=None)


@contextlib.contextmanager
def recording() -> Iterator[Inputs]:
    """Note what loads in this context read."""
    inputs = Inputs()
    token = _ACTIVE.set(inputs)
    try:
        yield inputs
    finally:
        _ACTIVE.reset(token)


def read_file(path: str, text: str | None) -> None:
    """The loader read ``path`` (``text`` None: it could not)."""
    inputs = _ACTIVE.get()
    if inputs is not None:
        inputs.files[path] = digest(text) if text is not None else None


def given_file(path: str) -> None:
    """The loader was given the text of ``path`` (stdin)."""
    inputs = _ACTIVE.get()
    if inputs is not None:
        inputs.given.add(path)


def is_file(path: str) -> bool:
    """``os.path.isfile``, noted."""
    found = os.path.isfile(path)
    inputs = _ACTIVE.get()
    if inputs is not None:
        inputs.exists[path] = found
    return found


class _WatchedEnv(Mapping[str, str]):
    """The project environment (``environ`` over ``fallback``, the ``.env`` values) noting each
    variable looked up in ``environ``; iterating it notes the whole environment."""

    def __init__(self, environ: Mapping[str, str], fallback: Mapping[str, str], inputs: Inputs) -> None:
        self._environ = environ
        self._fallback = fallback
        self._inputs = inputs

    def __getitem__(self, key: str) -> str:
        value = self._environ.get(key)
        self._inputs.env[key] = digest(value) if value is not None else None
        if value is not None:
            return value
        return self._fallback[key]

    def __iter__(self) -> Iterator[str]:
        self._inputs.whole_env = True
        return iter({**self._fallback, **self._environ})

    def __len__(self) -> int:
        self._inputs.whole_env = True
        return len({**self._fallback, **self._environ})


def project_env(environ: Mapping[str, str], dotenv: Mapping[str, str]) -> Mapping[str, str]:
    """The process environment over the ``.env`` values; watched while :func:`recording`."""
    inputs = _ACTIVE.get()
    if inputs is None:
        return {**dotenv, **environ}
    return _WatchedEnv(environ, dotenv, inputs)


def watched(environ: Mapping[str, str]) -> Mapping[str, str]:
    """``environ`` itself, watched while :func:`recording` (for the ``.env`` file's own lookups)."""
    inputs = _ACTIVE.get()
    if inputs is None:
        return environ
    return _WatchedEnv(environ, {}, inputs)
