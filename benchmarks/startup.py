"""Whole-process start-up of read-only commands, over the bare interpreter of the same run.

Runs, interleaved so that load from other processes falls on all of them alike: the bare
interpreter (``python -c pass``), ``berth --help``, ``berth translate`` of the demo compose file,
of the example compose project (``examples/compose``, with its ``.env``) and of a native spec, ``berth container list`` on a store of 50 deployments (built on
/dev/shm first), and ``berth compose ps -a`` of a 10-service project staged in the same store
(deployed, not started), by ``-p`` and by ``-f`` (the project remembered from a first ``ps``). Prints the median wall time of each, the median over the bare interpreter, and
the median CPU time (user+sys, less sensitive to a loaded machine). Target: under 150 ms over the
bare interpreter, whole process.

Source files are byte-compiled first (an installed package has its .pyc files; measuring the
compiler would measure nothing Berth ships).

Run: .venv/bin/python benchmarks/startup.py [--runs 15] [--deployments 50]
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

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def _berth(*args: str) -> list[str]:
    return [PYTHON, "-c", "from agent.cli.main import main; main()", *args]


def _store(deployments: int) -> Path:
    """A store with ``deployments`` deployments of one small image, on tmpfs."""
    sys.path.insert(0, str(ROOT))
    from click.testing import CliRunner

    from agent.cli.main import cli
    from tests.support.layers import Entry, layer
    from tests.support.storing import put_image

    root = Path(tempfile.mkdtemp(prefix="berth-startup-", dir="/dev/shm"))
    image = "localhost:5000/bench/web:1"
    put_image(root, image, [layer([Entry("etc/version", data=b"1")])])
    for i in range(deployments):
        args = ["container", "deploy", "--no-start", "--name", f"web{i}", image, "--root", str(root)]
        result = CliRunner().invoke(cli, args, catch_exceptions=False)
        if result.exit_code != 0:
            raise SystemExit(f"cannot build the benchmark store: {result.output}")
    return root


def _compose_project(root: Path, services: int = 10) -> Path:
    """A compose file of ``services`` services, each deployed (not started) into ``root``."""
    from agent.compose import projects
    from agent.store import deploying

    lines = ["name: startup", "services:"]
    for i in range(services):
        lines += [f"  s{i}:", "    image: localhost:5000/bench/web:1", "    command: httpd -f -p 80"]
    path = root.parent / f"{root.name}-compose.yaml"
    path.write_text("\n".join(lines) + "\n")
    loaded = projects.load([path], env={})
    for name, service in loaded.services.items():
        deploying.deploy(root, service.replica(loaded.name, 1), owner=loaded.owner(name, 1))
    return path


def _run(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one whole process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--deployments", type=int, default=50)
    args = parser.parse_args()

    compileall.compile_dir(ROOT / "agent", quiet=1)
    compileall.compile_dir(ROOT / "translators", quiet=1)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    store = _store(args.deployments)
    compose_file = _compose_project(store)
    run_root = store.parent / f"{store.name}-run"
    where = ["--root", str(store), "--run-root", str(run_root)]
    subprocess.run(_berth("compose", *where, "-f", str(compose_file), "ps"), cwd=ROOT, env=env, check=True,
                   capture_output=True)  # fmt: skip  # remembers the project
    try:
        cases = {
            "bare interpreter": [PYTHON, "-c", "pass"],
            "berth --help": _berth("--help"),
            "berth translate (native spec)": _berth("translate", "-f", "examples/specs/web.yaml"),
            "berth translate (compose demo)": _berth("translate", "-f", "agent/demo/compose.yaml"),
            "berth translate (compose example)": _berth("translate", "-f", "examples/compose/compose.yaml"),
            f"berth container list ({args.deployments})": _berth("container", "list", "--root", str(store)),
            "berth compose -p ps -a (10)": _berth("compose", *where, "-p", "startup", "ps", "-a"),
            "berth compose -f ps -a (10)": _berth("compose", *where, "-f", str(compose_file), "ps", "-a"),
        }
        walls: dict[str, list[float]] = {name: [] for name in cases}
        cpus: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.runs):
            for name, cmd in cases.items():
                wall, cpu = _run(cmd, env)
                walls[name].append(wall)
                cpus[name].append(cpu)
    finally:
        shutil.rmtree(store, ignore_errors=True)
        shutil.rmtree(run_root, ignore_errors=True)
        compose_file.unlink(missing_ok=True)
    bare_wall = statistics.median(walls["bare interpreter"])
    bare_cpu = statistics.median(cpus["bare interpreter"])
    print(
        f"{'command':40} {'wall':>8} {'over bare':>10} {'cpu':>8} {'over bare':>10}   (medians of {args.runs})"
    )
    for name in cases:
        wall, cpu = statistics.median(walls[name]), statistics.median(cpus[name])
        print(
            f"{name:40} {wall * 1000:6.0f}ms {(wall - bare_wall) * 1000:8.0f}ms"
            f" {cpu * 1000:6.0f}ms {(cpu - bare_cpu) * 1000:8.0f}ms"
        )
    print("target: under 150 ms over the bare interpreter")
    return 0


if __name__ == "__main__":
    sys.exit(main())
