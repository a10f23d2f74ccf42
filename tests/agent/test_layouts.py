"""OCI layouts written by Berth, read by real peers.

We test these aspects:
- the demo image layout is reproducible: two builds give the same manifest digest;
- skopeo reads it and reports the digest, platform and one layer;
- umoci unpacks it into a root with busybox, its applet links and the page;
- runc runs a process in the unpacked bundle (the image is really runnable);
- entries of every kind (file, dir, symlink, hardlink) survive the round trip through umoci.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

from agent.demo import image as demo
from agent.oci import layouts


def _run(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(args, cwd=cwd, check=True, capture_output=True, text=True).stdout


def test_demo_layout_is_reproducible(tmp_path: Path) -> None:
    first = demo.build_demo_layout(tmp_path / "a")
    second = demo.build_demo_layout(tmp_path / "b")
    assert first.digest == second.digest
    assert sorted(os.listdir(tmp_path / "a" / "blobs" / "sha256")) == sorted(
        os.listdir(tmp_path / "b" / "blobs" / "sha256")
    )


def test_skopeo_reads_the_demo_layout(tmp_path: Path) -> None:
    desc = demo.build_demo_layout(tmp_path / "layout")
    info = json.loads(_run("skopeo", "inspect", f"oci:{tmp_path / 'layout'}:latest"))
    assert info["Digest"] == desc.digest
    assert (info["Os"], info["Architecture"]) == ("linux", "amd64")
    assert len(info["Layers"]) == 1
    assert info["Env"] == ["PATH=/bin"]


def test_umoci_unpacks_and_runc_runs_it(tmp_path: Path) -> None:
    demo.build_demo_layout(tmp_path / "layout")
    bundle = tmp_path / "bundle"
    _run("umoci", "unpack", "--image", f"{tmp_path / 'layout'}:latest", str(bundle))
    root = bundle / "rootfs"
    assert (root / "bin" / "busybox").read_bytes() == demo.BUSYBOX.read_bytes()
    assert os.readlink(root / "bin" / "httpd") == "busybox"
    assert (root / "srv" / "www" / "index.html").read_bytes() == demo.PAGE
    assert oct((root / "tmp").stat().st_mode & 0o7777) == oct(0o1777)
    config = json.loads((bundle / "config.json").read_text())
    config["process"]["args"] = ["sh", "-c", "echo ran as $(id -u) with $(ls /bin | wc -l) entries"]
    config["process"]["terminal"] = False
    (bundle / "config.json").write_text(json.dumps(config))
    out = _run("runc", "run", f"berth-test-{uuid.uuid4().hex[:12]}", cwd=bundle)
    assert out.strip() == f"ran as 0 with {len(demo.APPLETS) + 1} entries"


def test_every_entry_kind_round_trips_through_umoci(tmp_path: Path) -> None:
    entries = [
        layouts.Entry("d", "dir", mode=0o750, uid=1000, gid=1000),
        layouts.Entry("d/f", data=b"content", mode=0o4755),
        layouts.Entry("d/link", "symlink", target="f", mode=0o777),
        layouts.Entry("d/hard", "hardlink", target="d/f"),
    ]
    writer = layouts.LayoutWriter(tmp_path / "layout")
    writer.add_image("t", [layouts.tar_layer(entries)], {"Cmd": ["sh"]})
    _run("umoci", "unpack", "--image", f"{tmp_path / 'layout'}:t", str(tmp_path / "bundle"))
    root = tmp_path / "bundle" / "rootfs"
    st = (root / "d").stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (1000, 1000, 0o750)
    assert (root / "d" / "f").read_bytes() == b"content"
    assert (root / "d" / "f").stat().st_mode & 0o7777 == 0o4755
    assert os.readlink(root / "d" / "link") == "f"
    assert (root / "d" / "hard").stat().st_ino == (root / "d" / "f").stat().st_ino
