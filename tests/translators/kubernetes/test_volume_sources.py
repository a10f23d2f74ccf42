"""Volume sources Berth cannot attach on one host, one manifest each in ``volume_sources/``.

We test these aspects:
- no mount is dropped: every mount of a gcePersistentDisk, awsElasticBlockStore, azureDisk,
  azureFile, cephfs, glusterfs, iscsi, fc, cinder, flexVolume, nfs, csi or ephemeral volume becomes
  the host-local named volume ``<namespace>-<volume>`` (subPath kept), declared in the project
  (an ephemeral volume with its claim template's size);
- a warning (code substituted) names the volume's path and the substitute;
- the source's ``readOnly`` and the mount's ``readOnly`` both make the mount read-only;
- every substituted kind has a manifest here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.translators.kubernetes.helpers import translate
from translators.kubernetes import volumes

HERE = Path(__file__).parent / "volume_sources"
FILES = sorted(HERE.glob("*.yaml"))
REQUIRED = (
    "gcePersistentDisk", "awsElasticBlockStore", "azureDisk", "azureFile", "cephfs", "glusterfs",
    "iscsi", "fc", "cinder", "flexVolume", "nfs", "csi", "ephemeral",
)  # fmt: skip


def test_every_source_of_the_issue_has_a_manifest() -> None:
    assert set(REQUIRED) <= {f.stem for f in FILES}
    assert set(REQUIRED) <= set(volumes.SUBSTITUTED)


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_unattachable_source_becomes_a_host_local_volume(path: Path) -> None:
    text = path.read_text()
    kind = path.stem
    source_readonly = yaml.safe_load(text)["spec"]["template"]["spec"]["volumes"][0][kind].get(
        "readOnly", False
    )
    t = translate(text)
    [spec] = t.specs
    mounts = [(v.type, v.source, v.target, v.readonly) for v in spec.config.volumes]
    assert mounts == [
        ("volume", "shop-data", "/var/lib/shop", source_readonly),
        ("volume", "shop-data", "/var/log/shop", source_readonly),
    ]
    assert spec.config.volumes[1].volume is not None and spec.config.volumes[1].volume.subpath == "logs"
    assert list(t.project.volumes) == ["shop-data"]
    assert t.project.volumes["shop-data"].size == (1024**3 if kind == "ephemeral" else None)
    [warning] = [w for w in t.warnings if w.code == "substituted"]
    assert warning.path == f"Deployment/shop (document 1): spec.template.spec.volumes[0].{kind}"
    assert warning.line == 22
    assert f"{kind} cannot be attached on one host" in warning.message
    assert "host-local named volume 'shop-data'" in warning.message


def test_a_read_only_mount_of_a_substituted_volume_stays_read_only() -> None:
    text = (
        (HERE / "nfs.yaml")
        .read_text()
        .replace("mountPath: /var/lib/shop}", "mountPath: /var/lib/shop, readOnly: true}")
    )
    [spec] = translate(text).specs
    assert [v.readonly for v in spec.config.volumes] == [True, False]


def test_default_namespace_names_the_substitute() -> None:
    text = (HERE / "csi.yaml").read_text().replace("  namespace: shop\n", "")
    t = translate(text)
    assert [v.source for v in t.specs[0].config.volumes] == ["default-data", "default-data"]
