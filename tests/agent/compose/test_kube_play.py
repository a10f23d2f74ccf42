"""``berth kube play`` / ``kube down`` on the Engine: a Deployment of 2 replicas with a ConfigMap
and a Secret mounted and a hostPort published, re-played idempotently, then removed entirely."""

from __future__ import annotations

import urllib.request

from tests.agent.compose.conftest import IMAGE, Host, free_port

MANIFESTS = """
apiVersion: v1
kind: ConfigMap
metadata: {{name: webcfg}}
data: {{greeting.txt: "hello from a configmap\\n"}}
---
apiVersion: v1
kind: Secret
metadata: {{name: websecret}}
stringData: {{token: s3cret}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      terminationGracePeriodSeconds: 1
      initContainers:
      - name: prepare
        image: {image}
        command: [sh, -c, "echo prepared > /work/ready"]
        volumeMounts: [{{name: work, mountPath: /work}}]
      containers:
      - name: httpd
        image: {image}
        imagePullPolicy: IfNotPresent
        command: [httpd, -f, -p, "80", -h, /cfg]
        ports: [{{containerPort: 80, hostPort: {port}}}]
        volumeMounts:
        - {{name: cfg, mountPath: /cfg}}
        - {{name: sec, mountPath: /sec}}
        - {{name: work, mountPath: /work}}
      volumes:
      - {{name: cfg, configMap: {{name: webcfg}}}}
      - {{name: sec, secret: {{secretName: websecret}}}}
      - {{name: work, emptyDir: {{}}}}
"""


def test_deployment_replicas_configmap_secret_hostport(host: Host) -> None:
    port = free_port()
    name = host.project
    f = str(host.write("web.yaml", MANIFESTS.format(name=name, image=IMAGE, port=port)))
    played = host.berth("kube", "play", f)
    assert played.returncode == 0, played.stderr
    assert f"Pod:\n{name}-1\n" in played.stdout and f"Pod:\n{name}-2\n" in played.stdout
    apps = [f"{name}-1-httpd", f"{name}-2-httpd"]
    for app in apps:
        assert host.engine.status(app).state == "running"
        token = host.berth("container", "exec", app, "cat", "/sec/token", check=True)
        assert token.stdout == "s3cret"
        # Kubernetes' defaultMode is 0644; Berth's rule for secrets is 0600 (the container's user owns it)
        modes = host.berth("container", "exec", app, "ls", "-lL", "/sec/token", "/cfg/greeting.txt")
        assert [line.split()[0] for line in modes.stdout.splitlines()] == ["-rw-r--r--", "-rw-------"]
        page = host.berth("container", "exec", app, "cat", "/cfg/greeting.txt", check=True)
        assert page.stdout == "hello from a configmap\n"
        ready = host.berth("container", "exec", app, "cat", "/work/ready", check=True)
        assert ready.stdout == "prepared\n"  # the init container ran first, in the pod's volume
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/greeting.txt", timeout=5) as answer:
        assert answer.read() == b"hello from a configmap\n"

    pids = {a: host.engine.status(a).pid for a in apps}
    again = host.berth("kube", "play", f)
    assert again.returncode == 0, again.stderr
    assert {a: host.engine.status(a).pid for a in apps} == pids
    assert all(host.engine.store().get(a).serial == 1 for a in apps)

    down = host.berth("kube", "down", f)
    assert down.returncode == 0, down.stderr
    assert host.engine.store().list() == []
    assert not list((host.run_root / "netns").iterdir())
    for pid in pids.values():
        assert pid is not None and not _alive(pid)
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/greeting.txt", timeout=2)
    except OSError:
        pass
    else:
        raise AssertionError("the host port still answers after kube down")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False
