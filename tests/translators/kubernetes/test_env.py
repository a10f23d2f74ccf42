"""A container's environment, as the kubelet builds it.

We test these aspects:
- ``value`` entries, ``$(VAR)`` expansion against earlier entries (later ones and undefined names
  stay literal, ``$$`` escapes), and expansion in ``command``/``args``;
- ``valueFrom``: configMapKeyRef, secretKeyRef (secret names in ``secret_env``), optional refs,
  fieldRef (knowable fields resolved, unknowable ones reported and left unset), resourceFieldRef;
- ``envFrom`` with prefixes, precedence envFrom < env, later sources winning, invalid keys skipped;
- missing ConfigMaps, Secrets and keys: errors naming both objects, code missing-reference;
- every ``$`` left in a value is literal in Kubernetes, so the spec writes it ``$$`` (the spec's
  ``${VAR}`` would be substituted by the agent): ``${HOME}`` reaches the container as written.
"""

from __future__ import annotations

import base64

import pytest

from tests.translators.kubernetes.helpers import errors, pod, spec, translate, warnings
from translators.errors import MissingReference

CONFIG = """
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {LOG_LEVEL: debug, MODE: fast, "bad key": x}
---
apiVersion: v1
kind: Secret
metadata: {name: sec}
data: {PASSWORD: cGFzcw==}
stringData: {TOKEN: tok}
"""


def container_sees(entries: list[str]) -> list[str]:
    """What the container gets from spec env entries, by the spec's rule: ``$$`` is a literal ``$``.

    Any other ``$`` would be substituted by the agent at deploy time, which Kubernetes never does
    after ``$(VAR)`` expansion: it fails the test.
    """
    out = []
    for entry in entries:
        name, _, value = entry.partition("=")
        parts = value.split("$$")
        assert not any("$" in part for part in parts), (
            f"unescaped $ in {entry!r}: the agent would substitute it"
        )
        out.append(f"{name}={'$'.join(parts)}")
    return out


def env_of(containers: str, **kwargs: str) -> list[str]:
    t = translate(pod(containers, extra=CONFIG, **kwargs))
    return spec(t, "p-c").config.env


ENV_CASES = [
    ("plain values", "env: [{name: A, value: x}, {name: B, value: ''}]", ["A=x", "B="]),
    ("missing value is empty", "env: [{name: A}]", ["A="]),
    ("earlier reference expands", "env: [{name: A, value: x}, {name: B, value: '$(A)-y'}]", ["A=x", "B=x-y"]),
    (
        "later reference stays literal",
        "env: [{name: B, value: '$(A)-y'}, {name: A, value: x}]",
        ["B=$(A)-y", "A=x"],
    ),
    ("undefined stays literal", "env: [{name: B, value: '$(NOPE)'}]", ["B=$(NOPE)"]),
    ("double dollar escapes", "env: [{name: A, value: x}, {name: B, value: '$$(A)'}]", ["A=x", "B=$(A)"]),
    (
        "redefinition keeps first place",
        "env: [{name: A, value: x}, {name: B, value: y}, {name: A, value: z}]",
        ["A=z", "B=y"],
    ),
    (
        "configMapKeyRef",
        "env: [{name: L, valueFrom: {configMapKeyRef: {name: cfg, key: LOG_LEVEL}}}]",
        ["L=debug"],
    ),
    (
        "secretKeyRef decodes base64",
        "env: [{name: P, valueFrom: {secretKeyRef: {name: sec, key: PASSWORD}}}]",
        ["P=pass"],
    ),
    ("secret stringData", "env: [{name: T, valueFrom: {secretKeyRef: {name: sec, key: TOKEN}}}]", ["T=tok"]),
    (
        "optional missing key is skipped",
        "env: [{name: X, valueFrom: {configMapKeyRef: {name: cfg, key: NOPE, optional: true}}}]",
        [],
    ),
    (
        "optional missing object is skipped",
        "env: [{name: X, valueFrom: {secretKeyRef: {name: nope, key: K, optional: true}}}]",
        [],
    ),
    (
        "valueFrom is not expanded",
        "env: [{name: A, value: x}, {name: B, valueFrom: {configMapKeyRef: {name: cfg2, key: V}}}]",
        ["A=x", "B=$(A)"],
    ),
    (
        "envFrom with prefix",
        "envFrom: [{configMapRef: {name: cfg}, prefix: CFG_}]",
        ["CFG_LOG_LEVEL=debug", "CFG_MODE=fast"],
    ),
    (
        "env wins over envFrom",
        "envFrom: [{configMapRef: {name: cfg}}]\n  env: [{name: MODE, value: slow}]",
        ["LOG_LEVEL=debug", "MODE=slow"],
    ),
    (
        "env expands envFrom values",
        "envFrom: [{configMapRef: {name: cfg}}]\n  env: [{name: X, value: '$(MODE)!'}]",
        ["LOG_LEVEL=debug", "MODE=fast", "X=fast!"],
    ),
    (
        "later envFrom wins",
        "envFrom: [{configMapRef: {name: cfg}}, {configMapRef: {name: cfg2}}]",
        ["LOG_LEVEL=debug", "MODE=other", "V=$(A)"],
    ),
    ("optional envFrom missing", "envFrom: [{secretRef: {name: nope, optional: true}}]", []),
]


