"""The agent's RBAC in manifests/, applied to a real kube-apiserver and asked what it allows.

We test these aspects:
- every object in manifests/rbac.yaml is accepted by the API server;
- the agent's service account may read ContainerDeployments in every namespace, write their
  status, read nodes, record events and get a Secret by name (imagePullSecrets): what the agent needs;
- it may patch ContainerDeployments (its finalizer) but not create, update or delete them, list,
  watch or change Secrets, read Pods, change nodes, or grant itself more (SubjectAccessReview answers, evaluated by the real RBAC authorizer).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
import yaml

from tests.support.controlplane import ControlPlane
from tests.support.paths import ROOT

AGENT = "system:serviceaccount:berth-system:berth-agent"
PATHS = {
    "Namespace": "/api/v1/namespaces",
    "ServiceAccount": "/api/v1/namespaces/{ns}/serviceaccounts",
    "ClusterRole": "/apis/rbac.authorization.k8s.io/v1/clusterroles",
    "ClusterRoleBinding": "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
}


def _call(plane: ControlPlane, method: str, path: str, body: Any = None) -> requests.Response:
    return requests.request(
        method,
        plane.url + path,
        json=body,
        verify=str(plane.ca),
        cert=(str(plane.cert), str(plane.key)),
        timeout=30,
    )


@pytest.fixture(scope="module")
def applied(control_plane: ControlPlane) -> ControlPlane:
    for doc in yaml.safe_load_all((ROOT / "manifests" / "rbac.yaml").read_text()):
        path = PATHS[doc["kind"]].format(ns=doc["metadata"].get("namespace", ""))
        resp = _call(control_plane, "POST", path, doc)
        if resp.status_code == 409 and doc["kind"] == "ClusterRole":  # another module's: this version
            resp = _call(control_plane, "PUT", f"{path}/{doc['metadata']['name']}", doc)
        assert resp.status_code in (200, 201, 409), resp.text
    return control_plane


def _allowed(plane: ControlPlane, attributes: dict[str, str]) -> bool:
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {"user": AGENT, "groups": ["system:serviceaccounts"], "resourceAttributes": attributes},
    }
    for _ in range(20):
        resp = _call(plane, "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", review)
        assert resp.status_code == 201, resp.text
        status = resp.json()["status"]
        if status.get("allowed") or "not found" not in status.get("reason", ""):
            return bool(status.get("allowed"))
        time.sleep(0.25)
    return False


CDEP = {"group": "berth.io", "resource": "containerdeployments"}


@pytest.mark.parametrize(
    "attributes",
    [
        {**CDEP, "verb": "list"},
        {**CDEP, "verb": "watch", "namespace": "apps"},
        {**CDEP, "verb": "get", "namespace": "default", "name": "web"},
        {**CDEP, "verb": "patch", "namespace": "default", "subresource": "status"},
        {**CDEP, "verb": "patch", "namespace": "default", "name": "web"},
        {"group": "", "resource": "nodes", "verb": "get", "name": "node-a"},
        {"group": "", "resource": "events", "verb": "create", "namespace": "default"},
        {"group": "events.k8s.io", "resource": "events", "verb": "create", "namespace": "default"},
        {"group": "", "resource": "secrets", "verb": "get", "namespace": "apps", "name": "regcred"},
    ],
    ids=[
        "list-cdeps",
        "watch-cdeps",
        "get-cdep",
        "patch-status",
        "patch-finalizers",
        "get-node",
        "core-event",
        "events-api",
        "get-pull-secret",
    ],
)
def test_the_agent_may(applied: ControlPlane, attributes: dict[str, str]) -> None:
    assert _allowed(applied, attributes)


@pytest.mark.parametrize(
    "attributes",
    [
        {**CDEP, "verb": "create", "namespace": "default"},
        {**CDEP, "verb": "update", "namespace": "default", "name": "web"},
        {**CDEP, "verb": "update", "namespace": "default", "subresource": "status"},
        {**CDEP, "verb": "delete", "namespace": "default", "name": "web"},
        {"group": "", "resource": "secrets", "verb": "list"},
        {"group": "", "resource": "secrets", "verb": "watch", "namespace": "default"},
        {"group": "", "resource": "secrets", "verb": "update", "namespace": "default", "name": "regcred"},
        {"group": "", "resource": "pods", "verb": "list"},
        {"group": "", "resource": "nodes", "verb": "patch", "name": "node-a"},
        {"group": "", "resource": "nodes", "verb": "list"},
        {"group": "rbac.authorization.k8s.io", "resource": "clusterrolebindings", "verb": "create"},
        {"group": "apiextensions.k8s.io", "resource": "customresourcedefinitions", "verb": "update"},
    ],
    ids=[
        "create-cdep",
        "update-cdep",
        "update-status",
        "delete-cdep",
        "list-secrets",
        "watch-secrets",
        "update-secret",
        "list-pods",
        "patch-node",
        "list-nodes",
        "escalate",
        "change-crd",
    ],
)
def test_the_agent_may_not(applied: ControlPlane, attributes: dict[str, str]) -> None:
    assert not _allowed(applied, attributes)
