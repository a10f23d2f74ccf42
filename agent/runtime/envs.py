"""The process environment: the image's, overlaid by the spec's, plus what docker always sets.

Spec values may hold ``${VAR}``, ``${VAR:-default}`` (and the other compose forms) and ``$$`` for a
literal dollar: they are resolved here, when the container starts, from the environment of the
process that starts it, and never written back to the store. A reference to an unset variable
without a default is an error naming it; a bare ``KEY`` takes the starter's value of KEY and is
left out when that is unset (docker compose's rule).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from agent.runtime.configerrors import BundleError
from translators.compose import template

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def resolve_value(key: str, value: str, environ: Mapping[str, str], *, container: str) -> str:
    """One spec value with its variables substituted from ``environ``."""

    def unset(name: str) -> None:
        raise BundleError(
            f"{container}: environment variable {key} refers to ${{{name}}}, which is not set "
            f"where the container starts (set it, or write ${{{name}:-default}})"
        )

    try:
        return template.substitute(value, environ.get, unset)
    except template.TemplateError as exc:
        raise BundleError(f"{container}: environment variable {key}: {exc}") from None


def resolve_spec_env(entries: Sequence[str], environ: Mapping[str, str], *, container: str) -> dict[str, str]:
    """The spec's ``KEY=VALUE`` entries resolved, in order (a later KEY wins)."""
    out: dict[str, str] = {}
    for entry in entries:
        key, sep, value = entry.partition("=")
        if not sep:
            if key in environ:
                out[key] = environ[key]
            continue
        out[key] = resolve_value(key, value, environ, container=container)
    return out


def as_mapping(entries: Sequence[str]) -> dict[str, str]:
    """Literal ``KEY=VALUE`` entries (an image's Env) as a mapping; a bare KEY is an empty value."""
    out: dict[str, str] = {}
    for entry in entries:
        key, _, value = entry.partition("=")
        if key:
            out[key] = value
    return out


def build(
    image_env: Sequence[str],
    spec_env: Sequence[str],
    environ: Mapping[str, str],
    *,
    container: str,
    hostname: str,
    home: str,
    tty: bool,
) -> list[str]:
    """The final ``KEY=VALUE`` list: image env, spec env over it, then docker's defaults for what
    neither set (PATH, HOSTNAME, HOME, and TERM=xterm with a terminal)."""
    env = as_mapping(image_env)
    env.update(resolve_spec_env(spec_env, environ, container=container))
    env.setdefault("PATH", DEFAULT_PATH)
    env.setdefault("HOSTNAME", hostname)
    env.setdefault("HOME", home)
    if tty:
        env.setdefault("TERM", "xterm")
    return [f"{k}={v}" for k, v in env.items()]
