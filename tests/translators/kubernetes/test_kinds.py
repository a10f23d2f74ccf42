"""Loading manifests and dispatching kinds.

We test these aspects:
- multi-document YAML, JSON, ``kind: List`` and ``*List`` flattening, empty documents skipped,
  diagnostics of list items naming the item and the right line;
- every workload kind (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController,
  Job, CronJob) yields one spec per container, with its copies, role and restart policy;
- a suspended Job or CronJob gets no spec (Kubernetes starts no pod for it): a warning at
  spec.suspend and an entry in Project.not_applied; ``suspend: false`` runs;
- workload and pod keys Berth does not apply (activeDeadlineSeconds at Job and pod level,
  podFailurePolicy, setHostnameAsFQDN, paused, ...) are warnings naming their path, never silent;
  StatefulSet ``ordinals.start`` names the pod;
- kinds not applied (Ingress, NetworkPolicy, HPA, Namespace, custom resources, old apiVersions)
  are warnings with code not-applied and are listed in Project.not_applied;
- malformed input: non-mappings, missing kind/name, duplicates, several namespaces, YAML errors.
"""

from __future__ import annotations

import json
import textwrap

import pytest

from tests.translators.kubernetes.helpers import messages, spec, translate
from translators import kubernetes
from translators.errors import InvalidSpec

TEMPLATE = """
  template:
    metadata: {labels: {app: x}}
    spec:
      restartPolicy: RESTART
      containers: [{name: a, image: busybox:1}, {name: b, image: busybox:1}]
"""


def workload(api: str, kind: str, spec_body: str, restart: str = "Always") -> str:
    return (
        f"apiVersion: {api}\nkind: {kind}\nmetadata: {{name: w}}\nspec:\n{textwrap.indent(spec_body, '  ')}"
        + TEMPLATE.replace("RESTART", restart)
    )


KINDS = [
    (
        "deployment",
        workload("apps/v1", "Deployment", "replicas: 2\nselector: {matchLabels: {app: x}}"),
        2,
        "service",
        "always",
    ),
    (
        "statefulset",
        workload("apps/v1", "StatefulSet", "replicas: 1\nserviceName: x\nselector: {matchLabels: {app: x}}"),
        1,
        "service",
        "always",
    ),
    (
        "daemonset",
        workload("apps/v1", "DaemonSet", "selector: {matchLabels: {app: x}}"),
        1,
        "service",
        "always",
    ),
    (
        "replicaset",
        workload("apps/v1", "ReplicaSet", "replicas: 4\nselector: {matchLabels: {app: x}}"),
        4,
        "service",
        "always",
    ),
    (
        "replicationcontroller",
        workload("v1", "ReplicationController", "replicas: 0\nselector: {app: x}"),
        0,
        "service",
        "always",
    ),
    ("job", workload("batch/v1", "Job", "backoffLimit: 2", restart="Never"), 1, "job", "on-failure"),
]


@pytest.mark.parametrize(
    ("text", "replicas", "role", "restart"), [k[1:] for k in KINDS], ids=[k[0] for k in KINDS]
)
def test_workload_kinds(text: str, replicas: int, role: str, restart: str) -> None:
    t = translate(text)
    assert [s.name for s in t.specs] == ["w-a", "w-b"]
    config = spec(t, "w-a").config
    assert (config.replicas, config.role, config.restart.policy) == (replicas, role, restart)


def test_job_backoff_limit_is_the_retry_count() -> None:
    t = translate(workload("batch/v1", "Job", "backoffLimit: 2", restart="OnFailure"))
    assert spec(t, "w-a").config.restart.max_retries == 2


def test_cron_job_runs_its_job_template_once() -> None:
    t = translate("""
    apiVersion: batch/v1
    kind: CronJob
    metadata: {name: backup}
    spec:
      schedule: "0 3 * * *"
      jobTemplate:
        spec:
          template:
            spec:
              restartPolicy: OnFailure
              containers: [{name: dump, image: postgres:16, args: [pg_dump]}]
    """)
    config = spec(t, "backup-dump").config
    assert (config.role, config.restart.policy, config.restart.max_retries) == ("job", "on-failure", 6)
    assert any(w.code == "unsupported" and "spec.schedule" in w.path for w in t.warnings)


