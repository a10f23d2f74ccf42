"""Pod volumes and container volumeMounts.

We test these aspects:
- hostPath -> bind mounts (readOnly, subPath joined, type decides whether a missing directory is
  created, propagation), relative host paths refused;
- emptyDir -> tmpfs (Memory, sizeLimit, readOnly mounts read-only, subPath reported), anonymous
  volume (one container), named shared volume (two), reported as shared by every replica when
  there are several (Kubernetes gives each pod its own);
- persistentVolumeClaim -> named volume with the claim's size in the project, readOnly from either side;
- configMap/secret volumes -> one file per key with contents, modes (defaultMode, items mode,
  default 0644), items paths, subPath picking one file, secrets kept base64 and marked secret;
- projected and downwardAPI volumes; unsupported volume types (gitRepo) reported, mounts of them skipped
  (disks Berth cannot attach become host-local volumes: test_volume_sources.py);
- a mount of an undeclared volume is an error.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.translators.kubernetes.helpers import messages, pod, spec, translate, warnings


def mounts(volumes: str, volume_mounts: str, extra: str = "") -> dict[str, Any]:
    t = translate(
        pod(
            f"- name: c\n  image: busybox\n  volumeMounts: {volume_mounts}",
            spec_extra=f"volumes: {volumes}",
            extra=extra,
        )
    )
    config = spec(t, "p-c").config
    return {
        "volumes": [v.model_dump(exclude_defaults=True) for v in config.volumes],
        "tmpfs": [v.model_dump(exclude_defaults=True) for v in config.tmpfs],
        "files": [v.model_dump(exclude_defaults=True) for v in config.files],
        "project": {k: v.model_dump(exclude_defaults=True) for k, v in t.project.volumes.items()},
    }


HOST_CASES = [
    (
        "directory-or-create",
        "{path: /srv/data, type: DirectoryOrCreate}",
        "{name: v, mountPath: /data}",
        {"type": "bind", "source": "/srv/data", "target": "/data", "bind": {}},
    ),
    (
        "no type creates",
        "{path: /srv/data}",
        "{name: v, mountPath: /data, readOnly: true}",
        {"type": "bind", "source": "/srv/data", "target": "/data", "readonly": True, "bind": {}},
    ),
    (
        "directory must exist",
        "{path: /srv/data, type: Directory}",
        "{name: v, mountPath: /data}",
        {"type": "bind", "source": "/srv/data", "target": "/data", "bind": {"create_host_path": False}},
    ),
    (
        "subPath joins",
        "{path: /srv}",
        "{name: v, mountPath: /data, subPath: a/b}",
        {"type": "bind", "source": "/srv/a/b", "target": "/data", "bind": {}},
    ),
    (
        "propagation",
        "{path: /srv}",
        "{name: v, mountPath: /data, mountPropagation: HostToContainer}",
        {"type": "bind", "source": "/srv", "target": "/data", "bind": {"propagation": "rslave"}},
    ),
]


@pytest.mark.parametrize(
    ("host", "mount", "expected"), [c[1:] for c in HOST_CASES], ids=[c[0] for c in HOST_CASES]
)
def test_host_path(host: str, mount: str, expected: dict[str, Any]) -> None:
    assert mounts(f"[{{name: v, hostPath: {host}}}]", f"[{mount}]")["volumes"] == [expected]


def test_host_path_must_be_absolute() -> None:
    found = messages(
        pod(
            "- name: c\n  image: busybox\n  volumeMounts: [{name: v, mountPath: /d}]",
            spec_extra="volumes: [{name: v, hostPath: {path: '%HOSTPATH%'}}]",
        )
    )
    assert found == [
        "input.yaml:10: Pod/p (document 1): spec.volumes[0].hostPath.path: "
        "must be an absolute path, got '%HOSTPATH%'"
    ]


def test_empty_dir_in_memory_is_a_sized_tmpfs() -> None:
    got = mounts("[{name: v, emptyDir: {medium: Memory, sizeLimit: 64Mi}}]", "[{name: v, mountPath: /cache}]")
    assert got["tmpfs"] == [{"target": "/cache", "size": 64 * 1024 * 1024}]
    assert got["volumes"] == []


def test_read_only_mount_of_a_memory_empty_dir_is_a_read_only_tmpfs() -> None:
    got = mounts(
        "[{name: v, emptyDir: {medium: Memory}}]",
        "[{name: v, mountPath: /ro, readOnly: true}, {name: v, mountPath: /rw}]",
    )
    assert got["tmpfs"] == [{"target": "/ro", "readonly": True}, {"target": "/rw"}]


@pytest.mark.parametrize("key", ["subPath", "subPathExpr"])
def test_sub_path_of_a_memory_empty_dir_is_reported(key: str) -> None:
    t = translate(
        pod(
            f"- name: c\n  image: busybox\n  volumeMounts: [{{name: v, mountPath: /m, {key}: part}}]",
            spec_extra="volumes: [{name: v, emptyDir: {medium: Memory}}]",
        )
    )
    assert [v.model_dump(exclude_defaults=True) for v in spec(t, "p-c").config.tmpfs] == [{"target": "/m"}]
    [warning] = t.warnings
    assert warning.path.endswith(f"spec.containers[0].volumeMounts[0].{key}")
    assert "mounted whole" in warning.message


SHARED_DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: REPLICAS
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      volumes: [{name: cache, emptyDir: {}}]
      containers:
        - {name: a, image: busybox:1, volumeMounts: [{name: cache, mountPath: /c}]}
        - {name: b, image: busybox:1, volumeMounts: [{name: cache, mountPath: /c}]}
"""


