"""Pods and their containers: naming, grouping, lifecycle and pod-wide settings.

We test these aspects:
- spec names ``<pod>-<container>``, one group per pod, project named after the namespace;
- init containers in order (depends_on completed_successfully), app containers after the last one,
  sidecar init containers (restartPolicy Always), Project.order;
- restartPolicy mapping, Kubernetes defaults (grace period 30 s, pull policy by tag);
- command -> entrypoint, args -> cmd (command alone: the image's CMD is not run, checked with
  ContainerConfig.argv), workingDir, tty, stdin, ports, resources;
- hostNetwork, hostname/subdomain, dnsConfig, dnsPolicy, hostAliases, replicas and labels.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.translators.kubernetes.helpers import messages, pod, spec, translate, warnings


def test_several_containers_share_one_group() -> None:
    t = translate(pod("- {name: a, image: busybox}\n- {name: b, image: busybox}"), default_namespace="team")
    assert [s.name for s in t.specs] == ["team.p-a", "team.p-b"]  # the namespace keeps names apart
    assert {s.config.group for s in t.specs} == {"team.p"}
    assert {s.config.network.hostname for s in t.specs} == {"p"}
    assert {(s.origin.kind, s.origin.namespace, s.origin.name) for s in t.specs if s.origin} == {
        ("Pod", "team", "p")
    }
    assert t.project.name == "team"
    assert t.project.networks["default"].name == "team_default"


def test_init_containers_run_in_order_before_the_app() -> None:
    t = translate(
        pod(
            "- {name: app, image: nginx:1}\n- {name: side, image: busybox}",
            spec_extra="""
        initContainers:
        - {name: migrate, image: busybox}
        - {name: proxy, image: envoy:1, restartPolicy: Always}
        - {name: seed, image: busybox}
        """,
        )
    )
    assert t.project.order == ["p-migrate", "p-proxy", "p-seed", "p-app", "p-side"]
    deps = {s.name: [(d.name, d.condition) for d in s.config.depends_on] for s in t.specs}
    assert deps == {
        "p-migrate": [],
        "p-proxy": [("p-migrate", "completed_successfully")],
        "p-seed": [("p-proxy", "started")],
        "p-app": [("p-seed", "completed_successfully")],
        "p-side": [("p-seed", "completed_successfully")],
    }
    roles = {s.name: (s.config.role, s.config.restart.policy) for s in t.specs}
    assert roles == {
        "p-migrate": ("init", "on-failure"),
        "p-proxy": ("service", "always"),
        "p-seed": ("init", "on-failure"),
        "p-app": ("service", "always"),
        "p-side": ("service", "always"),
    }


@pytest.mark.parametrize(
    ("policy", "app", "init"),
    [("Always", "always", "on-failure"), ("OnFailure", "on-failure", "on-failure"), ("Never", "no", "no")],
    ids=["always", "on-failure", "never"],
)
def test_restart_policy(policy: str, app: str, init: str) -> None:
    t = translate(
        pod(
            "- {name: a, image: busybox}",
            spec_extra=f"restartPolicy: {policy}\ninitContainers: [{{name: i, image: busybox}}]",
        )
    )
    assert (spec(t, "p-a").config.restart.policy, spec(t, "p-i").config.restart.policy) == (app, init)


@pytest.mark.parametrize(
    ("image", "given", "expected"),
    [
        ("busybox", None, "always"),
        ("busybox:latest", None, "always"),
        ("busybox:1.36", None, "missing"),
        ("busybox@sha256:" + "a" * 64, None, "missing"),
        ("busybox:1.36", "Always", "always"),
        ("busybox", "Never", "never"),
        ("localhost:5000/x", None, "always"),
    ],
    ids=["untagged", "latest", "tagged", "digest", "explicit-always", "explicit-never", "registry-port"],
)
def test_pull_policy_defaults_like_kubernetes(image: str, given: str | None, expected: str) -> None:
    policy = f", imagePullPolicy: {given}" if given else ""
    t = translate(pod(f"- {{name: a, image: '{image}'{policy}}}"))
    assert spec(t, "p-a").config.pull_policy == expected


def test_container_process_settings() -> None:
    t = translate(
        pod(
            """
        - name: a
          image: busybox:1
          command: [/bin/sh, -c]
          args: ["echo hi"]
          workingDir: /work
          tty: true
          stdin: true
          ports: [{containerPort: 80, hostPort: 8080, hostIP: 127.0.0.1}, {containerPort: 53, protocol: UDP}]
          resources: {limits: {cpu: 500m, memory: 512Mi}, requests: {cpu: 250m, memory: 128M}}
        """,
            spec_extra="terminationGracePeriodSeconds: 5",
        )
    )
    config = spec(t, "p-a").config
    assert (config.entrypoint, config.cmd, config.working_dir) == (["/bin/sh", "-c"], ["echo hi"], "/work")
    assert (config.tty, config.stdin_open, config.stop_grace_period) == (True, True, 5.0)
    assert [p.model_dump(exclude_defaults=True) for p in config.ports] == [
        {"container": 80, "host": 8080, "host_ip": "127.0.0.1"},
        {"container": 53, "protocol": "udp"},
    ]
    resources = config.resources.model_dump(exclude_defaults=True)
    assert resources == {
        "cpu": 0.5,
        "memory": 512 * 1024 * 1024,
        "memory_reservation": 128_000_000,
        "cpu_shares": 256,
    }


def test_args_alone_keep_the_image_entrypoint() -> None:
    config = spec(translate(pod("- {name: a, image: busybox:1, args: [x]}")), "p-a").config
    assert (config.entrypoint, config.cmd, config.stop_grace_period) == (None, ["x"], 30.0)


IMAGE_ENTRYPOINT = ["/docker-entrypoint.sh"]
IMAGE_CMD = ["nginx", "-g", "daemon off;"]
ARGV = [
    ("command alone", "command: [/bin/sh, -c, 'echo hi']", ["/bin/sh", "-c", "echo hi"]),
    ("command and args", "command: [/bin/echo]\n  args: [a, b]", ["/bin/echo", "a", "b"]),
    ("args alone", "args: [nginx-debug]", [*IMAGE_ENTRYPOINT, "nginx-debug"]),
    ("neither", "tty: false", [*IMAGE_ENTRYPOINT, *IMAGE_CMD]),
]


@pytest.mark.parametrize(("fields", "argv"), [c[1:] for c in ARGV], ids=[c[0] for c in ARGV])
def test_process_follows_kubernetes_over_the_image(fields: str, argv: list[str]) -> None:
    """Kubernetes' rule (its container docs' table): command replaces ENTRYPOINT and CMD both."""
    config = spec(translate(pod(f"- name: a\n  image: nginx:1\n  {fields}")), "p-a").config
    assert config.argv(IMAGE_ENTRYPOINT, IMAGE_CMD) == argv


def test_host_network() -> None:
    t = translate(
        pod(
            "- {name: a, image: busybox:1, ports: [{containerPort: 80, hostPort: 80}]}",
            spec_extra="hostNetwork: true",
        )
    )
    config = spec(t, "p-a").config
    assert (config.network.mode, config.group, config.network.networks) == ("host", None, [])
    assert [p.model_dump(exclude_defaults=True) for p in config.ports] == [{"container": 80}]


def test_dns_hostname_and_host_aliases() -> None:
    t = translate(
        pod(
            "- {name: a, image: busybox:1}",
            spec_extra="""
        hostname: db0
        subdomain: dbs
        dnsPolicy: "None"
        dnsConfig:
          nameservers: [1.1.1.1]
          searches: [corp.example]
          options: [{name: ndots, value: "2"}, {name: edns0}]
        hostAliases: [{ip: 10.0.0.5, hostnames: [foo.local, bar.local]}]
        """,
        )
    )
    network = spec(t, "p-a").config.network
    assert network.hostname == "db0"
    assert network.networks[0].aliases == ["db0.dbs"]
    assert network.dns.model_dump() == {
        "servers": ["1.1.1.1"],
        "search": ["corp.example"],
        "options": ["ndots:2", "edns0"],
    }
    assert network.extra_hosts == ["foo.local:10.0.0.5", "bar.local:10.0.0.5"]


def test_deployment_replicas_and_template_labels() -> None:
    t = translate("""
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web, labels: {ignored: "yes"}}
    spec:
      replicas: 3
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec: {containers: [{name: c, image: nginx:1}]}
    """)
    config = spec(t, "web-c").config
    assert (config.replicas, config.labels, config.role) == (3, {"app": "web"}, "service")


def test_selector_must_match_the_template() -> None:
    found = messages("""
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      selector: {matchLabels: {app: other}}
      template:
        metadata: {labels: {app: web}}
        spec: {containers: [{name: c, image: nginx:1}]}
    """)
    assert found == [
        "input.yaml:6: Deployment/web (document 1): spec.selector: "
        "selects app=other, which the pod template's labels do not have"
    ]


def test_unapplied_pod_fields_are_warnings_with_paths() -> None:
    t = translate(
        pod(
            "- {name: a, image: busybox:1, lifecycle: {preStop: {exec: {command: [x]}}}}",
            spec_extra="nodeSelector: {disk: ssd}\nhostPID: true",
        )
    )
    found = warnings(t)
    assert any(
        "input.yaml:8: Pod/p (document 1): spec.nodeSelector: not supported by Berth" in w for w in found
    )
    assert any("spec.hostPID: not supported by Berth" in w for w in found)
    assert any(
        "spec.containers[0].lifecycle: not supported by Berth, ignored (postStart and preStop" in w
        for w in found
    )


def test_missing_image_names_the_container() -> None:
    assert messages(pod("- {name: a}")) == [
        "input.yaml:7: Pod/p (document 1): spec.containers[0]: "
        "container 'a' is missing the required 'image' field"
    ]


def test_invalid_image_is_reported_at_the_image() -> None:
    found = messages(pod("- {name: a, image: 'Not Valid'}"))
    assert len(found) == 1
    assert found[0].startswith("input.yaml:7: Pod/p (document 1): spec.containers[0].image: ")


def spec_dicts(t: Any) -> list[dict[str, Any]]:
    return [s.model_dump(mode="json", exclude_defaults=True) for s in t.specs]


@pytest.mark.parametrize(
    ("name", "hostname"),
    [("web", "web"), ("a" * 63, "a" * 63), ("a" * 62 + "-b", "a" * 62), ("a" * 61 + ".-bc", "a" * 61)],
    ids=["short", "exactly-63", "trailing-dash", "trailing-dot-dash"],
)
def test_long_pod_names_are_truncated_like_the_kubelet(name: str, hostname: str) -> None:
    text = pod("- {name: a, image: busybox:1}").replace("name: p\n", f"name: {name}\n", 1)
    assert translate(text).specs[0].config.network.hostname == hostname


def test_host_port_with_several_copies_is_reported() -> None:
    t = translate("""
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      replicas: 2
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec: {containers: [{name: c, image: nginx:1, ports: [{containerPort: 80, hostPort: 8080}]}]}
    """)
    assert any(
        "ports[0].hostPort: 2 copies run on one host: only one can bind host port 8080" in w
        for w in warnings(t)
    )
