"""The generated CRD and ``berth translate --to crd`` output against a real kube-apiserver.

We test these aspects:
- the API server accepts the CRD (it rejects non-structural schemas) and marks it Established;
- every resource ``berth translate --to crd`` writes for the bundled examples and a spec using every
  section is created with strict field validation, and is stored unchanged (nothing pruned);
- unknown fields and wrong types are rejected by the server, naming the field;
- the status subresource takes conditions and per-node entries without touching the spec;
- the published OpenAPI carries the field descriptions that ``kubectl explain`` shows;
- the spec's short forms pass the server too: every complete example of the product document,
  wrapped as a ContainerDeployment, is created with strict field validation, stored unchanged, and
  the agent-side translation of what the server stored equals ``berth translate`` of the file;
  ``restart: always`` and string port numbers are accepted, as the descriptions say.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests
import yaml
from click.testing import CliRunner

from agent.cli.main import cli
from tests.support.controlplane import ControlPlane
from tests.support.paths import ROOT, SEED, SEED_DATA
from tests.translators.test_crd import RICH_SPEC
from translators.crd import convert
from translators.errors import Diagnostics

GROUP_URL = "/apis/berth.io/v1alpha1/namespaces/default/containerdeployments"


class Api:
    def __init__(self, plane: ControlPlane) -> None:
        self.base = plane.url
        # verify per request: a session-level verify loses to REQUESTS_CA_BUNDLE from the environment
        self.session = requests.Session()
        self.tls: dict[str, Any] = {"verify": str(plane.ca), "cert": (str(plane.cert), str(plane.key))}

    def call(
        self, method: str, path: str, body: Any = None, content_type: str = "application/json"
    ) -> requests.Response:
        data = None if body is None else json.dumps(body)
        return self.session.request(
            method,
            self.base + path,
            data=data,
            headers={"Content-Type": content_type},
            timeout=30,
            **self.tls,
        )


@pytest.fixture(scope="module")
def api(control_plane: ControlPlane) -> Api:
    api = Api(control_plane)
    crd = yaml.safe_load((ROOT / "crds" / "containerdeployments.berth.io.yaml").read_text())
    created = api.call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
    if created.status_code == 409:  # the agent's tests (same control plane) made it: replace it
        path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/containerdeployments.berth.io"
        crd["metadata"]["resourceVersion"] = api.call("GET", path).json()["metadata"]["resourceVersion"]
        created = api.call("PUT", path, crd)
    assert created.status_code in (200, 201), created.text
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        got = api.call(
            "GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/containerdeployments.berth.io"
        )
        conditions = {
            c["type"]: c["status"] for c in (got.json().get("status") or {}).get("conditions") or []
        }
        if conditions.get("Established") == "True":
            break
        time.sleep(0.3)
    else:
        pytest.fail(f"CRD not established: {got.text}")
    while api.call("GET", GROUP_URL).status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.3)
    return api


def _translate_to_crd(path: str) -> list[dict[str, Any]]:
    result = CliRunner().invoke(cli, ["translate", "-f", path, "--to", "crd", "-o", "json"])
    assert result.exit_code == 0, result.stderr
    return [d for d in yaml.safe_load_all(result.stdout) if d]


def _missing(sent: Any, stored: Any, path: str = "spec") -> list[str]:
    """What the server dropped or changed; fields it added (schema defaults) are fine."""
    if isinstance(sent, dict) and isinstance(stored, dict):
        return [m for k, v in sent.items() for m in _missing(v, stored.get(k, "<pruned>"), f"{path}.{k}")]
    if isinstance(sent, list) and isinstance(stored, list) and len(sent) == len(stored):
        return [
            m
            for i, (a, b) in enumerate(zip(sent, stored, strict=True))
            for m in _missing(a, b, f"{path}[{i}]")
        ]
    return [] if sent == stored else [f"{path}: sent {sent!r}, stored {stored!r}"]


def _created_unchanged(api: Api, resource: dict[str, Any]) -> None:
    resp = api.call("POST", GROUP_URL + "?fieldValidation=Strict", resource)
    assert resp.status_code == 201, resp.text
    stored = api.call("GET", f"{GROUP_URL}/{resource['metadata']['name']}").json()
    assert _missing(resource["spec"], stored["spec"]) == []
    sent_spec, stored_spec = Diagnostics(), Diagnostics()
    before = convert.from_resource(resource, sent_spec)
    after = convert.from_resource(stored, stored_spec)
    assert (sent_spec.errors, stored_spec.errors) == ([], [])
    assert before is not None and after is not None
    assert after.spec.origin is not None and after.spec.origin.uid == stored["metadata"]["uid"]
    unrecorded = {"origin": None}
    assert after.spec.model_copy(update=unrecorded) == before.spec.model_copy(update=unrecorded), (
        "server-side defaults changed the meaning of the spec"
    )


@pytest.mark.parametrize(
    "example", ["examples/specs/web.yaml", "examples/crd/web.yaml", "examples/kubernetes/web.yaml"]
)
def test_translated_examples_are_stored_unchanged(api: Api, example: str, tmp_path: Any) -> None:
    for resource in _translate_to_crd(str(ROOT / example)):
        resource["metadata"]["name"] += "-" + tmp_path.name.lower().replace("_", "-")[-20:]
        _created_unchanged(api, resource)


def test_every_section_is_stored_unchanged(api: Api, tmp_path: Any) -> None:
    path = tmp_path / "rich.yaml"
    path.write_text(yaml.safe_dump(RICH_SPEC))
    (resource,) = _translate_to_crd(str(path))
    assert set(resource["spec"]["config"]) >= {
        "ports",
        "volumes",
        "files",
        "resources",
        "security",
        "healthcheck",
    }
    _created_unchanged(api, resource)


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"config": {"colour": "red"}}, 'unknown field "spec.config.colour"'),
        ({"config": {"ports": [{"container": "eighty"}]}}, "spec.config.ports[0].container"),
        ({"config": {"ports": [{"container": 70000}]}}, "spec.config.ports[0].container"),
        ({"transport": "ftp"}, "spec.transport"),
        (
            {"config": {"network": {"mode": "host", "networks": [{"name": "a"}]}}},
            "network.networks needs network.mode bridge",
        ),
    ],
    ids=["unknown-field", "wrong-type", "out-of-range", "bad-enum", "cel-rule"],
)
def test_server_rejects_invalid_resources(api: Api, change: dict[str, Any], fragment: str) -> None:
    resource = {
        "apiVersion": "berth.io/v1alpha1",
        "kind": "ContainerDeployment",
        "metadata": {"name": "invalid"},
        "spec": {"image": "busybox", **change},
    }
    resp = api.call("POST", GROUP_URL + "?fieldValidation=Strict", resource)
    assert resp.status_code in (400, 422), resp.text
    assert fragment in resp.json()["message"]


def test_status_subresource(api: Api) -> None:
    _created_unchanged(
        api,
        {
            "apiVersion": "berth.io/v1alpha1",
            "kind": "ContainerDeployment",
            "metadata": {"name": "with-status"},
            "spec": {"image": "busybox"},
        },
    )
    status = {
        "status": {
            "observedGeneration": 1,
            "readyNodes": "1/1",
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "Running",
                    "message": "1/1 nodes ready",
                    "lastTransitionTime": "2026-11-27T00:00:00Z",
                    "observedGeneration": 1,
                }
            ],
            "nodes": [
                {"nodeName": "node-a", "phase": "Running", "ready": True, "imageDigest": "sha256:" + "a" * 64}
            ],
        },
        "spec": {"image": "ignored-by-status-subresource"},
    }
    resp = api.call("PATCH", f"{GROUP_URL}/with-status/status", status, "application/merge-patch+json")
    assert resp.status_code == 200, resp.text
    stored = api.call("GET", f"{GROUP_URL}/with-status").json()
    assert stored["status"]["conditions"][0]["reason"] == "Running"
    assert stored["status"]["nodes"][0]["phase"] == "Running"
    assert stored["spec"]["image"] == "busybox"
    table = api.session.get(
        api.base + f"{GROUP_URL}/with-status",
        headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"},
        timeout=30,
        **api.tls,
    ).json()
    columns = [c["name"] for c in table["columnDefinitions"]]
    assert columns[:5] == ["Name", "Image", "Ready", "Status", "Age"]
    assert table["rows"][0]["cells"][1:4] == ["busybox", "1/1", "Running"]


def test_openapi_has_descriptions(api: Api) -> None:
    doc = api.call("GET", "/openapi/v3/apis/berth.io/v1alpha1").json()
    schemas = doc["components"]["schemas"]
    (cd,) = [v for k, v in schemas.items() if k.endswith("ContainerDeployment")]
    config = cd["properties"]["spec"]["properties"]["config"]
    assert "image ENTRYPOINT" in config["properties"]["entrypoint"]["description"]
    memory = config["properties"]["resources"]["properties"]["memory"]
    assert "512Mi" in memory["description"]


EXAMPLES = SEED / "examples"  # $BERTH_SEED; tests reading it carry the seed mark
COMPLETE = sorted(p for p in EXAMPLES.glob("*.json") if {"name", "image"} <= set(json.loads(p.read_text())))


def _wrapped(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "berth.io/v1alpha1",
        "kind": "ContainerDeployment",
        "metadata": {"name": name},
        "spec": spec,
    }


@pytest.mark.seed
def test_the_document_has_complete_examples() -> None:
    assert len(COMPLETE) >= 6


@pytest.mark.seed
@pytest.mark.parametrize("path", SEED_DATA.cases([pytest.param(p, id=p.stem) for p in COMPLETE], 1))
def test_document_examples_as_written_are_accepted(api: Api, path: Any) -> None:
    data = json.loads(path.read_text())
    resource = _wrapped(f"doc-{path.stem.lower()}", data)
    resp = api.call("POST", GROUP_URL + "?fieldValidation=Strict", resource)
    assert resp.status_code == 201, resp.text
    stored = api.call("GET", f"{GROUP_URL}/{resource['metadata']['name']}").json()
    assert _missing(resource["spec"], stored["spec"]) == []
    diag = Diagnostics()
    agent_side = convert.from_resource(stored, diag)
    assert diag.errors == [] and agent_side is not None
    result = CliRunner().invoke(cli, ["translate", "-f", str(path), "-o", "json"])
    assert result.exit_code == 0, result.stderr
    translated = json.loads(result.stdout)
    assert agent_side.spec.model_dump(mode="json", exclude={"origin"}) == {
        k: v for k, v in translated.items() if k != "origin"
    }


def test_short_forms_are_accepted(api: Api) -> None:
    spec = {
        "name": "short-forms",
        "image": "busybox",
        "config": {
            "cmd": "httpd -f -p 8080",
            "env": {"A": 1, "B": True},
            "restart": "always",
            "ports": ["8080:80", 9090, {"host": "80", "container": "80"}],
            "volumes": ["/srv:/srv:ro", {"source": "/host/data", "target": "/data", "bind": True}],
            "tmpfs": "/run:size=16m",
            "resources": {
                "cpu": "0.5",
                "memory": "512M",
                "devices": [{"path": "/dev/null", "permissions": "rwm"}],
            },
            "security": {"capabilities": ["CAP_NET_ADMIN"], "seccomp": "/etc/containers/seccomp.json"},
            "healthcheck": "wget -q -O- http://127.0.0.1:8080/",
            "stop_grace_period": "20s",
            "depends_on": ["db"],
            "labels": ["tier=front"],
            "network": {"dns": ["8.8.8.8"]},
        },
    }
    resource = _wrapped("short-forms", spec)
    resp = api.call("POST", GROUP_URL + "?fieldValidation=Strict", resource)
    assert resp.status_code == 201, resp.text
    stored = api.call("GET", f"{GROUP_URL}/short-forms").json()
    assert _missing(resource["spec"], stored["spec"]) == []
    diag = Diagnostics()
    agent_side = convert.from_resource(stored, diag)
    assert diag.errors == [] and agent_side is not None
    assert agent_side.spec.config.restart.policy == "always"
    assert [(p.host, p.container) for p in agent_side.spec.config.ports] == [
        (8080, 80),
        (None, 9090),
        (80, 80),
    ]


def test_what_the_server_cannot_check_is_reported_by_the_agent(api: Api) -> None:
    """A polymorphic field keeps any form on the server; the agent's translation names the bad one."""
    resource = _wrapped("unchecked", {"image": "busybox", "config": {"restart": 42, "cmd": {"not": "argv"}}})
    resp = api.call("POST", GROUP_URL + "?fieldValidation=Strict", resource)
    assert resp.status_code == 201, resp.text
    stored = api.call("GET", f"{GROUP_URL}/unchecked").json()
    diag = Diagnostics(file="cluster")
    assert convert.from_resource(stored, diag) is None
    assert sorted(d.path for d in diag.errors) == ["spec.config.cmd", "spec.config.restart"]
