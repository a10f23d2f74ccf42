"""Older apiVersions of workload kinds, one manifest each in ``old_api_versions/``.

We test these aspects:
- each old workload (extensions/v1beta1, apps/v1beta1, apps/v1beta2 Deployments, DaemonSets,
  ReplicaSets, StatefulSets; batch/v1beta1 and batch/v2alpha1 CronJobs) gives the specs of the same
  manifest under its current apiVersion, with one warning at ``apiVersion`` (code deprecated) that
  names the version, when it was removed and what to update to;
- the defaults of the old version: before apps/v1beta2 a missing selector selects the template's
  labels (no warning about it); apps/v1beta2 requires one, as apps/v1 does;
- a selector that does not match the template is still an error under an old version;
- ``rollbackTo`` (extensions/v1beta1) is reported, not silently dropped.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.translators.kubernetes.helpers import messages, translate, warnings
from translators.kubernetes import versions

HERE = Path(__file__).parent / "old_api_versions"
FILES = sorted(HERE.glob("*.yaml"))


def test_every_old_version_has_a_manifest() -> None:
    named = {f.stem for f in FILES}
    for version, kind in versions.DEPRECATED:
        assert f"{version.replace('/', '-')}-{kind.lower()}" in named


def _current(text: str) -> str:
    """The same manifest under the replacement apiVersion, with the selector the old one defaulted."""
    data = yaml.safe_load(text)
    old = versions.DEPRECATED[(data["apiVersion"], data["kind"])]
    data["apiVersion"] = old.replacement
    spec = data["spec"]
    spec.pop("rollbackTo", None)
    if "template" in spec and "selector" not in spec:
        spec["selector"] = {"matchLabels": spec["template"]["metadata"]["labels"]}
    return yaml.safe_dump(data)


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_old_version_translates_as_its_replacement_with_a_warning(path: Path) -> None:
    text = path.read_text()
    old = translate(text)
    new = translate(_current(text))
    assert old.specs and [s.model_dump() for s in old.specs] == [s.model_dump() for s in new.specs]
    assert old.project == new.project
    deprecated = [w for w in old.warnings if w.code == "deprecated"]
    [warning] = deprecated
    data = yaml.safe_load(text)
    assert warning.line == 2 and warning.path == f"{data['kind']}/web (document 1): apiVersion"
    assert f"apiVersion {data['apiVersion']} of {data['kind']} is deprecated" in warning.message
    assert (
        f"update the manifest to {versions.DEPRECATED[(data['apiVersion'], data['kind'])].replacement}"
        in (warning.message)
    )
    rest = [(w.path, w.message) for w in old.warnings if w.code != "deprecated"]
    rollback = [w for w in rest if "rollbackTo" in w[0]]
    assert (
        rest == [(w.path, w.message) for w in new.warnings] + rollback
    )  # lines differ: the copy is re-dumped


def test_old_versions_default_the_selector_to_the_template_labels() -> None:
    t = translate((HERE / "extensions-v1beta1-deployment.yaml").read_text())
    assert (
        "defaults of extensions/v1beta1 (a missing selector selects the pod template's labels)"
        in (warnings(t)[0])
    )
    assert not any("selector" in w and "missing" in w for w in warnings(t)[1:])
    assert [s.name for s in t.specs] == ["web-nginx"] and t.specs[0].config.replicas == 2


def test_apps_v1beta2_still_needs_a_selector() -> None:
    text = (
        (HERE / "apps-v1beta2-deployment.yaml")
        .read_text()
        .replace("  selector:\n    matchLabels: {app: web}\n", "")
    )
    assert any("missing, which the API server refuses" in w for w in warnings(translate(text)))


def test_a_selector_that_misses_the_template_is_an_error_in_old_versions_too() -> None:
    text = (HERE / "extensions-v1beta1-replicaset.yaml").read_text()
    text = text.replace("spec:\n  replicas", "spec:\n  selector: {matchLabels: {app: db}}\n  replicas", 1)
    assert any("selects app=db, which the pod template's labels do not have" in m for m in messages(text))


def test_rollback_to_is_reported() -> None:
    t = translate((HERE / "extensions-v1beta1-deployment.yaml").read_text())
    assert any("spec.rollbackTo" in w and "berth container rollback" in w for w in warnings(t))
