"""The CustomResourceDefinition and the JSON Schema, generated from the spec models.

The pydantic models are the truth; this module only re-expresses their JSON Schema as a
Kubernetes *structural* schema: ``$ref`` inlined, ``anyOf`` with null turned into ``nullable``,
a number-or-string turned into ``x-kubernetes-int-or-string``, and a short-form-or-object union
narrowed to the object (the long form; the API server cannot validate unions of shapes).
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
_SCALARS = {"integer", "number", "string", "boolean"}


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


def _canonical_type(canon: Any) -> str | None:
    """The JSON type the model writes (serialization mode), ignoring null."""
    if not isinstance(canon, dict):
        return None
    if "type" in canon:
        return str(canon["type"])
    types = [o.get("type") for o in canon.get("anyOf", []) if o.get("type") != "null"]
    return str(types[0]) if len(types) == 1 else None


def _narrow(options: list[dict[str, Any]], canon: Any) -> dict[str, Any]:
    """One structural schema for a union of input forms: the form the model itself writes."""
    types = {o.get("type") for o in options}
    wanted = _canonical_type(canon)
    if types <= _SCALARS and len(options) > 1:
        # int-or-string admits no fractions: where the model writes a number, say number
        if wanted in ("number", "boolean"):
            return {"type": wanted}
        return {"x-kubernetes-int-or-string": True}
    for option in options:
        if option.get("type") == wanted:
            return option
    shaped = [o for o in options if o.get("type") in ("object", "array")]
    return shaped[0] if shaped else options[0]


def _child(canon: Any, key: str, name: str | None = None) -> Any:
    if not isinstance(canon, dict):
        return None
    options = [canon, *canon.get("anyOf", [])]
    for option in options:
        value = option.get(key)
        if value is None:
            continue
        if name is None:
            return value
        if isinstance(value, dict) and name in value:
            return value[name]
    return None


def _structural(node: Any, canon: Any) -> Any:
    if isinstance(node, list):
        return [_structural(v, canon) for v in node]
    if not isinstance(node, dict):
        return node
    node = dict(node)
    while "anyOf" in node:  # nested unions (an optional field of a union type) flatten step by step
        options = node.pop("anyOf")
        nullable = any(o.get("type") == "null" for o in options)
        rest = [o for o in options if o.get("type") != "null"]
        inner = rest[0] if len(rest) == 1 else _narrow(rest, canon)
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
        if key == "default" and value is None:
            continue
        if key == "properties":
            out[key] = {k: _structural(v, _child(canon, "properties", k)) for k, v in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = _structural(value, _child(canon, key))
        else:
            out[key] = value
    return out


def structural_schema(model: type[Any]) -> dict[str, Any]:
    """A model's validation-mode JSON Schema as a Kubernetes structural schema.

    Unions of input forms are narrowed to the form the model serialises, so what
    ``berth translate --to crd`` writes is always accepted by the API server.
    """
    docs.document(model)
    raw = model.model_json_schema(mode="validation")
    resolved = _resolve(raw, raw.get("$defs", {}))
    canon_raw = model.model_json_schema(mode="serialization")
    canon = _resolve(canon_raw, canon_raw.get("$defs", {}))
    result: dict[str, Any] = _structural(resolved, canon)
    return result


def crd() -> dict[str, Any]:
    """The ContainerDeployment CustomResourceDefinition."""
    spec_schema = structural_schema(models.ContainerDeploymentSpec)
    del spec_schema["properties"]["origin"]  # set from the resource's metadata, never written by users
    status_schema = structural_schema(models.ContainerDeploymentStatus)
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
                        {
                            "name": "Ready",
                            "type": "string",
                            "jsonPath": '.status.conditions[?(@.type=="Ready")].status',
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