@pytest.mark.parametrize(("replicas", "reported"), [(1, False), (3, True)], ids=["one replica", "three"])
def test_empty_dir_shared_by_replicas_is_reported(replicas: int, reported: bool) -> None:
    t = translate(SHARED_DEPLOYMENT.replace("REPLICAS", str(replicas)))
    assert [v.source for v in spec(t, "web-a").config.volumes] == ["web-cache"]
    found = [w for w in t.warnings if "shared between replicas" in w.message]
    assert bool(found) == reported
    if found:
        assert found[0].path.endswith("spec.template.spec.volumes[0].emptyDir")
        assert found[0].line == 11
        assert "web-cache" in found[0].message


def test_empty_dir_of_one_container_is_anonymous() -> None:
    got = mounts("[{name: v, emptyDir: {}}]", "[{name: v, mountPath: /scratch}]")
    assert got["volumes"] == [{"target": "/scratch"}]
    assert got["project"] == {}


def test_empty_dir_shared_by_two_containers_is_one_named_volume() -> None:
    t = translate(
        pod(
            """
        - {name: a, image: busybox, volumeMounts: [{name: shared, mountPath: /out}]}
        - {name: b, image: busybox, volumeMounts: [{name: shared, mountPath: /in, readOnly: true}]}
        """,
            spec_extra="volumes: [{name: shared, emptyDir: {}}]",
        )
    )
    assert [v.model_dump(exclude_defaults=True) for v in spec(t, "p-a").config.volumes] == [
        {"source": "p-shared", "target": "/out"}
    ]
    assert [v.model_dump(exclude_defaults=True) for v in spec(t, "p-b").config.volumes] == [
        {"source": "p-shared", "target": "/in", "readonly": True}
    ]
    assert list(t.project.volumes) == ["p-shared"]


def test_claim_is_a_named_volume_sized_by_the_claim() -> None:
    claim = (
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data}\n"
        "spec:\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 1Gi}}\n"
    )
    got = mounts(
        "[{name: v, persistentVolumeClaim: {claimName: data, readOnly: true}}]",
        "[{name: v, mountPath: /var/lib/db, subPath: pg}]",
        extra=claim,
    )
    assert got["volumes"] == [
        {"source": "data", "target": "/var/lib/db", "readonly": True, "volume": {"subpath": "pg"}}
    ]
    assert got["project"] == {"data": {"name": "data", "size": 1 << 30}}


def test_claim_missing_from_the_input_is_a_notice() -> None:
    t = translate(
        pod(
            "- name: c\n  image: busybox\n  volumeMounts: [{name: v, mountPath: /d}]",
            spec_extra="volumes: [{name: v, persistentVolumeClaim: {claimName: ext}}]",
        )
    )
    assert list(t.project.volumes) == ["ext"]
    assert any('PersistentVolumeClaim "ext" is not in the input' in w for w in warnings(t))


CONFIG = """
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {app.conf: "a=1\\n", other.conf: "b=2"}
binaryData: {logo.png: iVBORw0K}
---
apiVersion: v1
kind: Secret
metadata: {name: sec}
data: {tls.key: a2V5}
stringData: {token: t0k}
"""