@pytest.mark.parametrize(("env", "expected"), [c[1:] for c in ENV_CASES], ids=[c[0] for c in ENV_CASES])
def test_environment(env: str, expected: list[str]) -> None:
    extra = (
        CONFIG
        + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg2}\ndata: {MODE: other, V: $(A)}\n"
    )
    t = translate(pod(f"- name: c\n  image: busybox\n  {env}", extra=extra))
    assert container_sees(spec(t, "p-c").config.env) == expected


DOLLARS = [
    ("shell syntax", "${HOME}", "$${HOME}"),
    ("shell default", "${HOME:-/root}", "$${HOME:-/root}"),
    ("bare dollar", "a$b $", "a$$b $$"),
    ("escaped reference", "$$(A)", "$$(A)"),
    ("undefined reference", "$(NOPE)", "$$(NOPE)"),
    ("expanded reference keeps the referenced dollar", "$(A)/x", "$${HOME}/x"),
]


@pytest.mark.parametrize(("value", "written"), [c[1:] for c in DOLLARS], ids=[c[0] for c in DOLLARS])
def test_dollars_reach_the_container_literally(value: str, written: str) -> None:
    t = translate(
        pod(
            f"- name: c\n  image: busybox\n  env: [{{name: A, value: '${{HOME}}'}}, {{name: B, value: '{value}'}}]"
        )
    )
    env = spec(t, "p-c").config.env
    assert env == ["A=$${HOME}", f"B={written}"]
    assert not [w for w in warnings(t) if "env" in w]


def test_invalid_envfrom_key_is_skipped_with_a_warning() -> None:
    t = translate(pod("- name: c\n  image: busybox\n  envFrom: [{configMapRef: {name: cfg}}]", extra=CONFIG))
    assert "bad key=x" not in spec(t, "p-c").config.env
    assert any("'bad key' is not a valid variable name" in w for w in warnings(t))


def test_command_and_args_expand_against_the_final_environment() -> None:
    t = translate(
        pod("""
        - name: c
          image: busybox
          command: ["/bin/echo", "$(GREETING)", "$$(GREETING)"]
          args: ["$(NAME)", "$(UNSET)", "${HOME}"]
          env: [{name: GREETING, value: hello}, {name: NAME, value: "$(GREETING) world"}]
        """)
    )
    config = spec(t, "p-c").config
    assert config.entrypoint == ["/bin/echo", "hello", "$(GREETING)"]
    assert config.cmd == ["hello world", "$(UNSET)", "${HOME}"]


def test_secret_derived_names_are_secret_env() -> None:
    t = translate(
        pod(
            """
        - name: c
          image: busybox
          envFrom: [{secretRef: {name: sec}}]
          env:
          - {name: TOKEN, value: replaced}
          - {name: DSN, value: "user:$(PASSWORD)@db"}
          - {name: PLAIN, value: x}
        """,
            extra=CONFIG,
        )
    )
    config = spec(t, "p-c").config
    assert config.env == ["PASSWORD=pass", "TOKEN=replaced", "DSN=user:pass@db", "PLAIN=x"]
    assert config.secret_env == ["PASSWORD", "DSN"]


