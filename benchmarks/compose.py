"""``berth compose`` next to podman-compose (PyPI) on Debian's podman, and ``podman kube play``.

Timed as a user sees them (whole processes, medians of ``--reps``), on one 10-service project of
the demo image (busybox httpd) on a bridge network, from a warm store:
- ``up -d`` (every container created and started), a no-op ``up -d``, ``ps``, ``down``;
- ``ps`` with ``--many`` deployments in one project (staged in the store, not started);
- ``kube play`` / ``kube down`` of a Deployment, Berth next to ``podman kube play``.
Each figure is the median wall time and, beside it, the median CPU time (user+sys of the child and
its children, e.g. conmon and runc); the load average is printed before and after. Source files
are byte-compiled first (an installed package has its .pyc files). Absolute times are noisy here
(2 shared cores); compare the ratios. Targets (issue 8): ``up -d`` of
10 services under 1.5 s, no-op ``up`` and ``ps`` under 300 ms, each ahead of the peers.

podman-compose lives in its own venv: ``python3 -m venv .work/podman-compose-venv &&
.work/podman-compose-venv/bin/pip install podman-compose`` (skipped when missing).

Run: PYTHONPATH=. .venv/bin/python benchmarks/compose.py [--reps 3] [--services 10] [--many 200]
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PODMAN_COMPOSE = REPO / ".work" / "podman-compose-venv" / "bin" / "podman-compose"
CONTAINERS_CONF = """[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
"""


def project(name: str, services: int, port: int) -> str:
    lines = [f"name: {name}", "services:"]
    for i in range(services):
        lines += [
            f"  s{i}:",
            "    image: localhost/berth-demo:latest",
            "    command: httpd -f -p 80 -h /",
            "    stop_signal: SIGKILL",
        ]
        if i == 0:
            lines.append(f'    ports: ["127.0.0.1:{port}:80"]')
    return "\n".join(lines) + "\n"


KUBE = """apiVersion: apps/v1
kind: Deployment
metadata: {name: bench}
spec:
  replicas: 1
  selector: {matchLabels: {app: bench}}
  template:
    metadata: {labels: {app: bench}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - name: httpd
        image: localhost/berth-demo:latest
        imagePullPolicy: IfNotPresent
        command: [httpd, -f, -p, "80", -h, /]
"""


class Runner:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.root = base / "store"
        self.run_root = base / "run"
        self.cpu: list[float] = []
        self.podman_root = Path(tempfile.mkdtemp(prefix="bpc", dir="/dev/shm"))  # podman: runroot < 50 chars
        conf = base / "containers.conf"
        conf.write_text(CONTAINERS_CONF)
        self.env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "BERTH_ROOT": str(self.root),
            "BERTH_RUN_ROOT": str(self.run_root),
            "CONTAINERS_CONF": str(conf),
        }
        self.podman_args = [
            "--root", str(self.podman_root / "root"),
            "--runroot", str(self.podman_root / "runroot"),
            "--tmpdir", str(self.podman_root / "tmp"),
        ]  # fmt: skip

    def timed(self, argv: list[str], *, check: bool = True) -> float:
        """Wall seconds of one whole process; its CPU seconds are appended to :attr:`cpu`."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        began = time.monotonic()
        proc = subprocess.run(argv, env=self.env, cwd=self.base, capture_output=True, text=True, check=False)
        took = time.monotonic() - began
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.cpu.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
        if check and proc.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
        return took

    def berth(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "agent", *args]

    def podman(self, *args: str) -> list[str]:
        return ["podman", *self.podman_args, *args]

    def podman_compose(self, *args: str) -> list[str]:
        return [str(PODMAN_COMPOSE), "--podman-args", " ".join(self.podman_args), *args]


def setup(runner: Runner) -> None:
    from agent.demo.image import build_demo_layout
    from agent.registry import pulling

    layout = runner.base / "layout" / "berth-demo"
    build_demo_layout(layout)
    pulling.pull_image(f"oci:{layout}:latest", runner.root)
    if shutil.which("podman"):
        runner.timed(runner.podman("pull", "-q", f"oci:{layout}:latest"))
        runner.timed(runner.podman("tag", "berth-demo:latest", "localhost/berth-demo:latest"), check=False)


def median(values: list[float]) -> str:
    return f"{statistics.median(values):.3f}" if values else "-"


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def bench_compose(runner: Runner, tool: str, reps: int, services: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"up -d": [], "no-op up -d": [], "ps": [], "down": []}
    cpu: dict[str, list[float]] = {step: [] for step in out}
    for rep in range(reps):
        name = f"bench{tool.replace('-', '')}{rep}"
        from tests.agent.compose.conftest import free_port

        f = runner.base / f"{name}.yaml"
        f.write_text(project(name, services, free_port()))

        def cmd(*args: str, f: Path = f) -> list[str]:
            if tool == "berth":
                return runner.berth("compose", "-f", str(f), *args)
            return runner.podman_compose("-f", str(f), *args)

        for step, args in (("up -d", ("up", "-d")), ("no-op up -d", ("up", "-d")), ("ps", ("ps",)),
                           ("down", ("down",))):  # fmt: skip
            out[step].append(runner.timed(cmd(*args)))
            cpu[step].append(runner.cpu[-1])
    return {**out, **{f"{step} CPU": values for step, values in cpu.items()}}


def bench_ps_many(runner: Runner, many: int, reps: int) -> tuple[float, float]:
    """``compose ps -a`` of a project with ``many`` deployments (staged, not started)."""
    from agent.compose import projects as compose_projects
    from agent.runtime.engine import Engine

    text = "name: many\nservices:\n  s:\n    image: localhost/berth-demo:latest\n"
    f = runner.base / "many.yaml"
    f.write_text(text)
    loaded = compose_projects.load([f], env={}, scale={"s": many})
    engine = Engine(runner.root, runner.run_root)
    service = loaded.services["s"]
    for n in range(1, many + 1):
        engine.deploy(service.replica("many", n), owner=loaded.owner("s", n), start=False)
    walls = [runner.timed(runner.berth("compose", "-p", "many", "ps", "-a")) for _ in range(reps)]
    took = (statistics.median(walls), statistics.median(runner.cpu[-reps:]))
    for n in range(1, many + 1):
        engine.remove(compose_projects.container_name("many", "s", n))
    return took


def bench_kube(runner: Runner, reps: int) -> dict[str, dict[str, list[float]]]:
    f = runner.base / "kube.yaml"
    f.write_text(KUBE)
    out: dict[str, dict[str, list[float]]] = {
        "berth": {"play": [], "down": []},
        "podman": {"play": [], "down": []},
    }
    for _ in range(reps):
        out["berth"]["play"].append(runner.timed(runner.berth("kube", "play", str(f))))
        out["berth"]["down"].append(runner.timed(runner.berth("kube", "down", str(f))))
        if shutil.which("podman"):
            out["podman"]["play"].append(runner.timed(runner.podman("kube", "play", str(f))))
            out["podman"]["down"].append(runner.timed(runner.podman("kube", "down", str(f))))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--services", type=int, default=10)
    parser.add_argument("--many", type=int, default=200, help="deployments for the ps figure (0: skip)")
    parser.add_argument("--no-peers", action="store_true")
    args = parser.parse_args()
    compileall.compile_dir(REPO / "agent", quiet=1)
    compileall.compile_dir(REPO / "translators", quiet=1)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    base = Path(tempfile.mkdtemp(prefix="berth-bench-compose-", dir="/dev/shm"))
    runner = Runner(base)
    try:
        setup(runner)
        print(f"before: {load()}")
        results = {"berth": bench_compose(runner, "berth", args.reps, args.services)}
        if not args.no_peers and PODMAN_COMPOSE.exists() and shutil.which("podman"):
            results["podman-compose"] = bench_compose(runner, "podman-compose", args.reps, args.services)
        print(f"{args.services} services, medians of {args.reps} (s, whole process; CPU: user+sys)")
        print(f"{'step':<14}" + "".join(f"{tool:>16}" for tool in results))
        for step in results["berth"]:
            print(f"{step:<14}" + "".join(f"{median(r[step]):>16}" for r in results.values()))
        if args.many:
            wall, cpu = bench_ps_many(runner, args.many, args.reps)
            print(f"compose ps -a with {args.many} deployments: {wall:.3f} s wall, {cpu:.3f} s CPU")
        kube = bench_kube(runner, args.reps)
        for tool, steps in kube.items():
            if steps["play"]:
                print(f"kube play/down ({tool}): {median(steps['play'])} / {median(steps['down'])} s")
        print(f"after: {load()}")
    finally:
        subprocess.run(runner.berth("compose", "ls", "-q"), env=runner.env, check=False, capture_output=True)
        if shutil.which("podman"):
            subprocess.run(
                runner.podman("rm", "-af", "-t", "0"), env=runner.env, check=False, capture_output=True
            )
            subprocess.run(
                runner.podman("pod", "rm", "-af", "-t", "0"), env=runner.env, check=False, capture_output=True
            )
            subprocess.run(
                runner.podman("network", "prune", "-f"), env=runner.env, check=False, capture_output=True
            )
            subprocess.run(
                ["umount", "-R", str(runner.podman_root / "root" / "overlay")],
                check=False,
                capture_output=True,
            )
        from tests.agent.compose.conftest import Host

        leftover = Host.__new__(Host)
        leftover.root, leftover.run_root = runner.root, runner.run_root
        from agent.runtime.engine import Engine

        leftover.engine = Engine(runner.root, runner.run_root)
        leftover.close()
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(runner.podman_root, ignore_errors=True)


if __name__ == "__main__":
    main()
