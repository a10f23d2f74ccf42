"""Relative paths made absolute against the directory they were written for.

Runs on each included or extended-from-another-file model against its own directory, and at the end
on the whole project against the project directory, as compose-go's ``ResolveRelativePaths`` does.
``~`` is the ``HOME`` of the given environment (never the process's), and Windows paths and URLs
are left alone. An absolute path keeps what the user wrote (``/srv/data/`` stays), a relative one is
joined and cleaned, as Docker Compose prints them.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

_WINDOWS = re.compile(r"^[A-Za-z]:[\\/]")
_REMOTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|git@|github\.com/)")


def absolute(path: str, base: str, home: str | None) -> str:
    """``path`` against ``base`` (already absolute), with ``~`` expanded."""
    if _WINDOWS.match(path) or _REMOTE.match(path):
        return path
    if home and (path == "~" or path.startswith("~/")):
        path = home + path[1:]
    if path.startswith("/"):
        return path  # as compose-go's absPath: an absolute path is kept as the user wrote it
    return posixpath.normpath(posixpath.join(base, path))


def resolve_service(service: dict[str, Any], base: str, home: str | None) -> None:
    """Make the service's build context, bind sources, env files and extends file absolute."""
    build = service.get("build")
    if isinstance(build, dict):
        ctx = build.get("context", ".")
        if isinstance(ctx, str):
            build["context"] = absolute(ctx, base, home)
        extra = build.get("additional_contexts")
        if isinstance(extra, dict):
            build["additional_contexts"] = {
                k: absolute(v, base, home) if isinstance(v, str) and "://" not in v and ":" not in v else v
                for k, v in extra.items()
            }
    for item in service.get("env_file") or []:
        if isinstance(item, dict) and isinstance(item.get("path"), str):
            item["path"] = absolute(item["path"], base, home)
    if isinstance(service.get("label_file"), list):
        service["label_file"] = [absolute(p, base, home) for p in service["label_file"] if isinstance(p, str)]
    for vol in service.get("volumes") or []:
        if isinstance(vol, dict) and vol.get("type") == "bind" and isinstance(vol.get("source"), str):
            vol["source"] = absolute(vol["source"], base, home)
    ext = service.get("extends")
    if isinstance(ext, dict) and isinstance(ext.get("file"), str):
        ext["file"] = absolute(ext["file"], base, home)


def resolve_model(model: dict[str, Any], base: str, home: str | None) -> None:
    """Every relative path of a (canonical) model, against ``base``."""
    for service in (model.get("services") or {}).values():
        if isinstance(service, dict):
            resolve_service(service, base, home)
    for section in ("secrets", "configs"):
        for item in (model.get(section) or {}).values():
            if isinstance(item, dict) and isinstance(item.get("file"), str):
                item["file"] = absolute(item["file"], base, home)
