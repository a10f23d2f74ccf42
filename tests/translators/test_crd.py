"""The ContainerDeployment CRD and the JSON Schema, generated from the spec models.

We test these aspects:
- the checked-in files in crds/ are exactly what the models generate (a stale CRD fails here);
- the CRD's schema is structural: every node has a type (or int-or-string), no $ref, anyOf,
  additionalProperties: false or null defaults, which the API server would reject;
- descriptions reach every property, so ``kubectl explain`` is useful;
- status subresource and printer columns Image/Ready/Age;
- ``to_resource`` output validates against the CRD's own schema and reads back to the same spec.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from tests.support.paths import ROOT
from translators.crd import convert, schema
from translators.errors import Diagnostics
from translators.spec import DeploymentSpec

CRD_FILE = ROOT / "crds" / "containerdeployments.berth.io.yaml"
SCHEMA_FILE = ROOT / "crds" / "deployment-spec.schema.json"


def test_checked_in_crd_is_current() -> None:
    assert CRD_FILE.read_text() == schema.crd_yaml(), "crds/ is stale: run `berth schema --crd > " + str(
        CRD_FILE
    )


def test_checked_in_json_schema_is_current() -> None:
    assert SCHEMA_FILE.read_text() == schema.json_schema_text(), (
        "run `berth schema > crds/deployment-spec.schema.json`"
    )


ALLOWED_KEYS = {
    "type", "description", "properties", "items", "additionalProperties", "required", "enum",
    "nullable", "pattern", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength",
    "maxLength", "minItems", "maxItems", "format", "x-kubernetes-int-or-string",
    "x-kubernetes-preserve-unknown-fields", "x-kubernetes-validations",
    "x-kubernetes-list-type", "x-kubernetes-list-map-keys",
}  # fmt: skip


def _walk(node: Any, path: str, problems: list[str]) -> None:
    if not isinstance(node, dict):
        return
    problems.extend(f"{path}: unknown schema key {key}" for key in set(node) - ALLOWED_KEYS)
    for banned in ("$ref", "anyOf", "oneOf", "allOf", "$defs", "title"):
        if banned in node:
            problems.append(f"{path}: has {banned}")
    if node.get("additionalProperties") is False:
        problems.append(f"{path}: additionalProperties false")
    if "default" in node and node["default"] is None:
        problems.append(f"{path}: null default")
    untyped = node.get("x-kubernetes-int-or-string") or node.get("x-kubernetes-preserve-unknown-fields")
    if "type" not in node and not untyped:
        problems.append(f"{path}: no type")
    if (
        "x-kubernetes-validations" in node
        and "type" not in node
        and not node.get("x-kubernetes-int-or-string")
    ):
        problems.append(f"{path}: CEL rules on a node CEL cannot see (no type)")
    if "properties" in node and "additionalProperties" in node:
        problems.append(f"{path}: properties with additionalProperties")
    for key, child in node.get("properties", {}).items():
        if (path.startswith("spec") or path.startswith("status")) and "description" not in child:
            problems.append(f"{path}.{key}: no description")
        _walk(child, f"{path}.{key}", problems)
    if isinstance(node.get("items"), dict):
        _walk(node["items"], f"{path}[]", problems)
    if isinstance(node.get("additionalProperties"), dict):
        _walk(node["additionalProperties"], f"{path}{{}}", problems)


def test_crd_is_structural_and_documented() -> None:
    crd = yaml.safe_load(CRD_FILE.read_text())
    version = crd["spec"]["versions"][0]
    root = version["schema"]["openAPIV3Schema"]
    problems: list[str] = []
    for key in ("spec", "status"):
        _walk(root["properties"][key], key, problems)
    assert problems == []
    assert version["subresources"] == {"status": {}}
    assert [c["name"] for c in version["additionalPrinterColumns"]] == ["Image", "Ready", "Status", "Age"]
    assert crd["metadata"]["name"] == "containerdeployments.berth.io"


def _validate(instance: Any, node: dict[str, Any], path: str, problems: list[str]) -> None:
    """A small OpenAPI v3 structural-schema check: types, enums, required keys, unknown keys."""
    if instance is None:
        if not node.get("nullable"):
            problems.append(f"{path}: null not allowed")
        return
    kind = node.get("type")
    if node.get("x-kubernetes-int-or-string"):
        ok = isinstance(instance, int | str) and not isinstance(instance, bool)
    elif kind is None and node.get("x-kubernetes-preserve-unknown-fields"):
        ok = True  # any form; the described fields are still checked when an object is given
    else:
        ok = {
            "object": isinstance(instance, dict),
            "array": isinstance(instance, list),
            "string": isinstance(instance, str),
            "integer": isinstance(instance, int) and not isinstance(instance, bool),
            "number": isinstance(instance, int | float) and not isinstance(instance, bool),
            "boolean": isinstance(instance, bool),
        }[str(kind)]
    if not ok:
        problems.append(f"{path}: {instance!r} is not {kind}")
        return
    if "enum" in node and instance not in node["enum"]:
        problems.append(f"{path}: {instance!r} not in {node['enum']}")
    if isinstance(instance, dict):
        props = node.get("properties")
        for key in node.get("required", []):
            if key not in instance:
                problems.append(f"{path}.{key}: required")
        for key, value in instance.items():
            if props is not None:
                if key not in props and not node.get("x-kubernetes-preserve-unknown-fields"):
                    problems.append(f"{path}.{key}: unknown field (would be pruned)")
                elif key in props:
                    _validate(value, props[key], f"{path}.{key}", problems)
            elif isinstance(node.get("additionalProperties"), dict):
                _validate(value, node["additionalProperties"], f"{path}.{key}", problems)
    if isinstance(instance, list) and isinstance(node.get("items"), dict):
        for i, item in enumerate(instance):
            _validate(item, node["items"], f"{path}[{i}]", problems)


RICH_SPEC: dict[str, Any] = {
    "name": "web_1",
    "image": "docker.io/library/nginx:1.25",
    "config": {
        "cmd": "nginx -g 'daemon off;'",
        "env": {"A": "1"},
        "ports": ["127.0.0.1:8080:80", "53:53/udp"],
        "volumes": ["/srv/www:/usr/share/nginx/html:ro", "cache:/var/cache/nginx"],
        "tmpfs": ["/run:size=16m"],
        "files": [{"target": "/etc/secret", "content": "s3cr3t", "secret": True, "mode": "0400"}],
        "resources": {"memory": "256M", "cpu": "500m", "pids": 100, "ulimits": {"nofile": 4096}},
        "security": {"readonly": True, "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}},
        "healthcheck": {"http_get": {"port": 80}, "interval": "10s"},
        "restart": "on-failure:5",
        "depends_on": ["db"],
        "stop_grace_period": "20s",
        "labels": {"tier": "front"},
    },
}


def test_to_resource_is_accepted_by_the_crd_and_reads_back() -> None:
    spec = DeploymentSpec.model_validate(RICH_SPEC)
    resource = convert.to_resource(spec, namespace="apps", node_selector={"role": "edge"})
    resource = json.loads(json.dumps(resource))
    crd = yaml.safe_load(CRD_FILE.read_text())
    root = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    problems: list[str] = []
    _validate(resource["spec"], root["properties"]["spec"], "spec", problems)
    assert problems == []
    assert resource["metadata"] == {"name": "web-1", "namespace": "apps"}
    diag = Diagnostics()
    targeted = convert.from_resource(resource, diag)
    assert diag.errors == []
    assert targeted is not None
    assert targeted.spec.name == "apps.web_1"  # the namespace keeps one name in two namespaces apart
    assert targeted.spec.origin is not None
    assert targeted.spec.origin.model_dump() == {
        "kind": "ContainerDeployment",
        "namespace": "apps",
        "name": "web-1",
        "uid": None,
    }
    assert [d.name for d in targeted.spec.config.depends_on] == ["apps.db"]  # of the same namespace
    update = {"name": spec.name, "origin": None, "config": spec.config}
    assert targeted.spec.model_copy(update=update) == spec
    again = convert.to_resource(targeted.spec, node_selector=targeted.node_selector)  # back as it was
    assert again == resource
    assert targeted.node_selector == {"role": "edge"}
    assert targeted.namespace == "apps"


def test_resource_errors_have_paths() -> None:
    diag = Diagnostics(file="cd.yaml")
    bad = {
        "apiVersion": "berth.io/v1alpha1",
        "kind": "ContainerDeployment",
        "metadata": {"name": "x"},
        "spec": {"image": "busybox", "config": {"ports": ["nope"]}, "nodeSelektor": {}},
    }
    assert convert.from_resource(bad, diag) is None
    assert sorted(d.path for d in diag.errors) == ["spec.config.ports[0]", "spec.nodeSelektor"]


def test_json_schema_admits_the_input_forms_the_models_accept() -> None:
    """`berth schema` must not reject what Berth accepts: every short form validates."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema.json_schema())
    example = yaml.safe_load((ROOT / "examples" / "specs" / "web.yaml").read_text())
    short_forms = {
        **RICH_SPEC,
        "config": {
            **RICH_SPEC["config"],
            "restart": "always",
            "healthcheck": {"test": ["CMD-SHELL", "true"], "interval": 5},
            "readiness": "true",
            "security": {"capabilities": ["NET_ADMIN"]},
            "network": {"dns": ["1.1.1.1"], "extra_hosts": ["a:1.2.3.4"]},
            "depends_on": {"db": {"condition": "healthy"}},
            "resources": {"ulimits": {"nofile": 1024, "nproc": {"soft": 1, "hard": 2}}},
            "labels": ["a=b"],
        },
    }
    for data in (RICH_SPEC, example, short_forms):
        DeploymentSpec.model_validate(data)
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]
        assert errors == []
    assert list(validator.iter_errors({"name": "a", "image": "b", "config": {"colour": 1}}))


