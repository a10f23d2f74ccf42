"""Fuzzing every reader Berth has: translators (compose, Kubernetes, native specs) and the tar reader.

Generates inputs with the strategies of ``tests/support/fuzzing.py`` (hypothesis: wrong types,
huge and non-finite numbers, durations out of range, deep nesting, nested interpolation, YAML
alias bombs; tar headers with lying sizes, base-256 numbers, malformed PAX records, long names
and link targets) and runs each through the real code. Hypothesis draws a tenth of the inputs
(its generation costs about 30 ms each here); the rest are cheap random mutations of those seeds
(values swapped for hostile ones, keys added and removed, text-level attacks; one header field
of an archive overwritten), seeded, so a run is repeatable. Prints, per component: inputs tried,
how many were translated/unpacked, refused with Berth's own error, and crashed (any other
exception: must be 0), the slowest input and its time; then the process's peak RSS. With
``--atheris``, also runs atheris (coverage-guided, libFuzzer) on raw bytes for each translator,
in a subprocess each (atheris exits the process when done).

Run: PYTHONPATH=. .venv/bin/python benchmarks/fuzz.py [--inputs 100000] [--atheris N]
     ``--inputs`` is the total, split evenly between the components.
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings

from tests.support import fuzzing

ROOT = Path(__file__).resolve().parents[1]


def run_component(name: str, count: int, scratch: Path, seed: int = 11) -> dict[str, Any]:
    stats: collections.Counter[str] = collections.Counter()
    crashes: collections.Counter[str] = collections.Counter()
    slowest: dict[str, Any] = {"seconds": 0.0, "input": ""}
    rng = random.Random(seed)  # noqa: S311  # repeatable fuzzing, not cryptography
    pool: list[Any] = []

    def run(data: str | bytes) -> None:
        outcome = (
            fuzzing.unpack_bytes(data, scratch) if isinstance(data, bytes) else fuzzing.translate_text(data)
        )
        stats[outcome.kind] += 1
        if outcome.kind == "crash":
            crashes[outcome.detail] += 1
        if outcome.seconds > slowest["seconds"]:
            text = data if isinstance(data, str) else data.decode("latin-1")
            slowest.update(seconds=outcome.seconds, input=text[:160], size=len(data), outcome=outcome.kind)

    def mutated(seed_input: Any) -> str | bytes:
        if name == "tar":
            return fuzzing.mutate_tar(seed_input, rng)
        return fuzzing.mutate_text(seed_input, rng)

    strategy = fuzzing.COMPONENTS["tar"] if name == "tar" else fuzzing.DOCUMENTS[name]

    @settings(
        max_examples=max(1, count // 10),
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def one(data: Any) -> None:
        pool.append(data)
        run(data if name == "tar" else mutated(data))

    started = time.perf_counter()
    one()
    seeds = len(pool)
    while sum(stats.values()) < count:
        run(mutated(rng.choice(pool)))
    return {
        "hypothesis_seeds": seeds,
        "inputs": sum(stats.values()),
        **{k: stats[k] for k in ("ok", "refused", "crash")},
        "seconds": round(time.perf_counter() - started, 1),
        "slowest_seconds": round(slowest["seconds"], 3),
        "slowest_input": slowest,
        "crashes": dict(crashes.most_common(20)),
    }


ATHERIS = """
import sys, atheris
with atheris.instrument_imports():
    from translators import dispatch
    from translators.errors import BerthError

def one(data: bytes) -> None:
    text = atheris.FuzzedDataProvider(data).ConsumeUnicodeNoSurrogates(len(data))
    try:
        dispatch.translate([dispatch.InputFile("fuzz.yaml", %(prefix)r + text)], dispatch.Options(env={}))
    except BerthError:
        pass

atheris.Setup([sys.argv[0], "-runs=%(runs)d", "-max_len=2048", "-rss_limit_mb=1024", "-timeout=10"], one)
atheris.Fuzz()
"""
PREFIXES = {
    "compose": "services:\n  web:\n",
    "kubernetes": "apiVersion: v1\nkind: Pod\n",
    "native": "name: web\n",
}


def run_atheris(name: str, runs: int) -> dict[str, Any]:
    """atheris on raw text after a prefix that makes the input look like ``name``; its verdict."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", ATHERIS % {"prefix": PREFIXES[name], "runs": runs}],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    tail = [line for line in done.stderr.splitlines() if line.startswith(("Done", "==", "#", "Uncaught"))]
    return {
        "runs": runs,
        "exit": done.returncode,
        "crash": done.returncode != 0,
        "seconds": round(time.perf_counter() - started, 1),
        "last": tail[-3:],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=100_000, help="total inputs, split between components")
    parser.add_argument("--only", choices=sorted(fuzzing.COMPONENTS), action="append")
    parser.add_argument("--atheris", type=int, default=0, metavar="RUNS", help="atheris runs per translator")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    components = args.only or list(fuzzing.COMPONENTS)
    per = args.inputs // len(components)
    scratch = Path(tempfile.mkdtemp(prefix="berth-fuzz-", dir="/dev/shm"))
    report: dict[str, Any] = {}
    try:
        for name in components:
            report[name] = run_component(name, per, scratch)
            if not args.json:
                r = report[name]
                print(
                    f"{name:11} {r['inputs']:7} inputs  ok {r['ok']:6}  refused {r['refused']:6}  "
                    f"crash {r['crash']}  {r['seconds']:6}s  slowest {r['slowest_seconds']}s "
                    f"({r['slowest_input'].get('size')} bytes, {r['slowest_input'].get('outcome')})",
                    flush=True,
                )
                for detail, n in r["crashes"].items():
                    print(f"    {n} x {detail}")
        if args.atheris and importlib.util.find_spec("atheris") is None:
            print("atheris is not installed (pip install atheris): skipped")
        elif args.atheris:
            for name in PREFIXES:
                report[f"atheris-{name}"] = result = run_atheris(name, args.atheris)
                if not args.json:
                    print(
                        f"atheris {name:11} {result['runs']} runs  crash {result['crash']}  {result['seconds']}s"
                    )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"peak RSS {report['peak_rss_mb']} MB")
    crashed = any(r.get("crash") for r in report.values() if isinstance(r, dict))
    sys.exit(1 if crashed else 0)


if __name__ == "__main__":
    main()