def test_field_refs_resolve_what_is_known() -> None:
    text = """
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web, namespace: shop}
    spec:
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}, annotations: {team: blue}}
        spec:
          serviceAccountName: robot
          containers:
          - name: c
            image: busybox
            env:
            - {name: POD, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
            - {name: NS, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
            - {name: APP, valueFrom: {fieldRef: {fieldPath: "metadata.labels['app']"}}}
            - {name: TEAM, valueFrom: {fieldRef: {fieldPath: "metadata.annotations['team']"}}}
            - {name: SA, valueFrom: {fieldRef: {fieldPath: spec.serviceAccountName}}}
            - {name: IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
            - {name: NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
            - {name: UID, valueFrom: {fieldRef: {fieldPath: metadata.uid}}}
    """
    t = translate(text)
    assert spec(t, "shop.web-c").config.env == ["POD=web", "NS=shop", "APP=web", "TEAM=blue", "SA=robot"]
    assert t.project.name == "shop"
    unknowable = [w for w in warnings(t) if "is not known before the container runs" in w]
    assert len(unknowable) == 3
    assert "env[5].valueFrom.fieldRef.fieldPath: status.podIP" in unknowable[0]


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("{resource: limits.cpu}", "2"),  # 1500m rounds up to whole cores
        ("{resource: limits.cpu, divisor: 1m}", "1500"),
        ("{resource: limits.memory, divisor: 1Mi}", "512"),
        ("{resource: requests.memory}", "268435456"),
        ("{resource: requests.cpu, divisor: 1m}", "1500"),  # defaults to the limit
    ],
    ids=["cpu-cores", "cpu-millis", "memory-mebibytes", "memory-request", "cpu-request-defaults-to-limit"],
)
def test_resource_field_ref(ref: str, expected: str) -> None:
    t = translate(
        pod(f"""
        - name: c
          image: busybox
          resources: {{limits: {{cpu: 1500m, memory: 512Mi}}, requests: {{memory: 256Mi}}}}
          env: [{{name: X, valueFrom: {{resourceFieldRef: {ref}}}}}]
        """)
    )
    assert spec(t, "p-c").config.env == [f"X={expected}"]


MISSING = [
    (
        "configmap key",
        "env: [{name: L, valueFrom: {configMapKeyRef: {name: cfg, key: NOPE}}}]",
        "Pod/p (document 1): spec.containers[0].env[0].valueFrom.configMapKeyRef: "
        'ConfigMap "cfg" has no key "NOPE"',
    ),
    (
        "configmap",
        "env: [{name: L, valueFrom: {configMapKeyRef: {name: nope, key: K}}}]",
        'spec.containers[0].env[0].valueFrom.configMapKeyRef: ConfigMap "nope" is not in the input',
    ),
    (
        "secret key",
        "env: [{name: L, valueFrom: {secretKeyRef: {name: sec, key: NOPE}}}]",
        'spec.containers[0].env[0].valueFrom.secretKeyRef: Secret "sec" has no key "NOPE"',
    ),
    (
        "envFrom secret",
        "envFrom: [{secretRef: {name: nope}}]",
        'spec.containers[0].envFrom[0].secretRef: Secret "nope" is not in the input',
    ),
]


@pytest.mark.parametrize(("env", "message"), [c[1:] for c in MISSING], ids=[c[0] for c in MISSING])
def test_missing_references_name_both_objects(env: str, message: str) -> None:
    with pytest.raises(MissingReference) as info:
        translate(pod(f"- name: c\n  image: busybox\n  {env}", extra=CONFIG))
    [diag] = info.value.diagnostics
    assert diag.code == "missing-reference"
    assert message in str(diag)
    assert diag.line == 9  # the line of "env:" or "envFrom:" in the pod


def test_secret_data_must_be_base64() -> None:
    bad = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {K: 'not base64!'}\n"
    [diag] = errors(bad)
    assert str(diag) == (
        "input.yaml:4: Secret/s (document 1): data.K: expected base64 data "
        "(Secret data is base64; use stringData for text)"
    )
    assert base64.b64decode("cGFzcw==") == b"pass"


def test_binary_secret_in_env_is_reported() -> None:
    secret = "apiVersion: v1\nkind: Secret\nmetadata: {name: bin}\ndata: {K: //79}\n"
    t = translate(
        pod(
            "- name: c\n  image: busybox\n  env: [{name: K, valueFrom: {secretKeyRef: {name: bin, key: K}}}]",
            extra=secret,
        )
    )
    assert spec(t, "p-c").config.env == ["K=\ufffd\ufffd\ufffd"]
    assert any('Secret "bin" key "K" is not UTF-8 text' in w for w in warnings(t))
