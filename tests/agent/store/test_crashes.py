"""SIGKILL at every step of every transaction, then recovery.

We test these aspects:
- deploy (fresh), deploy --rollback over a deployment, update, rollback, remove and config set are
  each run by the real CLI in a subprocess with ``BERTH_CRASH_AT`` set to every step name listed in
  ``agent.store.crashpoints.STEPS`` (the code's own list), and die there;
- after ``berth store recover`` the store holds exactly the old state or the new one, passes
  ``berth store check``, and the old deployment's rootfs matches its layers file by file (compared
  with a model computed from the layer entries, not by the store);
- every listed step is reached by at least one operation (the list has no dead names).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent.store import checking, crashpoints, deploying
from tests.support.layers import Entry, layer, opaque, whiteout
from tests.support.paths import ROOT
from tests.support.storing import put_image
from tests.support.trees import describe, expected_tree

IMG1 = "localhost:5000/crash/app:1"
IMG2 = "localhost:5000/crash/app:2"
LAYERS1 = [
    [
        Entry("etc/", "dir"),
        Entry("etc/os-release", data=b"v1\n"),
        Entry("bin/tool", data=b"t" * 5000, mode=0o755),
    ],
    [
        Entry("lib", "symlink", linkname="usr/lib"),
        Entry("usr/lib/libc.so", data=b"libc"),
        Entry("var/cache/x", data=b"c"),
    ],
]
LAYERS2 = [
    LAYERS1[0],
    [
        Entry("etc/os-release", data=b"v2\n"),
        whiteout("bin/tool"),
        opaque("var/cache"),
        Entry("var/cache/y", data=b"y"),
    ],
]
OPS = {
    "deploy": (None, ["container", "deploy", "--no-start", IMG1, "--name", "web"]),
    "deploy-rollback": ("one", ["container", "deploy", "--no-start", IMG2, "--name", "web", "--rollback"]),
    "update": ("one-retagged", ["container", "update", "web", "--no-pull"]),
    "rollback": ("two", ["container", "rollback", "web"]),
    "remove": ("one", ["container", "remove", "web", "--cleanup"]),
    "config-set": ("one", ["container", "config", "web", "set", "config.working_dir", "/srv"]),
}
reached: set[str] = set()


def _prepare(root: Path, state: str | None) -> None:
    put_image(root, IMG1, [layer(e) for e in LAYERS1])
    if state is None:
        return
    put_image(root, IMG2, [layer(e, "zstd") for e in LAYERS2])
    spec = deploying.build_spec({"name": "web", "image": IMG1})
    deploying.deploy(root, spec)
    if state == "two":
        deploying.deploy(root, deploying.build_spec({"name": "web", "image": IMG2}))
    if state == "one-retagged":  # the tag now names another image, as after a push
        put_image(root, IMG1, [layer(e, "zstd") for e in LAYERS2], note="v2")


def _run(root: Path, args: list[str], step: str | None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BERTH_ROOT": str(root)}
    env.pop(crashpoints.ENV, None)
    if step:
        env[crashpoints.ENV] = step
    code = "from agent.cli.main import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=False
    )


def _state(root: Path) -> dict[str, object]:
    store = deploying.Store.open(root)
    out: dict[str, object] = {}
    for name in store.deployments.names():
        current = store.deployments.current(name)
        out[name] = (current.state["image_digest"], current.rollback, current.spec()["config"]["working_dir"])
    return out


def _rootfs_ok(root: Path) -> None:
    """Every kept version's rootfs is, file by file, one of the two images."""
    store = deploying.Store.open(root)
    models = [expected_tree(LAYERS1), expected_tree(LAYERS2)]
    for name in store.deployments.names():
        for version in (store.deployments.current(name), store.deployments.previous(name)):
            if version is not None:
                assert describe(version.rootfs) in models, (
                    f"{name} version {version.serial} differs from its layers"
                )


@pytest.mark.slow
@pytest.mark.parametrize("op", list(OPS), ids=list(OPS))
def test_crash_at_every_step(op: str, shm: Path) -> None:
    state, args = OPS[op]
    template = shm / "template"
    template.mkdir()
    _prepare(template, state)
    old = _state(template)
    new_root = shm / "reference"
    subprocess.run(["cp", "-a", str(template), str(new_root)], check=True)
    done = _run(new_root, args, None)
    assert done.returncode == 0, done.stderr
    new = _state(new_root)
    assert new != old or op == "config-set"
    for step in crashpoints.STEPS:
        root = shm / f"case-{step.replace(':', '-')}"
        subprocess.run(["cp", "-a", str(template), str(root)], check=True)
        result = _run(root, args, step)
        if result.returncode == -9:
            reached.add(step)
        else:
            assert result.returncode == 0, result.stderr
        recovered = _run(root, ["store", "recover", "-o", "json"], None)
        assert recovered.returncode == 0, recovered.stderr
        json.loads(recovered.stdout)
        assert checking.check(root) == [], f"{op} killed at {step}"
        assert _state(root) in (old, new), f"{op} killed at {step}: neither old nor new state"
        _rootfs_ok(root)


def test_every_step_is_in_the_code_and_reached() -> None:
    """Each listed step is hit in the store code; after the crash tests, each one killed something."""
    source = "".join(p.read_text() for p in (ROOT / "agent" / "store").glob("*.py"))
    for step in crashpoints.STEPS:
        assert f'crashpoints.hit("{step}")' in source, step
    if reached:  # the crash tests ran in this session
        assert set(crashpoints.STEPS) == reached
