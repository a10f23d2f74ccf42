"""Unpacking a ~100 MB gzip layer: Berth vs GNU ``tar -xzf`` vs ``umoci unpack``, same script.

Then, from the same layer: the first deploy (unpack, merge, switch), 50 more deploys of the pulled
image (median time) and the disk they use against the image alone (st_blocks of unique inodes).

Usage: ``python -m benchmarks.unpack [--reps N] [--dir DIR] [--layer python|smallfiles]``. The
layer is a tar.gz of the host's Python standard library (``/usr/lib/python3.11`` and
``/usr/lib/python3``: ~100 MB, ~5k entries), or 20,000 random files of 1-4 KB, built once. Every
repetition writes into a fresh directory and nothing is deleted until the end: this disk slows
file creation right after mass deletes (shared/peers-here.md). Absolute times are noisy; the
ratios are the result.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from agent.store import deploying, layers, streams, unpacking
from agent.store.blobs import BlobStore
from agent.store.layout import Layout
from tests.support.layers import Entry, layer
from tests.support.ocilayouts import write_layout
from tests.support.storing import put_image
from tests.support.trees import disk_blocks

SOURCES = ["usr/lib/python3.11", "usr/lib/python3"]


def _smallfiles(blob: Path, count: int = 20_000) -> None:
    """A layer like shared/peers-here.md's smallfiles:20k: ``count`` files of 1-4 KB in 100 dirs."""
    entries = [
        Entry(f"data/d{i % 100:02d}/f{i:05d}", data=os.urandom(1024 + (i * 37) % 3072)) for i in range(count)
    ]
    blob.write_bytes(layer(entries, "gzip"))


def _timed(func: object) -> float:
    assert callable(func)
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def _deploys(root: Path, data: bytes, count: int = 50) -> None:
    put_image(root, "localhost/bench:1", [data])
    spec = deploying.build_spec({"name": "first", "image": "localhost/bench:1"})
    first = _timed(lambda: deploying.deploy(root, spec))
    times = [
        _timed(
            lambda i=i: deploying.deploy(
                root, deploying.build_spec({"name": f"d{i}", "image": "localhost/bench:1"})
            )
        )
        for i in range(count)
    ]
    layout = Layout(root)
    image = 512 * disk_blocks([layout.layers])
    total = 512 * disk_blocks([layout.layers, layout.merged, layout.deployments])
    print(f"first deploy (unpack + merge + switch): {first:.3f} s")
    print(
        f"deploy of the pulled image: median {statistics.median(times) * 1000:.1f} ms,"
        f" max {max(times) * 1000:.1f} ms"
    )
    print(
        f"disk: image {image >> 20} MiB; with {count + 1} deployments {total >> 20} MiB;"
        f" ratio {total / image:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None, help="scratch directory (default: /tmp, on disk)")
    parser.add_argument("--layer", choices=["python", "smallfiles"], default="python")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="berth-bench-", dir=args.dir))
    try:
        blob = work / "layer.tar.gz"
        if args.layer == "python":
            subprocess.run(["tar", "-C", "/", "-czf", str(blob), *SOURCES], check=True)
        else:
            _smallfiles(blob)
        data = blob.read_bytes()
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        with open(blob, "rb") as raw:
            stream, _ = streams.open_tar_stream(raw)
            tar_size = sum(len(chunk) for chunk in iter(lambda: stream.read(1 << 20), b""))
        print(f"layer: {len(data) / 1e6:.1f} MB gzip, {tar_size / 1e6:.1f} MB tar")
        write_layout(work / "oci", "t", [data])
        results: dict[str, list[float]] = {
            "tar -xzf": [],
            "berth unpack": [],
            "berth layer+syncfs": [],
            "umoci unpack": [],
        }
        for rep in range(args.reps):
            out = work / f"tar{rep}"
            out.mkdir()
            results["tar -xzf"].append(
                _timed(lambda out=out: subprocess.run(["tar", "-xzf", str(blob), "-C", str(out)], check=True))
            )

            out = work / f"berth{rep}"
            out.mkdir()

            def berth(out: Path = out) -> None:
                with open(blob, "rb") as raw:
                    stream, _ = streams.open_tar_stream(raw)
                    unpacking.unpack_stream(stream, out)

            results["berth unpack"].append(_timed(berth))

            root = work / f"store{rep}"
            store_blobs = BlobStore(root)
            store_blobs.write_bytes(data, digest)
            layout = Layout(root)
            results["berth layer+syncfs"].append(
                _timed(lambda layout=layout, b=store_blobs: layers.ensure_layer(layout, b, digest))
            )

            bundle = work / f"umoci{rep}"
            results["umoci unpack"].append(
                _timed(
                    lambda bundle=bundle: subprocess.run(
                        ["umoci", "unpack", "--image", f"{work / 'oci'}:t", str(bundle)],
                        check=True,
                        capture_output=True,
                    )
                )
            )
        base = statistics.median(results["tar -xzf"])
        print(f"{'what':<22}{'median s':>10}{'vs tar':>9}")
        for what, times in results.items():
            med = statistics.median(times)
            print(f"{what:<22}{med:>10.3f}{med / base:>8.2f}x")
        _deploys(work / "deploys", data)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