def test_job_needs_a_restart_policy() -> None:
    text = workload("batch/v1", "Job", "parallelism: 1", restart="Always")
    assert messages(text) == [
        "input.yaml:9: Job/w (document 1): spec.template.spec.restartPolicy: "
        "expected OnFailure or Never for a Job, "
        "got 'Always'"
    ]


CRON = """
apiVersion: batch/v1
kind: CronJob
metadata: {name: w}
spec:
  schedule: "0 3 * * *"
  SUSPEND
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: a, image: busybox:1}]
"""
SUSPENDED = [
    ("job", workload("batch/v1", "Job", "suspend: true", restart="Never"), "Job/w", 5),
    ("cronjob", CRON.replace("SUSPEND", "suspend: true"), "CronJob/w", 7),
]


@pytest.mark.parametrize(("text", "ref", "line"), [c[1:] for c in SUSPENDED], ids=[c[0] for c in SUSPENDED])
def test_suspended_jobs_get_no_spec(text: str, ref: str, line: int) -> None:
    t = translate(text)
    assert t.specs == []
    assert t.project.not_applied == [ref]
    [warning] = [w for w in t.warnings if w.path.endswith("spec.suspend")]
    assert (warning.code, warning.line) == ("not-applied", line)
    assert "suspended" in warning.message


@pytest.mark.parametrize(
    "text",
    [
        workload("batch/v1", "Job", "suspend: false", restart="Never"),
        CRON.replace("SUSPEND", "suspend: false"),
    ],
    ids=["job", "cronjob"],
)
def test_jobs_not_suspended_run(text: str) -> None:
    t = translate(text)
    assert [s.name for s in t.specs][:1] == ["w-a"]
    assert t.project.not_applied == []


REPORTED = [
    (
        "job deadline",
        "Job",
        "activeDeadlineSeconds: 60",
        "",
        "spec.activeDeadlineSeconds",
        "not stopped after 60 s",
    ),
    (
        "pod deadline",
        "Job",
        "",
        "activeDeadlineSeconds: 30",
        "spec.template.spec.activeDeadlineSeconds",
        "30 s",
    ),
    (
        "pod failure policy",
        "Job",
        "podFailurePolicy: {rules: [{action: Ignore, onExitCodes: {operator: In, values: [1]}}]}",
        "",
        "spec.podFailurePolicy",
        "whatever the exit code",
    ),
    ("ttl", "Job", "ttlSecondsAfterFinished: 100", "", "spec.ttlSecondsAfterFinished", "not deleted"),
    ("indexed", "Job", "completionMode: Indexed", "", "spec.completionMode", "JOB_COMPLETION_INDEX"),
    ("managed by", "Job", "managedBy: example.com/ctl", "", "spec.managedBy", "not the controller"),
    (
        "fqdn",
        "Job",
        "",
        "setHostnameAsFQDN: true",
        "spec.template.spec.setHostnameAsFQDN",
        "no cluster domain",
    ),
    (
        "readiness gates",
        "Job",
        "",
        "readinessGates: [{conditionType: x}]",
        "spec.template.spec.readinessGates",
        "not checked",
    ),
    ("overhead", "Job", "", "overhead: {cpu: 250m}", "spec.template.spec.overhead", "overhead"),
    ("os", "Job", "", "os: {name: windows}", "spec.template.spec.os.name", "not windows"),
    (
        "ephemeral",
        "Job",
        "",
        "ephemeralContainers: [{name: d, image: busybox}]",
        "spec.template.spec.ephemeralContainers",
        "debugging",
    ),
    ("paused", "Deployment", "paused: true", "", "spec.paused", "starts no pods"),
    (
        "pod management",
        "StatefulSet",
        "podManagementPolicy: OrderedReady",
        "",
        "spec.podManagementPolicy",
        "all start at once",
    ),
]


