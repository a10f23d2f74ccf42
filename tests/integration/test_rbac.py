"""The agent's RBAC in manifests/, applied to a real kube-apiserver and asked what it allows.

We test these aspects:
- every object in manifests/rbac.yaml is accepted by the API server;
- the agent's service account may read ContainerDeployments in every namespace, write their
  status, read nodes, record events and get a Secret by name (imagePullSecrets): what the agent needs;
- the `kubectl auth can-i --list` matrix of the service account (a SelfSubjectRulesReview made
  while impersonating it, in two namespaces) is exactly the agent's needs plus the defaults every
  authenticated user and service account gets, named in the test;
- it may patch ContainerDeployments (its finalizer) but not create, update or delete them, list,
  watch or change Secrets, read Pods, change nodes, or grant itself more (SubjectAccessReview answers, evaluated by the real RBAC authorizer).
"""

from __future__ import annotations

import http.client
import json
import ssl
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
        {"group": "events.k8s.io", "resource": "events", "verb": "create", "namespace": "default"},
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
        "events-api-unused",
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


# What the agent uses, as (API group, resource, verb): the matrix must be exactly this plus
# DEFAULTS. Each line names the agent code that needs it.
AGENT_NEEDS = {
    (
        "berth.io",
        "containerdeployments",
        "get",
    ),  # reconciling: a fresh look before dropping dead nodes' finalizers
    ("berth.io", "containerdeployments", "list"),  # watching: the reflector's list
    ("berth.io", "containerdeployments", "watch"),  # watching: the reflector's watch
    ("berth.io", "containerdeployments", "patch"),  # reconciling: its own finalizer (server-side apply)
    ("berth.io", "containerdeployments/status", "patch"),  # statuses: its node's entry
    ("", "nodes", "get"),  # its own labels (nodeSelector), whether a finalizer's node still exists
    ("", "events", "create"),  # events: a new event (core/v1 only)
    ("", "events", "patch"),  # events: the count of a repeated one
    ("", "secrets", "get"),  # pull_secrets: the imagePullSecrets a resource names
}
# What every authenticated user may do on this API server (the bootstrap ClusterRole
# system:basic-user, bound to system:authenticated): ask what it may do, and who it is.
DEFAULTS = {
    ("authorization.k8s.io", "selfsubjectaccessreviews", "create"),
    ("authorization.k8s.io", "selfsubjectrulesreviews", "create"),
    ("authentication.k8s.io", "selfsubjectreviews", "create"),
}
DEFAULT_NON_RESOURCE = {
    # system:discovery and system:public-info-viewer (every authenticated user)
    *("/api", "/api/*", "/apis", "/apis/*", "/openapi", "/openapi/*"),
    *("/healthz", "/livez", "/readyz", "/version", "/version/"),
    # system:service-account-issuer-discovery (every service account): the OIDC issuer documents
    *("/.well-known/openid-configuration", "/.well-known/openid-configuration/"),
    *("/openid/v1/jwks", "/openid/v1/jwks/"),
}


def _rules(plane: ControlPlane, namespace: str) -> dict[str, Any]:
    """What ``kubectl auth can-i --list --as AGENT -n NAMESPACE`` asks: a SelfSubjectRulesReview
    made while impersonating the agent's service account (and its groups)."""
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectRulesReview",
        "spec": {"namespace": namespace},
    }
    headers = [
        ("Impersonate-User", AGENT),
        ("Impersonate-Group", "system:serviceaccounts"),
        ("Impersonate-Group", "system:serviceaccounts:berth-system"),
        ("Impersonate-Group", "system:authenticated"),
    ]
    # requests keeps one value per header name; repeated Impersonate-Group lines go through
    # http.client, which sends each header line as given
    context = ssl.create_default_context(cafile=str(plane.ca))
    context.load_cert_chain(str(plane.cert), str(plane.key))
    host = plane.url.removeprefix("https://")
    conn = http.client.HTTPSConnection(host, context=context, timeout=30)
    try:
        conn.putrequest("POST", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews")
        body = json.dumps(review).encode()
        for key, value in [
            *headers,
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
        ]:
            conn.putheader(key, value)
        conn.endheaders(body)
        resp = conn.getresponse()
        data = resp.read()
    finally:
        conn.close()
    assert resp.status == 201, data
    status: dict[str, Any] = json.loads(data)["status"]
    return status


@pytest.mark.parametrize("namespace", ["default", "apps"])
def test_the_can_i_list_matrix_is_exactly_what_the_agent_needs(applied: ControlPlane, namespace: str) -> None:
    status = _rules(applied, namespace)
    assert not status.get("incomplete"), status
    granted = set()
    for rule in status["resourceRules"]:
        assert not rule.get("resourceNames"), rule  # nothing narrower than a whole resource here
        for group in rule.get("apiGroups") or [""]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    granted.add((group, resource, verb))
    assert granted - DEFAULTS == AGENT_NEEDS, sorted(granted ^ (AGENT_NEEDS | DEFAULTS))
    assert granted >= DEFAULTS  # the defaults named above are real, not a list that hides extras
    paths = {p for rule in status["nonResourceRules"] for p in rule["nonResourceURLs"]}
    verbs = {v for rule in status["nonResourceRules"] for v in rule["verbs"]}
    assert paths == DEFAULT_NON_RESOURCE and verbs == {"get"}, " ".join(sorted(paths))
