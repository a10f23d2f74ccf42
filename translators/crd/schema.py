"""The CustomResourceDefinition and the JSON Schema, generated from the spec models.

The pydantic models are the truth; this module only re-expresses their JSON Schema as a
Kubernetes *structural* schema: ``$ref`` inlined, ``anyOf`` with null turned into ``nullable``,
no ``default`` (the models give them meaning, the server would write them into stored objects),
an integer-or-string turned into ``x-kubernetes-int-or-string``, and any other union of input forms
(short strings, lists, objects) into a node that keeps what it is given while still describing the
long form (structural schemas have one type per node; the agent reports what the server could not
check as ``InvalidSpec``).
A test regenerates both files and fails when the checked-in copies are stale.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from translators.crd import models
from translators.spec import docs
from translators.spec.deployment import DeploymentSpec

_DROP = {"title", "additionalProperties_false", "$defs"}


def _resolve(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            target = defs[node["$ref"].rsplit("/", 1)[1]]
            merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
            return _resolve(merged, defs)
        return {k: _resolve(v, defs) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, defs) for v in node]
    return node


def _union(options: list[dict[str, Any]]) -> dict[str, Any]:
    """One structural schema admitting every input form of a union, as the API server allows them.

    A structural schema has one type per node, so: integer-or-string is ``x-kubernetes-int-or-string``;
    any other union (a number or a duration string, a list or a shell string, an object or its short
    form) is a node without type that keeps what it is given (``x-kubernetes-preserve-unknown-fields``),
    still describing the long form's fields (checked when an object is given) and a list's items. The
    server then stores every form the spec accepts; the agent's translation reports the rest as
    ``InvalidSpec``. No form the models accept is refused, and no refused form is described.
    """
    types = {o.get("type") for o in options}
    if types <= {"integer", "string"}:
        return {"x-kubernetes-int-or-string": True}
    node: dict[str, Any] = {"x-kubernetes-preserve-unknown-fields": True}
    properties: dict[str, Any] = {}
    for option in options:
        for key, value in (option.get("properties") or {}).items():
            properties.setdefault(key, value)
    if properties:
        node["properties"] = properties
    else:
        maps = [o["additionalProperties"] for o in options if isinstance(o.get("additionalProperties"), dict)]
        if maps:
            node["additionalProperties"] = maps[0]
    lists = [o["items"] for o in options if o.get("type") == "array" and isinstance(o.get("items"), dict)]
    if lists:
        node["items"] = lists[0]
    return node


def _structural(node: Any) -> Any:
    if isinstance(node, list):
        return [_structural(v) for v in node]
    if not isinstance(node, dict):
        return node
    node = dict(node)
    while "anyOf" in node:  # nested unions (an optional field of a union type) flatten step by step
        options = node.pop("anyOf")
        nullable = any(o.get("type") == "null" for o in options)
        rest = [o for o in options if o.get("type") != "null"]
        inner = rest[0] if len(rest) == 1 else _union(rest)
        node = {**inner, **node}
        if nullable:
            node["nullable"] = True
    if "const" in node:
        node["enum"] = [node.pop("const")]
    for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if bound in node and not isinstance(node[bound], bool):
            node[plain] = node.pop(bound)
            node[bound] = True
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROP or (key == "additionalProperties" and value is False):
            continue
        if key == "default":
            # the models apply their defaults: the server must not, since an absent key can mean
            # something (a volume without type is a bind mount when its source is a path)
            continue
        if key == "properties":
            out[key] = {k: _structural(v) for k, v in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = _structural(value)
        else:
            out[key] = value
    if out.get("x-kubernetes-preserve-unknown-fields") and "type" not in out:
        for key in ("required", "enum", "minimum", "maximum", "pattern", "minLength", "maxLength"):
            out.pop(key, None)  # they would apply to forms they were not written for
    return out


def structural_schema(model: type[Any]) -> dict[str, Any]:
    """A model's validation-mode JSON Schema as a Kubernetes structural schema.

    Every input form of a union is admitted (:func:`_union`), so both what ``berth translate --to
    crd`` writes and what users write by hand in the spec's short forms are accepted by the server.
    """
    docs.document(model)
    raw = model.model_json_schema(mode="validation")
    resolved = _resolve(raw, raw.get("$defs", {}))
    result: dict[str, Any] = _structural(resolved)
    return result


def crd() -> dict[str, Any]:
    """The ContainerDeployment CustomResourceDefinition."""
    spec_schema = structural_schema(models.ContainerDeploymentSpec)
    del spec_schema["properties"]["origin"]  # set from the resource's metadata, never written by users
    status_schema = structural_schema(models.ContainerDeploymentStatus)
    # one entry per node and one condition per type, so that every node's agent applies its own
    # entry with its own field manager (server-side apply) and no node overwrites another's
    status_schema["properties"]["nodes"] |= {
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["nodeName"],
    }
    for conditions in (
        status_schema["properties"]["conditions"],
        status_schema["properties"]["nodes"]["items"]["properties"]["conditions"],
    ):
        conditions |= {"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]}
    for schema, doc in ((spec_schema, "Desired state."), (status_schema, "Observed state.")):
        schema["description"] = doc
    root = {
        "type": "object",
        "description": str(models.ContainerDeployment.__doc__).strip(),
        "properties": {
            "apiVersion": {"type": "string", "description": "berth.io/v1alpha1."},
            "kind": {"type": "string", "description": "ContainerDeployment."},
            "metadata": {"type": "object"},
            "spec": spec_schema,
            "status": status_schema,
        },
        "required": ["spec"],
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{models.PLURAL}.{models.GROUP}"},
        "spec": {
            "group": models.GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": models.KIND,
                "listKind": f"{models.KIND}List",
                "plural": models.PLURAL,
                "singular": models.KIND.lower(),
                "shortNames": ["cdep"],
                "categories": ["berth"],
            },
            "versions": [
                {
                    "name": models.VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [
                        {"name": "Image", "type": "string", "jsonPath": ".spec.image"},
                        {"name": "Ready", "type": "string", "jsonPath": ".status.readyNodes"},
                        {
                            "name": "Status",
                            "type": "string",
                            "jsonPath": '.status.conditions[?(@.type=="Ready")].reason',
                        },
                        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                    ],
                    "schema": {"openAPIV3Schema": root},
                }
            ],
        },
    }


def crd_yaml() -> str:
    header = "# Generated from translators/spec by `berth schema --crd`; do not edit by hand.\n"
    return header + yaml.safe_dump(crd(), sort_keys=False, width=100)


def json_schema() -> dict[str, Any]:
    """The native deployment spec's JSON Schema (input forms included)."""
    docs.document(DeploymentSpec)
    schema = DeploymentSpec.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://berth.io/schemas/deployment-spec.json",
        **schema,
    }


def json_schema_text() -> str:
    return json.dumps(json_schema(), indent=2, sort_keys=False) + "\n"