@pytest.mark.parametrize(
    ("kind", "body", "pod_key", "path", "text"), [c[1:] for c in REPORTED], ids=[c[0] for c in REPORTED]
)
def test_keys_not_applied_are_reported_with_their_path(
    kind: str, body: str, pod_key: str, path: str, text: str
) -> None:
    api = "batch/v1" if kind == "Job" else "apps/v1"
    restart = "Never" if kind == "Job" else "Always"
    head = f"{body}\nselector: {{matchLabels: {{app: x}}}}" if kind != "Job" else body
    manifest = workload(api, kind, head, restart=restart)
    if pod_key:
        manifest = manifest.replace("      containers:", f"      {pod_key}\n      containers:")
    t = translate(manifest)
    assert [s.name for s in t.specs] == ["w-a", "w-b"]
    found = [w for w in t.warnings if w.path.endswith(path)]
    assert len(found) == 1, [str(w) for w in t.warnings]
    assert text in found[0].message


@pytest.mark.parametrize(
    ("body", "pod_key"),
    [("completionMode: NonIndexed\nmanualSelector: false", ""), ("", "os: {name: linux}")],
    ids=["non-indexed job", "linux pod"],
)
def test_keys_without_effect_on_one_node_are_quiet(body: str, pod_key: str) -> None:
    manifest = workload("batch/v1", "Job", body, restart="Never")
    if pod_key:
        manifest = manifest.replace("      containers:", f"      {pod_key}\n      containers:")
    assert translate(manifest).warnings == []


def test_stateful_set_ordinals_start_names_the_pod() -> None:
    """Parallel pod management is how Berth starts replicas anyway: no warning for it."""
    body = "serviceName: db\nordinals: {start: 3}\npodManagementPolicy: Parallel\nselector: {matchLabels: {app: x}}\n"
    body += "volumeClaimTemplates: [{metadata: {name: data}}]"
    manifest = workload("apps/v1", "StatefulSet", body).replace(
        "{name: a, image: busybox:1}",
        "{name: a, image: busybox:1, volumeMounts: [{name: data, mountPath: /d}]}",
    )
    t = translate(manifest)
    config = spec(t, "w-a").config
    assert config.network.hostname == "w-3"
    assert [v.source for v in config.volumes] == ["data-w-3"]
    assert t.warnings == []


NOT_APPLIED = [
    ("ingress", "networking.k8s.io/v1", "Ingress", "Ingress is not applied: there is no ingress controller"),
    ("networkpolicy", "networking.k8s.io/v1", "NetworkPolicy", "NetworkPolicy is not applied"),
    ("hpa", "autoscaling/v2", "HorizontalPodAutoscaler", "HorizontalPodAutoscaler is not applied"),
    ("storageclass", "storage.k8s.io/v1", "StorageClass", "StorageClass is not applied"),
    ("persistentvolume", "v1", "PersistentVolume", "PersistentVolume is not applied"),
    ("berth crd", "berth.io/v1alpha1", "ContainerDeployment", "a Berth custom resource"),
    ("custom resource", "example.com/v1", "Widget", "Widget (example.com/v1) is not a kind Berth applies"),
    ("unknown apiVersion", "apps/v2", "Deployment", "use apps/v1"),
]


@pytest.mark.parametrize(
    ("api", "kind", "reason"), [n[1:] for n in NOT_APPLIED], ids=[n[0] for n in NOT_APPLIED]
)
def test_kinds_not_applied(api: str, kind: str, reason: str) -> None:
    t = translate(f"apiVersion: {api}\nkind: {kind}\nmetadata: {{name: thing}}\nspec: {{}}\n")
    assert t.specs == []
    assert t.project.not_applied == [f"{kind}/thing"]
    [warning] = t.warnings
    assert (warning.code, warning.line) == ("not-applied", 2)
    assert reason in warning.message


