"""The Kubernetes translator's phases, in the order they run.

1. flatten ``List`` documents and skip empty ones (:mod:`.loading`);
2. read each object's header (apiVersion, kind, metadata) and look its kind up (:mod:`.registry`);
   kinds not applied are listed in ``Project.not_applied`` with a warning;
3. check that the objects share one namespace: it names the project;
4. read ConfigMaps, Secrets and claims into a store (:mod:`.objects`);
5. turn each workload into its pod template (:mod:`.workloads`), and each pod into specs
   (:mod:`.pods`, which uses :mod:`.containers`, :mod:`.env`, :mod:`.volumes`, :mod:`.probes`,
   :mod:`.security`, :mod:`.resources`);
6. apply Services to the pods they select (:mod:`.services`);
7. bind every spec and the project to the pydantic models, then raise every error at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from translators.errors import Diagnostics
from translators.kubernetes import containers as ctrs
from translators.kubernetes import loading, objects, pods, registry, reporting, services, versions
from translators.kubernetes.objects import Obj, Store
from translators.kubernetes.reporting import ObjectDiagnostics
from translators.paths import YamlPath
from translators.result import Translation
from translators.spec import DeploymentSpec
from translators.spec.project import Project
from translators.validation import bind
from translators.yamlio import Document

META = YamlPath.of("metadata")


def _diagnostics(doc: Document, label: str) -> ObjectDiagnostics:
    where = f"document {doc.index + 1}"
    prefix: tuple[str | int, ...] = ()
    if isinstance(doc, loading.ListItem):
        where += f", items[{doc.item}]"
        prefix = ("items", doc.item)
    text = f"{label} ({where})" if label else where
    return ObjectDiagnostics(file=doc.file, lines=doc.lines, label=text, prefix=prefix)


def _header(doc: Document, default_namespace: str) -> Obj | ObjectDiagnostics:
    """The object in a document, or the diagnostics saying why there is none."""
    data = doc.data
    if not isinstance(data, dict):
        diag = _diagnostics(doc, "")
        diag.error(None, f"expected a Kubernetes object (a mapping), got {reporting.type_name(data)}")
        return diag
    kind = data.get("kind")
    api_version = data.get("apiVersion")
    meta = data.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    label = f"{kind if isinstance(kind, str) else '?'}/{name if isinstance(name, str) else '?'}"
    diag = _diagnostics(doc, label)
    body = reporting.mapping(data, YamlPath(), diag)
    kind = reporting.string(body.get("kind"), YamlPath.of("kind"), diag, required=True)
    api_version = reporting.string(body.get("apiVersion"), YamlPath.of("apiVersion"), diag, required=True)
    meta = reporting.mapping(body.get("metadata"), META, diag)
    name = reporting.string(meta.get("name"), META / "name", diag, required=True)
    namespace = reporting.string(meta.get("namespace"), META / "namespace", diag) or default_namespace
    if kind is not None and kind.endswith("List") and "items" in body:
        diag.error(
            YamlPath.of("items"), f"expected a list of objects, got {reporting.type_name(body['items'])}"
        )
        return diag
    if kind is None or api_version is None or name is None:
        return diag
    return Obj(api_version, kind, name, namespace, body, diag)


def _namespace(objs: list[Obj], default_namespace: str) -> str:
    spaces = list(dict.fromkeys(o.namespace for o in objs if o.kind != "Namespace"))
    if len(spaces) > 1:
        for obj in objs:
            if obj.namespace != spaces[0] and obj.kind != "Namespace":
                obj.diag.error(
                    META / "namespace",
                    f"objects are in several namespaces ({', '.join(spaces)}): "
                    "translate one namespace at a time",
                )
    return spaces[0] if spaces else default_namespace


def _store(objs: list[Obj]) -> Store:
    store = Store()
    for obj in objs:
        if obj.kind == "PersistentVolumeClaim":
            store.claims[obj.name] = objects.read_claim(obj)
            continue
        source = objects.read_config_map(obj) if obj.kind == "ConfigMap" else objects.read_secret(obj)
        table = store.config_maps if obj.kind == "ConfigMap" else store.secrets
        table[obj.name] = source
    return store


def translate(documents: Sequence[Document], *, default_namespace: str = "default") -> Translation:
    """Translate Kubernetes manifests into one spec per container; raise InvalidSpec listing every error.

    Pure: reads nothing but its arguments. ``default_namespace`` is the namespace of objects that
    do not name one, as ``kubectl apply -n`` gives it.
    """
    everything = Diagnostics()
    diags: list[Diagnostics] = [everything]
    objs: list[Obj] = []
    not_applied: list[str] = []
    seen: dict[tuple[str, str, str], Obj] = {}
    for doc in loading.flatten(documents):
        found = _header(doc, default_namespace)
        if isinstance(found, ObjectDiagnostics):
            diags.append(found)
            continue
        diags.append(found.diag)
        key = (found.kind, found.namespace, found.name)
        if key in seen:
            found.diag.error(META / "name", f"{found.ref} is defined twice")
            continue
        seen[key] = found
        if registry.lookup(found.api_version, found.kind) is None:
            found.diag.warn(
                YamlPath.of("kind"),
                registry.reason_not_applied(found.api_version, found.kind),
                code="not-applied",
            )
            not_applied.append(found.ref)
            continue
        old = versions.deprecation(found.api_version, found.kind)
        if old is not None:
            found.diag.warn(YamlPath.of("apiVersion"), old, code="deprecated")
        objs.append(found)
    objs.sort(key=lambda o: _kind(o).rank)
    namespace = _namespace(objs, default_namespace)
    store = _store([o for o in objs if _kind(o).category == "reference"])
    translated: list[pods.Pod] = []
    for obj in objs:
        handler = _kind(obj).handler
        if handler is None:
            continue
        template = handler(obj)
        if obj.not_applied:
            not_applied.append(obj.ref)
        if template is not None:
            translated.append(pods.translate_pod(obj, template, store, obj.namespace))
    for obj in objs:
        if _kind(obj).category == "service" and not services.apply_service(obj, translated):
            not_applied.append(obj.ref)
    specs = _bind_specs(translated)
    project = _project(namespace, translated, store, not_applied, everything)
    for diag in diags[1:]:
        everything.extend(diag)
    everything.raise_if_errors()
    if project is None:  # pragma: no cover - an unbound project always comes with an error
        raise AssertionError("project not bound")
    return Translation("kubernetes", specs, project, list(everything.warnings))


def _kind(obj: Obj) -> registry.Kind:
    kind = registry.lookup(obj.api_version, obj.kind)
    if kind is None:  # pragma: no cover - unknown kinds were set aside
        raise KeyError(obj.ref)
    return kind


def _bind_specs(translated: list[pods.Pod]) -> list[DeploymentSpec]:
    specs: list[DeploymentSpec] = []
    names: set[str] = set()
    for pod in translated:
        for container, data in zip(pod.containers, pod.specs, strict=True):
            at = container.at
            if data["name"] in names:
                pod.obj.diag.error(
                    at / "name", f"spec name {data['name']!r} is used by another object's container"
                )
                continue
            names.add(data["name"])

            spec = bind(DeploymentSpec, data, pod.obj.diag, at=at, path_map=origins(pod, container))
            if spec is not None:
                specs.append(spec)
    return specs


def origins(pod: pods.Pod, container: ctrs.Container) -> Callable[[tuple[str | int, ...]], YamlPath]:
    """Spec locations -> the manifest's paths: the container's own keys, then the pod's."""
    pod_origins = pods.config_origins(pod.template)

    def where(loc: tuple[str | int, ...]) -> YamlPath:
        if loc[:2] in pod_origins:
            return pod_origins[loc[:2]]
        return container.origin(loc)

    return where


def _project(
    namespace: str, translated: list[pods.Pod], store: Store, not_applied: list[str], diag: Diagnostics
) -> Project | None:
    volumes: dict[str, Any] = {}
    for name, size in store.claims.items():
        volumes[name] = {"name": name, **({"size": size} if size is not None else {})}
    for pod in translated:
        for name, size in pod.named_volumes.items():
            volumes.setdefault(name, {"name": name, **({"size": size} if size is not None else {})})
    bridged = any(not p.host_network for p in translated)
    data: dict[str, Any] = {
        "name": namespace,
        "networks": {pods.NETWORK: {"name": f"{namespace}_{pods.NETWORK}"}} if bridged else {},
        "volumes": volumes,
        "order": [s["name"] for p in translated for s in p.specs],
        "not_applied": not_applied,
    }
    return bind(Project, data, diag, at=META / "namespace")
