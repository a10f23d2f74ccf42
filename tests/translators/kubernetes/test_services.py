"""Services applied to the pods they select.

We test these aspects:
- every type makes the service name a network alias of the selected pods' containers;
- NodePort publishes nodePort (or port when none is given), LoadBalancer publishes port, on the
  container that declares the target port (by name or number);
- ClusterIP publishes nothing and reports a port that would be remapped; targetPort 0 means port;
- services without a selector, ExternalName services: not applied, listed in Project.not_applied;
- a selector picks only the pods whose labels match;
- a port or nodePort above 65535 is an error at the Service's own path, once, not at the pods'.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.translators.kubernetes.helpers import messages, spec, translate, warnings

WORKLOADS = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web, tier: front}}
    spec:
      containers:
      - {name: proxy, image: envoy:1, ports: [{containerPort: 9901, name: admin}]}
      - {name: app, image: nginx:1, ports: [{containerPort: 8080, name: http}]}
---
apiVersion: v1
kind: Pod
metadata: {name: db, labels: {app: db}}
spec:
  containers: [{name: pg, image: postgres:16, ports: [{containerPort: 5432}]}]
"""


def with_service(service: str) -> Any:
    return translate(WORKLOADS + "---\napiVersion: v1\nkind: Service\n" + service)


def ports(t: Any, name: str) -> list[dict[str, Any]]:
    return [p.model_dump(exclude_defaults=True) for p in spec(t, name).config.ports]


def aliases(t: Any, name: str) -> list[str]:
    return [a for n in spec(t, name).config.network.networks for a in n.aliases]


PUBLISH = [
    (
        "nodeport by name",
        "metadata: {name: web}\nspec: {type: NodePort, selector: {app: web}, ports: [{port: 80, "
        "targetPort: http, nodePort: 30080}]}",
        "web-app",
        [{"container": 8080, "host": 30080}],
    ),
    (
        "nodeport without nodePort",
        "metadata: {name: web}\nspec: {type: NodePort, selector: {app: web}, ports: [{port: 8080}]}",
        "web-app",
        [{"container": 8080, "host": 8080}],
    ),
    (
        "loadbalancer by number",
        "metadata: {name: db}\nspec: {type: LoadBalancer, selector: {app: db}, "
        "ports: [{port: 15432, targetPort: 5432}]}",
        "db-pg",
        [{"container": 5432, "host": 15432}],
    ),
    (
        "targetPort 0 means port",
        "metadata: {name: db}\nspec: {type: LoadBalancer, selector: {app: db}, "
        "ports: [{port: 5432, targetPort: 0}]}",
        "db-pg",
        [{"container": 5432, "host": 5432}],
    ),
    (
        "udp on an undeclared port goes to the first container",
        "metadata: {name: dns}\nspec: {type: LoadBalancer, "
        "selector: {tier: front}, ports: [{port: 53, protocol: UDP}]}",
        "web-proxy",
        [{"container": 9901}, {"container": 53, "host": 53, "protocol": "udp"}],
    ),
]


@pytest.mark.parametrize(
    ("service", "name", "expected"), [c[1:] for c in PUBLISH], ids=[c[0] for c in PUBLISH]
)
def test_published_ports(service: str, name: str, expected: list[dict[str, Any]]) -> None:
    assert ports(with_service(service), name)[-len(expected) :] == expected


def test_cluster_ip_adds_an_alias_and_publishes_nothing() -> None:
    t = with_service(
        "metadata: {name: backend}\nspec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}"
    )
    assert aliases(t, "web-app") == ["backend"]
    assert aliases(t, "web-proxy") == ["backend"]
    assert aliases(t, "db-pg") == []
    assert ports(t, "web-app") == [{"container": 8080}]
    assert any(
        "not remapped: there is no virtual IP, clients reach backend:8080, not backend:80" in w
        for w in warnings(t)
    )


def test_headless_service_adds_an_alias() -> None:
    t = with_service(
        "metadata: {name: pg}\nspec: {clusterIP: None, selector: {app: db}, ports: [{port: 5432}]}"
    )
    assert aliases(t, "db-pg") == ["pg"]
    assert t.project.not_applied == []


@pytest.mark.parametrize(
    "service",
    [
        "metadata: {name: ext}\nspec: {ports: [{port: 80}]}",
        "metadata: {name: ext}\nspec: {type: ExternalName, externalName: example.com}",
    ],
    ids=["no-selector", "external-name"],
)
def test_services_not_applied(service: str) -> None:
    t = with_service(service)
    assert t.project.not_applied == ["Service/ext"]
    assert any(w.code == "not-applied" for w in t.warnings)


def test_aliases_go_to_app_containers_only() -> None:
    t = translate("""
    apiVersion: v1
    kind: Pod
    metadata: {name: api, labels: {app: api}}
    spec:
      initContainers: [{name: migrate, image: busybox:1}]
      containers: [{name: app, image: nginx:1}]
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: api}
    spec: {selector: {app: api}, ports: [{port: 80}]}
    """)
    assert aliases(t, "api-app") == ["api"]
    assert aliases(t, "api-migrate") == []


@pytest.mark.parametrize(
    ("port", "path"),
    [
        ("{port: 70000}", "ports[0].port"),
        ("{port: 80, targetPort: 8080, nodePort: 70000}", "ports[0].nodePort"),
    ],
    ids=["port", "nodePort"],
)
def test_out_of_range_service_ports_are_reported_at_the_service(port: str, path: str) -> None:
    text = (
        WORKLOADS
        + f"---\napiVersion: v1\nkind: Service\nmetadata: {{name: s}}\nspec: {{type: NodePort, selector: {{tier: front}}, ports: [{port}]}}\n"
    )
    assert messages(text) == [
        f"input.yaml:23: Service/s (document 3): spec.{path}: expected a port from 1 to 65535, got 70000"
    ]
