"""Translation speed: documents per second in process, and the CLI's cold start.

Prints, for the shared corpus: compose services/s and Kubernetes documents/s through
``translators.dispatch.translate`` in this process, and the whole-process time of
``berth translate`` on one small file next to Docker Compose v2's ``config`` on the same compose
file (the reference binary installed by .ci/setup-tests), as a ratio. Targets: cold start under 250 ms,
at least 2,000 compose services/s.

Run: .venv/bin/python benchmarks/translate.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from translators import dispatch
from translators.errors import InvalidSpec

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
ORACLE = ROOT / ".work" / "compose-oracle" / "bin" / "docker-compose-binary"
BERTH = ROOT / ".venv" / "bin" / "berth"


def _translatable(paths: list[Path]) -> list[tuple[Path, int]]:
    """The inputs that translate, with how many specs each gives (failures are not timed)."""
    out = []
    for path in paths:
        try:
            result = dispatch.translate([dispatch.InputFile(str(path))], dispatch.Options(env={}))
        except (InvalidSpec, ImportError):
            continue
        out.append((path, len(result.specs)))
    return out


def _throughput(items: list[tuple[Path, int]], seconds: float) -> tuple[float, float]:
    """(specs per second, documents per second) over repeated passes of the whole set."""
    texts = [(str(p), p.read_text()) for p, _ in items]
    specs = docs = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for name, text in texts:
            result = dispatch.translate([dispatch.InputFile(name, text)], dispatch.Options(env={}))
            specs += len(result.specs)
            docs += 1
    elapsed = time.perf_counter() - start
    return specs / elapsed, docs / elapsed


def _median_run(cmd: list[str], runs: int, cwd: Path) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    compose_files = sorted(p for p in (CORPUS / "compose").rglob("*") if p.suffix in (".yml", ".yaml"))
    k8s_files = sorted(p for p in (CORPUS / "k8s").rglob("*") if p.suffix in (".yml", ".yaml", ".json"))
    compose = _translatable(compose_files)
    k8s = _translatable(k8s_files)
    c_specs, c_docs = _throughput(compose, args.seconds)
    k_specs, k_docs = _throughput(k8s, args.seconds)
    print(
        f"compose corpus: {len(compose)}/{len(compose_files)} files translate, {sum(n for _, n in compose)} services"
    )
    print(f"  in process: {c_specs:,.0f} services/s, {c_docs:,.0f} files/s (target >= 2,000 services/s)")
    print(f"kubernetes corpus: {len(k8s)}/{len(k8s_files)} files translate, {sum(n for _, n in k8s)} specs")
    print(f"  in process: {k_specs:,.0f} specs/s, {k_docs:,.0f} files/s")

    demo = ROOT / "agent" / "demo" / "compose.yaml"
    spec = ROOT / "examples" / "specs" / "web.yaml"
    bare = _median_run([sys.executable, "-c", "pass"], args.runs, ROOT)
    berth_spec = _median_run([str(BERTH), "translate", "-f", str(spec)], args.runs, ROOT)
    berth_compose = _median_run([str(BERTH), "translate", "-f", str(demo)], args.runs, ROOT)
    print(f"cold start, bare interpreter: {bare * 1000:.0f} ms")
    print(
        f"cold start, berth translate (native spec): {berth_spec * 1000:.0f} ms,"
        f" {(berth_spec - bare) * 1000:.0f} ms over the bare interpreter (target < 150 ms)"
    )
    print(
        f"cold start, berth translate (compose demo): {berth_compose * 1000:.0f} ms,"
        f" {(berth_compose - bare) * 1000:.0f} ms over the bare interpreter"
    )
    print("(benchmarks/startup.py: --help and container list too, interleaved, with CPU times)")
    if ORACLE.exists():
        peer = _median_run([str(ORACLE), "-f", str(demo), "config"], args.runs, demo.parent)
        print(f"cold start, docker compose config (same file): {peer * 1000:.0f} ms")
        print(f"ratio berth/docker-compose: {berth_compose / peer:.2f}")
    else:
        print("docker compose reference not installed (.ci/setup-tests installs it): no ratio")
    return 0


if __name__ == "__main__":
    sys.exit(main())
