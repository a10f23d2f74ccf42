"""Namespaces keep deployments apart.

We test these aspects:
- one Deployment name in two namespaces gives two spec names (``<ns>.<pod>-<container>``), groups
  and dependencies to match; the default namespace keeps the short name;
- ``origin`` records kind, namespace, name and the uid of an object exported from a cluster;
- ``berth translate --to crd`` of such a spec goes back to its namespace under its own name.
"""

from __future__ import annotations

from tests.translators.kubernetes.helpers import messages, translate
from translators.crd import convert

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: NS, uid: 6f1c3a52-1111-4c1e-9d0e-0123456789ab}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      initContainers: [{name: init, image: busybox:1}]
      containers: [{name: app, image: nginx:1}]
"""


def test_one_name_in_two_namespaces_is_two_deployments() -> None:
    shop, blog, default = (translate(DEPLOYMENT.replace("NS", ns)) for ns in ("shop", "blog", "default"))
    assert [s.name for s in shop.specs] == ["shop.web-init", "shop.web-app"]
    assert [s.name for s in blog.specs] == ["blog.web-init", "blog.web-app"]
    assert [s.name for s in default.specs] == ["web-init", "web-app"]
    assert {s.config.group for s in shop.specs} == {"shop.web"}
    assert [d.name for d in shop.specs[1].config.depends_on] == ["shop.web-init"]
    assert shop.project.order == ["shop.web-init", "shop.web-app"]
    origin = shop.specs[1].origin
    assert origin is not None
    assert origin.model_dump() == {
        "kind": "Deployment",
        "namespace": "shop",
        "name": "web",
        "uid": "6f1c3a52-1111-4c1e-9d0e-0123456789ab",
    }


def test_a_namespaced_spec_goes_back_to_its_namespace_as_a_resource() -> None:
    spec = translate(DEPLOYMENT.replace("NS", "shop")).specs[1]
    resource = convert.to_resource(spec)
    assert resource["metadata"] == {"name": "web-app", "namespace": "shop"}
    assert "origin" not in resource["spec"] and "name" not in resource["spec"]
    assert convert.to_resource(spec, namespace="other")["metadata"] == {
        "name": "shop.web-app",
        "namespace": "other",
    }


def test_one_input_with_two_namespaces_asks_for_one_at_a_time() -> None:
    both = DEPLOYMENT.replace("NS", "shop") + "---" + DEPLOYMENT.replace("NS", "blog")
    found = messages(both)
    assert found and all("translate one namespace at a time" in m for m in found)
    assert not any("defined twice" in m for m in found)