def test_namespace_object_is_not_applied_and_does_not_split_namespaces() -> None:
    t = translate("""
    apiVersion: v1
    kind: Namespace
    metadata: {name: shop}
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: p, namespace: shop}
    spec: {containers: [{name: a, image: busybox:1}]}
    """)
    assert (t.project.name, t.project.not_applied) == ("shop", ["Namespace/shop"])


def test_list_items_are_flattened_with_their_lines() -> None:
    doc = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"K": "v"}},
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "p"},
                "spec": {
                    "containers": [
                        {
                            "name": "a",
                            "image": "busybox:1",
                            "env": [
                                {"name": "X", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "NO"}}}
                            ],
                        }
                    ]
                },
            },
        ],
    }
    text = json.dumps(doc, indent=2)
    with pytest.raises(InvalidSpec) as info:
        kubernetes.translate(kubernetes.load_text(text, "list.json"))
    [diag] = info.value.diagnostics
    assert diag.path == ("Pod/p (document 1, items[1]): spec.containers[0].env[0].valueFrom.configMapKeyRef")
    assert diag.line is not None
    assert text.splitlines()[diag.line - 1].strip() == '"configMapKeyRef": {'


def test_typed_lists_and_empty_documents() -> None:
    t = translate("""
    ---
    # only a comment
    ---
    apiVersion: v1
    kind: PodList
    items:
    - {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: [{name: a, image: busybox:1}]}}
    ---
    """)
    assert [s.name for s in t.specs] == ["p-a"]


def test_json_with_tabs_is_read_by_the_json_parser() -> None:
    text = (
        '{\n\t"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},\n'
        '\t"spec": {"containers": [{"name": "a", "image": "busybox:1"}]}\n}'
    )
    t = kubernetes.translate(kubernetes.load_text(text, "pod.json"))
    assert [s.name for s in t.specs] == ["p-a"]


MALFORMED = [
    (
        "scalar document",
        "just text\n",
        ["input.yaml:1: document 1: expected a Kubernetes object (a mapping), got the string 'just text'"],
    ),
    (
        "missing kind",
        "apiVersion: v1\nmetadata: {name: x}\n",
        ["input.yaml:1: ?/x (document 1): kind: required key is missing"],
    ),
    (
        "missing name",
        "apiVersion: v1\nkind: Pod\nmetadata: {}\n",
        ["input.yaml:3: Pod/? (document 1): metadata.name: required key is missing"],
    ),
    (
        "duplicate",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\napiVersion: v1\nkind: ConfigMap\n"
        "metadata: {name: c}\n",
        ["input.yaml:7: ConfigMap/c (document 2): metadata.name: ConfigMap/c is defined twice"],
    ),
    (
        "several namespaces",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: x}\n---\napiVersion: v1\n"
        "kind: ConfigMap\nmetadata: {name: b, namespace: y}\n",
        [
            "input.yaml:7: ConfigMap/b (document 2): metadata.namespace: "
            "objects are in several namespaces (x, y): "
            "translate one namespace at a time"
        ],
    ),
    (
        "list without a list",
        "apiVersion: v1\nkind: List\nmetadata: {name: l}\nitems: 5\n",
        ["input.yaml:4: List/l (document 1): items: expected a list of objects, got the number 5"],
    ),
    (
        "wrong types",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: {name: a}}\n",
        ["input.yaml:4: Pod/p (document 1): spec.containers: expected a list, got a mapping"],
    ),
]


@pytest.mark.parametrize(("text", "expected"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_malformed_input(text: str, expected: list[str]) -> None:
    assert messages(text) == expected


def test_yaml_syntax_error_names_the_line() -> None:
    with pytest.raises(InvalidSpec) as info:
        kubernetes.load_text("apiVersion: v1\nkind: [Pod\n", "bad.yaml")
    assert info.value.diagnostics[0].file == "bad.yaml"
    assert info.value.diagnostics[0].line == 3