FILE_CASES = [
    (
        "every key, mode 0644",
        "{name: v, configMap: {name: cfg}}",
        "{name: v, mountPath: /etc/app}",
        [
            {"target": "/etc/app/app.conf", "content": "a=1\n", "mode": 0o644},
            {"target": "/etc/app/other.conf", "content": "b=2", "mode": 0o644},
            {"target": "/etc/app/logo.png", "content": "iVBORw0K", "encoding": "base64", "mode": 0o644},
        ],
    ),
    (
        "items with paths and modes",
        "{name: v, configMap: {name: cfg, defaultMode: 0400, items: [{key: app.conf, "
        "path: conf/app.ini}, {key: other.conf, path: o, mode: 0600}]}}",
        "{name: v, mountPath: /etc/app}",
        [
            {"target": "/etc/app/conf/app.ini", "content": "a=1\n", "mode": 0o400},
            {"target": "/etc/app/o", "content": "b=2", "mode": 0o600},
        ],
    ),
    (
        "subPath picks one file",
        "{name: v, configMap: {name: cfg}}",
        "{name: v, mountPath: /etc/app.conf, subPath: app.conf}",
        [
            {"target": "/etc/app.conf", "content": "a=1\n", "mode": 0o644},
        ],
    ),
    (
        "secret stays base64 and secret",
        "{name: v, secret: {secretName: sec, defaultMode: 256}}",
        "{name: v, mountPath: /run/secrets}",
        [
            {
                "target": "/run/secrets/tls.key",
                "content": "a2V5",
                "encoding": "base64",
                "mode": 0o400,
                "secret": True,
            },
            {"target": "/run/secrets/token", "content": "t0k", "mode": 0o400, "secret": True},
        ],
    ),
    (
        "secret without a mode is 0600, not Kubernetes' 0644",
        "{name: v, secret: {secretName: sec, items: [{key: token, path: t}, {key: tls.key, path: k, mode: 0440}]}}",
        "{name: v, mountPath: /s}",
        [
            {"target": "/s/t", "content": "t0k", "mode": 0o600, "secret": True},
            {"target": "/s/k", "content": "a2V5", "encoding": "base64", "mode": 0o440, "secret": True},
        ],
    ),
    (
        "optional missing configmap",
        "{name: v, configMap: {name: nope, optional: true}}",
        "{name: v, mountPath: /etc/x}",
        [],
    ),
    (
        "projected sources",
        "{name: v, projected: {sources: [{configMap: {name: cfg, items: [{key: other.conf, "
        "path: o.conf}]}}, {secret: {name: sec, items: [{key: token, path: t}]}}]}}",
        "{name: v, mountPath: /p}",
        [
            {"target": "/p/o.conf", "content": "b=2", "mode": 0o644},
            {"target": "/p/t", "content": "t0k", "mode": 0o600, "secret": True},
        ],
    ),
    (
        "downward API",
        "{name: v, downwardAPI: {items: [{path: name, fieldRef: {fieldPath: metadata.name}}, "
        "{path: labels, fieldRef: {fieldPath: metadata.labels}}]}}",
        "{name: v, mountPath: /info}",
        [
            {"target": "/info/name", "content": "p", "mode": 0o644},
            {"target": "/info/labels", "content": 'app="x"\ntier="web"', "mode": 0o644},
        ],
    ),
]


@pytest.mark.parametrize(
    ("volume", "mount", "expected"), [c[1:] for c in FILE_CASES], ids=[c[0] for c in FILE_CASES]
)
def test_file_volumes(volume: str, mount: str, expected: list[dict[str, Any]]) -> None:
    text = pod(
        f"- name: c\n  image: busybox\n  volumeMounts: [{mount}]",
        spec_extra=f"volumes: [{volume}]",
        extra=CONFIG,
    ).replace("metadata:\n  name: p\n", "metadata:\n  name: p\n  labels: {tier: web, app: x}\n", 1)
    t = translate(text)
    assert [f.model_dump(exclude_defaults=True) for f in spec(t, "p-c").config.files] == expected


def test_missing_key_of_a_configmap_volume() -> None:
    found = messages(
        pod(
            "- name: c\n  image: busybox\n  volumeMounts: [{name: v, mountPath: /e}]",
            spec_extra="volumes: [{name: v, configMap: {name: cfg, items: [{key: nope, path: n}]}}]",
            extra=CONFIG,
        )
    )
    assert found == [
        "input.yaml:10: Pod/p (document 1): spec.volumes[0].configMap.items[0].key: "
        'ConfigMap "cfg" has no key "nope"'
    ]


def test_unsupported_volume_type_is_reported_and_its_mount_skipped() -> None:
    t = translate(
        pod(
            "- name: c\n  image: busybox\n  volumeMounts: [{name: v, mountPath: /n}]",
            spec_extra="volumes: [{name: v, gitRepo: {repository: https://example.com/r.git}}]",
        )
    )
    assert spec(t, "p-c").config.volumes == []
    assert any("spec.volumes[0].gitRepo: not supported by Berth" in w for w in warnings(t))


def test_mount_of_an_undeclared_volume_is_an_error() -> None:
    found = messages(pod("- name: c\n  image: busybox\n  volumeMounts: [{name: ghost, mountPath: /g}]"))
    assert found == [
        "input.yaml:9: Pod/p (document 1): spec.containers[0].volumeMounts[0].name: "
        "no volume named 'ghost' in the pod's volumes"
    ]
