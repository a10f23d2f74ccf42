"""Compose loader throughput on the corpus: services loaded and bound per second, in process.

Run: ``PYTHONPATH=. python benchmarks/compose_load.py [rounds]`` (CPU time, so other load on the
machine does not count). Files the oracle rejects are
skipped; each remaining file is loaded ``rounds`` times (parse to bound specs).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from translators.compose import ComposeFile, load
from translators.errors import InvalidSpec

ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "compose"
ENV = {"HOME": "/tmp/compose-oracle-home", "PATH": "/usr/bin:/bin"}


SERVICE = """
  svc{i}:
    image: registry.example.com/team/app{i}:${{TAG:-1.0}}
    command: ["serve", "--port", "80{i:03d}"]
    environment:
      MODE: production
      PEER: svc{i}
    ports: ["{port}:80", "127.0.0.1:{admin}:9000"]
    volumes: ["./data/{i}:/data", "cache:/cache:ro"]
{depends}    healthcheck: {{test: "curl -f http://localhost", interval: 30s}}
    deploy: {{resources: {{limits: {{cpus: "0.5", memory: 256M}}}}}}
"""


def synthetic(directory: Path, count: int) -> Path:
    """One file with ``count`` services of typical size (a chain of depends_on)."""
    body = "".join(
        SERVICE.format(
            i=i, port=10000 + i, admin=20000 + i, depends=f"    depends_on: [svc{i - 1}]\n" if i else ""
        )
        for i in range(count)
    )
    path = directory / "compose.yaml"
    path.write_text("services:" + body + "volumes:\n  cache: {}\n")
    return path


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    files = []
    for path in sorted([*ROOT.rglob("*.yml"), *ROOT.rglob("*.yaml")]):
        try:
            project = load([ComposeFile(path)], env=ENV)
        except InvalidSpec:
            continue
        files.append((path, len(project.translation.specs)))
    services = sum(n for _, n in files) * rounds
    start = time.process_time()
    for _ in range(rounds):
        for path, _ in files:
            load([ComposeFile(path)], env=ENV)
    elapsed = time.process_time() - start
    rate = services / elapsed
    print(f"corpus: {len(files)} files, {services} services in {elapsed:.2f}s: {rate:,.0f} services/s")
    with tempfile.TemporaryDirectory() as tmp:
        path = synthetic(Path(tmp), 500)
        start = time.process_time()
        for _ in range(rounds):
            load([ComposeFile(path)], env=ENV)
        elapsed = time.process_time() - start
        print(f"one file of 500 services: {500 * rounds / elapsed:,.0f} services/s")


if __name__ == "__main__":
    main()
