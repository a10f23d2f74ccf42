"""Phases 1 and 2: read a compose file as YAML 1.2 (as yaml.v3 does) and make every key a string.

Several documents in one file are merged in order, as compose-go does. Line numbers of every path
are registered with the :class:`Report` so later phases can place their findings.
"""

from __future__ import annotations

from typing import Any

from translators.compose import inputs, merging
from translators.compose.reporting import Report
from translators.errors import InvalidSpec
from translators.paths import YamlPath
from translators.yamlio import Override, Reset, load_documents


def read_text(path: str, report: Report, *, what: str = "compose file") -> str | None:
    """The text of ``path`` (noted as an input of the load), None and an error if it cannot be read."""
    text: str | None = None
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        report.error(None, f"{what} not found: {path}", file=path, code="not-found")
    except (OSError, UnicodeDecodeError) as exc:
        report.error(None, f"cannot read {what}: {exc}", file=path)
    inputs.read_file(path, text)
    return text


def parse(text: str, file: str, report: Report) -> dict[str, Any] | None:
    """The merged documents of one file as a mapping, or None (and an error) when it is not one."""
    if "$" in text:
        report.dollars = True
    if "!reset" in text or "!override" in text:
        report.tagged = True
    try:
        docs = load_documents(text, file, core_schema=True)
    except InvalidSpec as exc:
        report.diag.absorb(exc)
        return None
    model: dict[str, Any] = {}
    found = False
    for doc in docs:
        report.register(file, doc.lines)
        for path, _line, first in doc.duplicates:
            report.error(
                YamlPath(path),
                f'mapping key "{path[-1]}" already defined at line {first}',
                file=file,
            )
        if doc.data is None:
            continue
        if not isinstance(doc.data, dict):
            report.error(None, "Top-level object must be a mapping", file=file)
            return None
        found = True
        data = keys_to_str(doc.data, YamlPath(), report, file)
        model = data if not model else merging.merge(model, data)
    if not found:
        return {}
    return model


def keys_to_str(value: Any, path: YamlPath, report: Report, file: str) -> Any:
    """Mapping keys as strings (``1`` is ``"1"``, ``true`` is ``"true"``); a null key is an error.

    Every container is rebuilt, so values a YAML alias shared are separate afterwards and later
    phases may change them in place.
    """
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key is None:
                report.error(path, "a mapping key cannot be null", file=file)
                continue
            if isinstance(key, bool):
                name = "true" if key else "false"
            elif isinstance(key, str):
                name = key
            elif isinstance(key, int | float):
                name = str(key)
            else:
                report.error(path, f"non-string key {key!r}", file=file)
                continue
            out[name] = keys_to_str(item, path / name, report, file)
        return out
    if isinstance(value, list):
        return [keys_to_str(v, path / i, report, file) for i, v in enumerate(value)]
    if isinstance(value, Override):
        return Override(keys_to_str(value.value, path, report, file))
    if isinstance(value, Reset):
        return value
    return value
