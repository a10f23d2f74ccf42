"""Start overhead of Berth's runtime (conmon + runc) next to raw ``runc run -d``, and conmon's memory.

For each repetition, on one prepared bundle (busybox-static on an overlay, ``sleep``), timed:
- ``runc run -d``: the peer, runc alone, detached (no monitor: nothing holds stdio or the exit code);
- ``berth create+start``: ``Containers.create`` (conmon, which runs ``runc create``, sync pipe)
  then ``Containers.start`` (``runc start``), in process: the container is running when it returns.
Each run uses a new container id; stopping and deleting are not timed. Then ``--many`` containers
are started one after another, and conmon's RSS and PSS (/proc/PID/smaps_rollup) per container read.
Medians are printed; absolute times are noisy here (2 shared cores), the difference is the figure.
Target (issue 6): Berth's overhead over raw runc < 100 ms per container.

Run: PYTHONPATH=. .venv/bin/python benchmarks/lifecycle.py [--reps 10] [--many 10]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from agent.runtime import cgroups, overlays
from agent.runtime.containers import Containers
from agent.runtime.paths import RunPaths


def make_lower(base: Path) -> Path:
    lower = base / "lower"
    for sub in ("bin", "proc", "sys", "dev", "tmp", "etc"):
        (lower / sub).mkdir(parents=True)
    shutil.copy2("/bin/busybox", lower / "bin" / "busybox")
    for applet in subprocess.run(
        ["/bin/busybox", "--list"], capture_output=True, text=True, check=True
    ).stdout.split():
        if applet != "busybox":
            (lower / "bin" / applet).symlink_to("busybox")
    return lower


def make_bundle(bundle: Path, lower: Path, upper: Path, cgroup: str) -> None:
    bundle.mkdir(parents=True)
    subprocess.run(["runc", "spec", "-b", str(bundle)], check=True)
    config = json.loads((bundle / "config.json").read_text())
    config["process"]["terminal"] = False
    config["process"]["args"] = ["sleep", "1000"]
    config["linux"]["cgroupsPath"] = cgroup
    (bundle / "config.json").write_text(json.dumps(config))
    overlays.mount(lower, upper / "upper", upper / "work", bundle / "rootfs")


def rss_pss(pid: int) -> tuple[int, int]:
    rss = pss = 0
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, value = line.partition(":")
        if key == "Rss":
            rss = int(value.split()[0])
        elif key == "Pss":
            pss = int(value.split()[0])
    return rss, pss


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--many", type=int, default=10)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="berth-bench-lc-", dir="/dev/shm"))
    paths = RunPaths.for_store(base / "store", run_root=base / "run")
    containers = Containers(paths)
    lower = make_lower(base)
    raw_root = base / "raw-runc"
    raw: list[float] = []
    berth: list[float] = []
    mounted: list[Path] = []
    try:
        for rep in range(args.reps):
            bundle = base / f"raw-bundle-{rep}"
            make_bundle(bundle, lower, base / f"raw-upper-{rep}", paths.cgroup_path(f"raw{rep}"))
            mounted.append(bundle / "rootfs")
            started = time.perf_counter()
            subprocess.run(
                ["runc", "--root", str(raw_root), "run", "-d", "-b", str(bundle), f"raw{rep}"],
                check=True,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            raw.append(time.perf_counter() - started)
            subprocess.run(["runc", "--root", str(raw_root), "delete", "-f", f"raw{rep}"], check=True)

            name = f"b{rep}"
            make_bundle(paths.bundle(name), lower, base / f"upper-{rep}", paths.cgroup_path(name))
            mounted.append(paths.bundle(name) / "rootfs")
            started = time.perf_counter()
            containers.create(name, log_path=base / "logs" / name / "ctr.log")
            containers.start(name)
            berth.append(time.perf_counter() - started)
            containers.stop(name, "KILL", 0)
            containers.delete(name)

        names = [f"m{i}" for i in range(args.many)]
        for name in names:
            make_bundle(paths.bundle(name), lower, base / f"upper-{name}", paths.cgroup_path(name))
            mounted.append(paths.bundle(name) / "rootfs")
        started = time.perf_counter()
        for name in names:
            containers.create(name, log_path=base / "logs" / name / "ctr.log")
            containers.start(name)
        many = time.perf_counter() - started
        sizes = []
        for name in names:
            conmon_pid = int((paths.container(name) / "conmon.pid").read_text())
            sizes.append(rss_pss(conmon_pid))
        for name in names:
            containers.stop(name, "KILL", 0)
            containers.delete(name)
    finally:
        for name in [s.name for s in containers.list()]:
            containers.delete(name, force=True)
        for target in mounted:
            overlays.unmount(target)
        cgroups.remove(paths.cgroup_parent)
        shutil.rmtree(base, ignore_errors=True)

    raw_ms, berth_ms = statistics.median(raw) * 1000, statistics.median(berth) * 1000
    print(f"runc run -d               median {raw_ms:6.1f} ms  (min {min(raw) * 1000:.1f})")
    print(f"berth create+start        median {berth_ms:6.1f} ms  (min {min(berth) * 1000:.1f})")
    print(f"overhead                  median {berth_ms - raw_ms:6.1f} ms  ratio {berth_ms / raw_ms:.2f}x")
    print(f"{args.many} containers one by one  {many * 1000:6.0f} ms")
    rss = statistics.median(s[0] for s in sizes)
    pss = statistics.median(s[1] for s in sizes)
    print(f"conmon per container      RSS {rss:.0f} KiB, PSS {pss:.0f} KiB (median of {len(sizes)})")


if __name__ == "__main__":
    main()
