"""Pull and unpack: Berth next to ``skopeo copy`` + ``umoci unpack`` and ``podman pull``.

Builds its images (no downloads from a hub): ``smallfiles:20k`` (busybox-static plus a layer of
20,000 files of 1-4 KB) and, with ``--debian``, ``debian:3layer`` (a debootstrap minbase bookworm
root in 3 gzip layers: base, ``/usr/share/{doc,locale}``, and a small layer with a file whiteout
and a directory whiteout; apt's downloaded packages are left out, as in shared/peers-here.md).
They are pushed with skopeo to Debian's docker-registry on 127.0.0.1.
Each repetition pulls into a fresh directory and nothing is deleted between repetitions (deleting
many files slows later file creation on this machine's disk; see shared/peers-here.md).

Timed per repetition, each into its own fresh directory:
- ``berth pull+deploy``: in process, ``deploying.deploy`` with ``pull_image`` as its puller, as the
  CLI and the agent deploy an image the store lacks (pull, unpacking each layer while it downloads;
  stack them, switch the deployment), the issue's "pull + unpack";
- ``berth CLI``: the same as one process, ``berth container deploy --no-start`` (interpreter start
  included; without --no-start it also started the container and left its rootfs mounted), from
  byte-compiled modules as an installed package has them;
- ``berth pull``: the pull alone, in process;
- ``skopeo+umoci``: ``skopeo copy docker:// oci:`` then ``umoci unpack`` (the peer pair);
- ``skopeo copy``: its pull alone;
- ``podman pull``: pulls and unpacks into overlay storage.
Medians of wall time and of CPU time (user+sys of this process and its children over the step) are
printed with the load average; absolute times are noisy, ratios within one run are the figure.
``berth CLI`` also reports its peak RSS (VmHWM, read by the child itself at exit).
Targets (issue 14): berth pull+deploy <= 0.5x the pair and <= 0.35x podman.

Run: PYTHONPATH=. .venv/bin/python benchmarks/pull.py [--reps 5] [--debian] [--scratch DIR]
"""

from __future__ import annotations

import argparse
import compileall
import io
import os
import random
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from agent.registry import pulling
from agent.store import deploying
from tests.support import images, registry
from translators.spec import DeploymentSpec

REPO = Path(__file__).resolve().parents[1]
CONTAINERS_CONF = """[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
"""


def smallfiles_layer() -> bytes:
    rng = random.Random(20_000)  # noqa: S311 - reproducible filler, not secrets
    files = {
        f"data/{i // 1000:02d}/f{i:05d}.txt": rng.randbytes(rng.randint(1024, 4096)) for i in range(20_000)
    }
    return images.tar_layer(files)


