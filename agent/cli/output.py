"""How the CLI prints: documents as JSON or YAML, diagnostics on stderr, exit codes.

Exit codes: 0 success, 1 an operation failed, 2 invalid input or usage (every problem listed).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any, NoReturn

import click
import yaml

from translators.errors import Diagnostic, InvalidSpec

EXIT_FAILED = 1
EXIT_INVALID = 2


try:  # libyaml's emitter: the same text, about five times faster (12 ms for two specs in Python)
    _BaseDumper: type[yaml.SafeDumper] = yaml.CSafeDumper  # type: ignore[assignment,unused-ignore]
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _BaseDumper = yaml.SafeDumper


class _Dumper(_BaseDumper):  # type: ignore[misc,valid-type,unused-ignore]
    """Block style, keys in model order, long strings not folded.

    Only a mapping key holding a line break (or the empty key) is written differently by libyaml
    than by PyYAML's Python emitter (``"a\\nb":`` where Python writes ``? "a\\nb"``); both read back
    as the same data."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump(value: Any, fmt: str) -> str:
    if fmt == "json":
        import json  # only for -o json

        return json.dumps(value, indent=2) + "\n"
    return yaml.dump(value, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=1000)


def dump_all(values: list[Any], fmt: str) -> str:
    if fmt == "json":
        import json

        return json.dumps(values[0] if len(values) == 1 else values, indent=2) + "\n"
    return yaml.dump_all(values, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=1000)


def warn(diagnostics: Iterable[Diagnostic]) -> None:
    for d in diagnostics:
        click.echo(str(d), err=True)


def fail_invalid(exc: InvalidSpec) -> NoReturn:
    """Print every error (and the warnings gathered before them) and exit 2."""
    warn(exc.warnings)
    for d in exc.diagnostics:
        click.echo(f"error: {d}", err=True)
    sys.exit(EXIT_INVALID)