def _resource(namespace: str | None, **meta: Any) -> dict[str, Any]:
    metadata = {"name": "web", **({"namespace": namespace} if namespace else {}), **meta}
    return {"apiVersion": "berth.io/v1alpha1", "kind": "ContainerDeployment", "metadata": metadata,
            "spec": {"image": "nginx:1"}}  # fmt: skip


def test_one_name_in_two_namespaces_is_two_deployments() -> None:
    diag = Diagnostics()
    found = [
        convert.from_resource(_resource(ns, uid=f"uid-{ns}"), diag) for ns in ("team-a", "team-b", "default")
    ]
    assert diag.errors == []
    specs = [t.spec for t in found if t is not None]
    assert [s.name for s in specs] == ["team-a.web", "team-b.web", "web"]  # default stays short
    assert [(s.origin.namespace, s.origin.name, s.origin.uid) for s in specs if s.origin] == [
        ("team-a", "web", "uid-team-a"),
        ("team-b", "web", "uid-team-b"),
        ("default", "web", "uid-default"),
    ]


def test_origin_is_not_written_by_users_of_the_resource() -> None:
    diag = Diagnostics(file="cd.yaml")
    bad = _resource("x")
    bad["spec"]["origin"] = {"kind": "Pod", "name": "p"}
    assert convert.from_resource(bad, diag) is None
    assert [d.path for d in diag.errors] == ["spec"]
    crd = yaml.safe_load(CRD_FILE.read_text())
    assert (
        "origin"
        not in crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    )


def test_references_to_other_deployments_stay_in_the_namespace() -> None:
    resource = _resource("shop")
    resource["spec"]["config"] = {"depends_on": ["db"], "group": "pod", "network": {"mode": "bridge"}}
    joined = _resource("shop")
    joined["spec"]["config"] = {"network": {"mode": "container:web"}}
    diag = Diagnostics()
    first, second = (convert.from_resource(r, diag) for r in (resource, joined))
    assert diag.errors == [] and first is not None and second is not None
    assert [d.name for d in first.spec.config.depends_on] == ["shop.db"]
    assert first.spec.config.group == "shop.pod"
    assert second.spec.config.network.mode == "container:shop.web"
