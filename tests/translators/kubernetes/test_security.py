"""securityContext at pod and container level.

We test these aspects:
- runAsUser/runAsGroup -> user, container values winning over the pod's;
- supplementalGroups and fsGroup -> group_add (fsGroup reported as partial);
- readOnlyRootFilesystem, privileged, capabilities, allowPrivilegeEscalation -> no_new_privileges
  (kept on by default, forced off by privileged);
- seccomp and AppArmor profiles (fields and the older annotation), SELinux options, sysctls,
  procMount Unmasked;
- runAsNonRoot with runAsUser 0 is an error.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.translators.kubernetes.helpers import messages, pod, spec, translate, warnings


def settings(
    container_sc: str, pod_sc: str = "{}", annotations: str = "{}"
) -> tuple[dict[str, Any], Any, list[str]]:
    text = pod(
        f"- name: c\n  image: busybox\n  securityContext: {container_sc}",
        spec_extra=f"securityContext: {pod_sc}",
    )
    text = text.replace("  name: p\n", f"  name: p\n  annotations: {annotations}\n", 1)
    t = translate(text)
    config = spec(t, "p-c").config
    return config.security.model_dump(exclude_defaults=True), config.user, config.group_add


CASES = [
    ("user and group from the pod", "{}", "{runAsUser: 1000, runAsGroup: 3000}", {}, "1000:3000", []),
    ("container wins", "{runAsUser: 2000}", "{runAsUser: 1000, runAsGroup: 3000}", {}, "2000:3000", []),
    ("user alone", "{runAsUser: 1000}", "{}", {}, "1000", []),
    ("groups", "{}", "{supplementalGroups: [5, 6], fsGroup: 7}", {}, None, ["5", "6", "7"]),
    (
        "read-only, caps, no escalation",
        "{readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, "
        "capabilities: {add: [NET_ADMIN], drop: [ALL]}}",
        "{}",
        {"readonly": True, "capabilities": {"add": ["CAP_NET_ADMIN"], "drop": ["ALL"]}},
        None,
        [],
    ),
    ("escalation allowed", "{allowPrivilegeEscalation: true}", "{}", {"no_new_privileges": False}, None, []),
    (
        "privileged implies escalation",
        "{privileged: true}",
        "{}",
        {"privileged": True, "no_new_privileges": False},
        None,
        [],
    ),
    ("seccomp runtime default", "{seccompProfile: {type: RuntimeDefault}}", "{}", {}, None, []),
    (
        "seccomp unconfined from the pod",
        "{}",
        "{seccompProfile: {type: Unconfined}}",
        {"seccomp": "unconfined"},
        None,
        [],
    ),
    (
        "seccomp localhost",
        "{seccompProfile: {type: Localhost, localhostProfile: profiles/audit.json}}",
        "{}",
        {"seccomp": "/var/lib/kubelet/seccomp/profiles/audit.json"},
        None,
        [],
    ),
    (
        "apparmor localhost",
        "{appArmorProfile: {type: Localhost, localhostProfile: k8s-deny}}",
        "{}",
        {"apparmor": "k8s-deny"},
        None,
        [],
    ),
    (
        "selinux and sysctls",
        "{seLinuxOptions: {type: spc_t, level: 's0:c1,c2'}}",
        "{sysctls: [{name: net.core.somaxconn, value: '1024'}]}",
        {"selinux_options": ["type:spc_t", "level:s0:c1,c2"], "sysctls": {"net.core.somaxconn": "1024"}},
        None,
        [],
    ),
    ("procMount unmasked", "{procMount: Unmasked}", "{}", {"masked_paths": []}, None, []),
]


@pytest.mark.parametrize(
    ("ctr", "pod_sc", "security", "user", "groups"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_security_context(
    ctr: str, pod_sc: str, security: dict[str, Any], user: str | None, groups: list[str]
) -> None:
    assert settings(ctr, pod_sc) == (security, user, groups)


def test_apparmor_annotation_applies_when_the_field_is_absent() -> None:
    annotations = "{container.apparmor.security.beta.kubernetes.io/c: localhost/old-profile}"
    assert settings("{}", annotations=annotations)[0] == {"apparmor": "old-profile"}


def test_fs_group_is_reported_as_partial() -> None:
    t = translate(pod("- name: c\n  image: busybox", spec_extra="securityContext: {fsGroup: 7}"))
    assert any("spec.securityContext.fsGroup: partly applied" in w for w in warnings(t))


def test_run_as_non_root_with_root_user_is_an_error() -> None:
    found = messages(
        pod("- name: c\n  image: busybox\n  securityContext: {runAsNonRoot: true, runAsUser: 0}")
    )
    assert found == [
        "input.yaml:9: Pod/p (document 1): spec.containers[0].securityContext.runAsNonRoot: "
        "runAsNonRoot is true but runAsUser is 0: Kubernetes would not start the container"
    ]
