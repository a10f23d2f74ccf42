"""From a real registry to a deployed root filesystem: Berth against skopeo + umoci.

We test these aspects:
- an image with whiteouts, an opaque directory, hard links, symlinks, setuid bits and owners,
  pushed to Debian's docker-registry with skopeo, is deployed by ``berth container deploy`` (the
  whole process: pull from the registry, verify, unpack, stack, switch);
- the pull reports each verified blob on stderr as plain lines (no terminal);
- the same image copied with ``skopeo copy docker:// oci:`` and unpacked with ``umoci unpack``
  gives the identical tree: paths, kinds, modes, owners, link targets, contents and mtimes;
- the store passes ``berth store check`` afterwards and records the manifest digest that was pushed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.agent.store.test_umoci_crosscheck import LAYERS
from tests.support import registry
from tests.support.layers import layer
from tests.support.ocilayouts import write_layout
from tests.support.trees import describe

BERTH = [sys.executable, "-c", "from agent.cli.main import main; main()"]


def _run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True, timeout=120).stdout


def test_berth_deploy_equals_skopeo_and_umoci(tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    write_layout(layout, "t", [layer(entries, compression) for entries, compression in LAYERS])
    with registry.running(tmp_path / "registry") as reg:
        ref = f"{reg.host}/cross/whiteouts:t"
        registry.push(layout, "t", ref)

        root = tmp_path / "store"
        done = subprocess.run(
            [
                *BERTH,
                "container",
                "deploy",
                "--no-start",
                "--root",
                str(root),
                "--name",
                "x",
                ref,
                "-o",
                "json",
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        assert json.loads(done.stdout)["name"] == "x"
        assert done.stderr.count("verified sha256:") == len(LAYERS) + 1  # layers and config, as plain lines

        peer = tmp_path / "peer"
        _run("skopeo", "copy", "--quiet", "--src-tls-verify=false", f"docker://{ref}", f"oci:{peer}:t")
        _run("umoci", "unpack", "--image", f"{peer}:t", str(tmp_path / "bundle"))

    ours = describe(root / "deployments" / "x" / "rootfs", mtimes=True)
    theirs = describe(tmp_path / "bundle" / "rootfs", mtimes=True)
    assert len(theirs) > 20
    assert sorted(ours) == sorted(theirs)
    assert {p: ours[p] for p in theirs} == theirs
    assert "usr/share/doc/a" not in ours and "var/cache/keep" not in ours  # whiteout and opaque applied

    pushed = json.loads((layout / "index.json").read_text())["manifests"][0]["digest"]
    state = json.loads((root / "deployments" / "x" / "state.json").read_text())
    assert state["image_digest"] == pushed  # the manifest, byte for byte as pushed
    check = subprocess.run(
        [*BERTH, "store", "check", "--root", str(root)], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
