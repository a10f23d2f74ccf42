"""Which translator an input needs, decided from its content, and the call to it.

``berth translate -f FILE`` accepts compose files, Kubernetes manifests (ContainerDeployment
resources included) and native specs, from files or stdin; the kind is detected, never given.
Only the translator that the input needs is imported, to keep the CLI's cold start short.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from translators import native
from translators.errors import Diagnostic, Diagnostics, InvalidSpec
from translators.paths import ROOT
from translators.result import Translation
from translators.yamlio import Document, load_documents

Kind = Literal["compose", "kubernetes", "native", "empty", "unknown"]
COMPOSE_KEYS = {"services", "networks", "volumes", "secrets", "configs", "name", "version", "include"}


@dataclass(frozen=True)
class InputFile:
    """A file to translate; ``text`` is given when it came from stdin (``path`` then names it)."""

    path: str
    text: str | None = None


@dataclass(frozen=True)
class Options:
    """What the caller decides: the translators read no globals."""

    env: Mapping[str, str] = field(default_factory=dict)
    env_files: Sequence[Path] = ()
    profiles: Sequence[str] = ()
    project_name: str | None = None
    project_dir: Path | None = None
    per_replica: bool = False


def classify(data: Any) -> Kind:
    """The kind of one parsed document; ``unknown`` when it fits none (see :func:`why_no_kind`)."""
    if data is None:
        return "empty"
    if isinstance(data, dict):
        if "apiVersion" in data or "kind" in data:
            return "kubernetes"
        if native.is_spec(data) or native.is_fragment(data):
            return "native"
        keys = {k for k in data if isinstance(k, str)}
        if keys & COMPOSE_KEYS or all(k.startswith("x-") for k in keys):
            return "compose"
    if isinstance(data, list) and data and all(native.is_spec(item) for item in data):
        return "native"
    return "unknown"


def why_no_kind(data: Any) -> tuple[str, tuple[str | int, ...]]:
    """Which kinds a document was tried as and why each did not fit, and the path it is about."""
    if isinstance(data, list):
        if not data:
            return ("matches no input kind: an empty list holds no deployment spec", ())
        bad = next((i for i, item in enumerate(data) if not native.is_spec(item)), 0)
        return (
            f"matches no input kind: a list is read only as deployment specs, and item {bad} is not "
            "one (no image); compose files and Kubernetes objects are mappings",
            (bad,),
        )
    if not isinstance(data, dict):
        return (
            f"matches no input kind: {data!r} is a {type(data).__name__}, and compose files, "
            "Kubernetes objects and deployment specs are mappings",
            (),
        )
    keys = ", ".join(repr(k) for k in list(data)[:3]) + (", ..." if len(data) > 3 else "")
    return (
        "matches no input kind: not a compose file (none of the top-level keys "
        f"{', '.join(sorted(COMPOSE_KEYS - {'version'}))}), not a Kubernetes object (no apiVersion "
        "or kind), not a deployment spec (no image) nor a spec's configuration fragment (only config); "
        f"its keys are {keys}",
        (),
    )


def _read(inputs: Sequence[InputFile]) -> list[Document]:
    docs: list[Document] = []
    errors: list[Diagnostic] = []
    for item in inputs:
        try:
            if item.text is not None:
                docs.extend(load_documents(item.text, item.path))
            else:
                with open(item.path, encoding="utf-8") as fh:
                    docs.extend(load_documents(fh.read(), item.path))
        except InvalidSpec as exc:
            errors.extend(exc.diagnostics)
        except FileNotFoundError:
            errors.append(Diagnostic("file not found", "", item.path, code="not-found"))
        except (OSError, UnicodeDecodeError) as exc:
            errors.append(Diagnostic(f"cannot read file: {exc}", "", item.path))
    if errors:
        raise InvalidSpec(errors)
    return docs


def translate(inputs: Sequence[InputFile], options: Options | None = None) -> Translation:
    """Translate inputs of one kind into specs; mixing kinds is an error naming the files."""
    options = options or Options()
    docs = _read(inputs)
    unknown = [d for d in docs if classify(d.data) == "unknown"]
    if unknown:
        reasons = [(d, *why_no_kind(d.data)) for d in unknown]
        raise InvalidSpec(
            [Diagnostic(why, "", d.file, d.lines.get(at) or d.lines.get(())) for d, why, at in reasons]
        )
    kinds = {classify(d.data) for d in docs} - {"empty"}
    if not kinds:
        raise InvalidSpec([Diagnostic("no document to translate", "", inputs[0].path if inputs else None)])
    if len(kinds) > 1:
        by_kind = {k: sorted({d.file for d in docs if classify(d.data) == k}) for k in kinds}
        listing = "; ".join(f"{k}: {', '.join(files)}" for k, files in sorted(by_kind.items()))
        raise InvalidSpec([Diagnostic(f"inputs of different kinds cannot be combined ({listing})")])
    kind = kinds.pop()
    if kind == "native":
        return native.load(docs, project_name=options.project_name or "default")
    if kind == "kubernetes":
        return _kubernetes(docs)
    return _compose(inputs, options)


def _kubernetes(docs: list[Document]) -> Translation:
    """Kubernetes objects; ContainerDeployment resources are read by the CRD loader."""
    from translators.crd import convert, models

    ours = [d for d in docs if isinstance(d.data, dict) and d.data.get("apiVersion") == models.API_VERSION]
    others = [d for d in docs if d not in ours and d.data is not None]
    if others:
        kubernetes: Any = importlib.import_module("translators.kubernetes")
        result: Translation = kubernetes.translate(others)
    else:
        from translators.spec.project import Project

        result = Translation("crd", [], Project(name="default"))
    errors = Diagnostics()
    for doc in ours:
        diag = Diagnostics(file=doc.file, lines=doc.lines)
        targeted = convert.from_resource(doc.data, diag, ROOT)
        if targeted is not None:
            result.specs.append(targeted.spec)
            result.project.order.append(targeted.spec.name)
        errors.extend(diag)
    errors.raise_if_errors()
    result.warnings.extend(errors.warnings)
    return result


def _compose(inputs: Sequence[InputFile], options: Options) -> Translation:
    compose: Any = importlib.import_module("translators.compose")
    files = [compose.ComposeFile(Path(i.path), i.text) for i in inputs]
    project = compose.load(
        files,
        env=options.env,
        env_files=options.env_files,
        profiles=options.profiles,
        project_name=options.project_name,
        project_dir=options.project_dir,
        per_replica=options.per_replica,
    )
    result: Translation = project.translation
    return result
