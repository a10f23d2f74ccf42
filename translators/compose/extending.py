"""Phase 6: ``extends``: a service starts from another one, in the same file or another file.

The base is resolved first (recursively), then the service is merged onto it with the merge rules
of :mod:`translators.compose.merging`. A base from another file has its relative paths resolved
against that file's directory before the merge. A chain that comes back to a service it already
visited is an error naming the whole chain.
"""

from __future__ import annotations

import copy
import posixpath
from collections.abc import Callable
from typing import Any

from translators.compose import merging, paths
from translators.compose.reporting import Report
from translators.paths import YamlPath

# Loads another file's canonical model (its own extends applied), or None when it failed.
LoadFile = Callable[[str], "dict[str, Any] | None"]


def apply_extends(
    model: dict[str, Any], file: str, report: Report, load_file: LoadFile, home: str | None
) -> dict[str, Any]:
    """``model`` with every service's ``extends`` resolved and removed."""
    services = model.get("services")
    if not isinstance(services, dict):
        return model
    done: dict[str, Any] = {}

    def resolve(name: str, chain: list[tuple[str, str]]) -> Any:
        if name in done:
            return done[name]
        service = services.get(name)
        if not isinstance(service, dict) or not isinstance(service.get("extends"), dict):
            done[name] = service
            return service
        at = YamlPath(("services", name, "extends"))
        ext = service["extends"]
        base_name = ext.get("service")
        base_file = ext.get("file")
        if (file, name) in chain:
            names = " extends ".join(n for _, n in [*chain, (file, name)])
            report.error(at, f"Circular reference: {names}", file=file)
            return {k: v for k, v in service.items() if k != "extends"}
        if not isinstance(base_name, str):
            report.error(at / "service", "extends needs the name of a service", file=file)
            return service
        if isinstance(base_file, str):
            target = paths.absolute(base_file, posixpath.dirname(file), home)
            if target == file:
                base = resolve(base_name, [*chain, (file, name)])
            else:
                base = _from_other_file(
                    target,
                    base_name,
                    at=at,
                    report=report,
                    load_file=load_file,
                    chain=[*chain, (file, name)],
                    file=file,
                )
        elif base_name in services:
            base = resolve(base_name, [*chain, (file, name)])
        else:
            report.error(at, f'cannot extend service "{name}": service "{base_name}" not found', file=file)
            base = None
        own = {k: v for k, v in service.items() if k != "extends"}
        merged = own if not isinstance(base, dict) else merging.merge(copy.deepcopy(base), own, at.parent)
        done[name] = merged
        return merged

    out = dict(services)
    for name in services:
        out[name] = resolve(name, [])
    return {**model, "services": out}


def _from_other_file(
    target: str,
    base_name: str,
    *,
    at: YamlPath,
    report: Report,
    load_file: LoadFile,
    chain: list[tuple[str, str]],
    file: str,
) -> Any:
    if (target, base_name) in chain:
        names = " extends ".join(n for _, n in [*chain, (target, base_name)])
        report.error(at, f"Circular reference: {names}", file=file)
        return None
    other = load_file(target)
    if other is None:
        return None
    services = other.get("services")
    if not isinstance(services, dict):
        report.error(at, f'cannot extend service "{base_name}" in {target}: no services section', file=file)
        return None
    base = services.get(base_name)
    if not isinstance(base, dict):
        report.error(at, f'cannot extend service "{base_name}" in {target}: service not found', file=file)
        return None
    base = copy.deepcopy(base)
    paths.resolve_service(base, posixpath.dirname(target), None)
    return base