def _tar_tree(root: Path, keep: Callable[[str], bool]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(dirnames) + sorted(filenames):
                path = Path(dirpath) / name
                rel = str(path.relative_to(root))
                if keep(rel):
                    tar.add(path, arcname=rel, recursive=False)
    return buf.getvalue()


def debian_layers(scratch: Path) -> list[bytes]:
    root = scratch / "debian-root"
    if not (root / "etc" / "debian_version").exists():
        subprocess.run(
            ["debootstrap", "--variant=minbase", "bookworm", str(root), "http://deb.debian.org/debian"],
            check=True,
            capture_output=True,
        )
    docs = ("usr/share/doc", "usr/share/locale")
    apt_debs = "var/cache/apt/archives/"
    base = _tar_tree(
        root,
        lambda rel: (
            (not rel.startswith(docs) or rel in docs)
            and not (rel.startswith(apt_debs) and rel.endswith(".deb"))
        ),
    )
    doc_layer = _tar_tree(root, lambda rel: rel.startswith(docs) and rel not in docs)
    whiteouts = images.tar_layer({"etc/.wh.motd": b"", "var/cache/.wh.apt": b"", "etc/berth": b"3rd layer\n"})
    return [base, doc_layer, whiteouts]


def build(scratch: Path, with_debian: bool) -> dict[str, str]:
    """Write the layout once (reused across runs) and return {tag: layout ref}."""
    layout = scratch / "layout"
    if (layout / "index.json").exists():
        tags = ["smallfiles", *(["debian"] if (layout / "debian.built").exists() else [])]
        return {tag: tag for tag in tags}
    builder = images.LayoutBuilder(layout)
    small = builder.image([(images.busybox_layer(), "gzip"), (smallfiles_layer(), "gzip")])
    builder.tag("smallfiles", small.digest, images.OCI_MANIFEST, small.size)
    if with_debian:
        debian = builder.image([(layer, "gzip") for layer in debian_layers(scratch)])
        builder.tag("debian", debian.digest, images.OCI_MANIFEST, debian.size)
        (layout / "debian.built").touch()
    builder.save()
    return {tag: tag for tag in ("smallfiles", *(["debian"] if with_debian else []))}


def command(args: list[str], env: dict[str, str] | None = None) -> None:
    done = subprocess.run(args, capture_output=True, env=env, check=False)
    if done.returncode:
        raise SystemExit(f"{args[0]} failed ({done.returncode}): {done.stderr.decode()[-1500:]}")


def _cpu() -> float:
    """CPU seconds (user+sys) of this process and of its children that have been waited for."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def timed(action: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds of ``action``, started with no dirty data on the disk.

    Berth flushes its deploy with syncfs, which also writes back whatever the tool timed before it
    left dirty; syncing first keeps each figure to the tool's own work.
    """
    os.sync()
    cpu = _cpu()
    start = time.perf_counter()
    action()
    return time.perf_counter() - start, _cpu() - cpu


PEAK_RSS = (
    "import atexit, os, re\n"
    "def _peak():\n"
    "    text = open('/proc/self/status').read()\n"
    "    open(os.environ['BENCH_PEAK_FILE'], 'w').write(re.search(r'VmHWM:\\s+(\\d+)', text).group(1))\n"
    "atexit.register(_peak)\n"
    "from agent.cli import main\n"
    "main.main()\n"
)
"""The CLI, writing its own peak RSS (kB) at exit: a child's ru_maxrss would include the parent's
pages it was forked with."""


def one_repetition(source: str, run_dir: Path, env: dict[str, str]) -> dict[str, tuple[float, float]]:
    """Each tool pulls (and unpacks) ``source`` once into its own fresh directory under ``run_dir``."""
    spec = DeploymentSpec(name="bench", image=source)

    def berth_pull_deploy() -> None:
        deploying.deploy(run_dir / "berth", spec, puller=pulling.pull_image)

    times = {"berth pull+deploy": timed(berth_pull_deploy)}
    cli = [sys.executable, "-c", PEAK_RSS, "container", "deploy", "--no-start"]
    peak = run_dir / "berth-cli.peak"
    cli_env = {**os.environ, "BENCH_PEAK_FILE": str(peak)}
    times["berth CLI"] = timed(lambda: command([*cli, "--root", str(run_dir / "berth-cli"), source], cli_env))
    times["berth CLI peak RSS MiB"] = (int(peak.read_text()) / 1024, 0.0)
    times["berth pull"] = timed(lambda: pulling.pull_image(source, run_dir / "berth-pull"))
    skopeo = ["skopeo", "copy", "--quiet", "--src-tls-verify=false", f"docker://{source}"]
    umoci = ["umoci", "unpack", "--image", f"{run_dir / 'pair'}:x", str(run_dir / "pair-bundle")]

    def pair() -> None:
        command([*skopeo, f"oci:{run_dir / 'pair'}:x"])
        command(umoci)

    times["skopeo+umoci"] = timed(pair)
    times["skopeo copy"] = timed(lambda: command([*skopeo, f"oci:{run_dir / 'skopeo'}:x"]))
    runroot = Path(tempfile.mkdtemp(prefix="bp-", dir="/tmp"))  # podman wants a runroot < 50 characters
    podman = ["podman", "--root", str(run_dir / "podman"), "--runroot", str(runroot)]
    podman += ["--tmpdir", str(run_dir / "podman-tmp"), "pull", "--quiet", "--tls-verify=false", source]
    times["podman pull"] = timed(lambda: command(podman, env))
    return times


def run(args: argparse.Namespace) -> None:
    # the CLI runs from byte-compiled modules, as an installed package does (with
    # PYTHONDONTWRITEBYTECODE set, as here, each run compiled every module it imported)
    compileall.compile_dir(REPO / "agent", quiet=1)
    compileall.compile_dir(REPO / "translators", quiet=1)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    scratch = Path(args.scratch or tempfile.mkdtemp(prefix="berth-bench-pull-", dir="/var/tmp"))
    tags = build(scratch, args.debian)
    conf = scratch / "containers.conf"
    conf.write_text(CONTAINERS_CONF)
    env = {**os.environ, "CONTAINERS_CONF": str(conf)}
    stamp = time.strftime("%H%M%S")
    with registry.running(scratch / f"registry-{stamp}") as reg:
        for tag in tags:
            registry.push(scratch / "layout", tag, f"{reg.host}/bench/{tag}:latest")
        for tag in tags:
            source = f"{reg.host}/bench/{tag}:latest"
            figures: dict[str, list[tuple[float, float]]] = {}
            loads = [os.getloadavg()[0]]
            for rep in range(args.reps):
                run_dir = scratch / "runs" / f"{stamp}-{tag}-{rep}"
                for name, seconds in one_repetition(source, run_dir, env).items():
                    figures.setdefault(name, []).append(seconds)
                loads.append(os.getloadavg()[0])
            peak = figures.pop("berth CLI peak RSS MiB")
            medians = {name: statistics.median(v[0] for v in values) for name, values in figures.items()}
            cpus = {name: statistics.median(v[1] for v in values) for name, values in figures.items()}
            print(f"{tag} ({args.reps} runs, medians; load average {min(loads):.1f} to {max(loads):.1f}):")
            for name, value in medians.items():
                print(f"  {name:18s} wall {value:7.3f} s  cpu {cpus[name]:7.3f} s")
            print(f"  berth CLI peak RSS {max(p[0] for p in peak):.0f} MiB (max of {len(peak)})")
            berth = medians["berth pull+deploy"]
            print(
                f"  ratio berth pull+deploy / skopeo+umoci  {berth / medians['skopeo+umoci']:.2f} (target <= 0.5)"
                f"  cpu {cpus['berth pull+deploy'] / cpus['skopeo+umoci']:.2f}"
            )
            print(
                f"  ratio berth pull+deploy / podman pull   {berth / medians['podman pull']:.2f} (target <= 0.35)"
                f"  cpu {cpus['berth pull+deploy'] / cpus['podman pull']:.2f}"
            )
            print(
                f"  ratio berth CLI / skopeo+umoci          {medians['berth CLI'] / medians['skopeo+umoci']:.2f}"
            )
            print(
                f"  ratio berth pull / skopeo copy          {medians['berth pull'] / medians['skopeo copy']:.2f}"
            )
    print(f"scratch: {scratch} (delete it when done)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--debian", action="store_true", help="also build debian:3layer with debootstrap")
    parser.add_argument("--scratch", help="work directory (reused: images are built once)")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
