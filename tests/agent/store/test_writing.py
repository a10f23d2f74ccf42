"""When a writer recovers the store: at its first write, and after a transaction was cut short.

We test these aspects:
- the first write of a process recovers fully (a store of an older Berth has no marker); further
  writes to a clean store do not (full recovery reads every deployment: at 500 deployments it
  was most of the time a deploy held the lock);
- a transaction that fails is settled at once and leaves nothing for ``store check``;
- a transaction cut short (SIGKILL in test_crashes; the marker made by hand here) leaves
  ``metadata/writing``, which ``store check`` reports as interrupted and which makes the next
  writer recover fully;
- leftovers a writer without the marker may leave (``tmp/``) also make the next writer recover;
- a write that does not recover makes again only the index entries of the deployments it touched,
  and the indexes always equal a rebuild from the deployments;
- a writer killed between the two index files leaves the marker; the next writer or
  ``store recover`` rebuilds both.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.store import atomic, checking, crashpoints, deploying
from agent.store.deployments import Deployments
from tests.support.layers import Entry, layer
from tests.support.paths import ROOT
from tests.support.storing import put_image


def test_recovery_runs_only_when_a_write_may_have_been_cut_short(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = deploying.Store.open(tmp_path / "store")
    recoveries: list[str] = []
    real = deploying.recover_locked

    def counted(s: deploying.Store) -> list[str]:
        recoveries.append("full")
        return real(s)

    monkeypatch.setattr(deploying, "recover_locked", counted)
    marker = store.layout.metadata / deploying.WRITING_MARKER
    with store.writing():
        assert marker.exists()
    with store.writing():
        pass
    assert recoveries == ["full"] and not marker.exists()

    # A transaction that fails (a refused layer, a full disk) is settled at once: the store checks
    # clean afterwards, with no marker left.
    with pytest.raises(RuntimeError), store.writing():
        raise RuntimeError("refused")
    assert recoveries == ["full", "full"] and not marker.exists()
    assert checking.check_debris(store) == []

    # A writer killed mid-transaction leaves the marker (as SIGKILL does in test_crashes).
    marker.touch()
    assert f"unfinished transaction (metadata/{deploying.WRITING_MARKER})" in checking.check_debris(store)
    with store.writing():
        pass
    assert recoveries == ["full"] * 3 and not marker.exists()

    (store.layout.tmp / "half-done").mkdir()
    with store.writing():
        pass
    assert recoveries == ["full"] * 4 and not (store.layout.tmp / "half-done").exists()


IMG1 = "localhost:5000/index/app:1"
IMG2 = "localhost:5000/index/app:2"


def _images(root: Path) -> None:
    put_image(root, IMG1, [layer([Entry("etc/", "dir"), Entry("etc/v", data=b"1\n")])])
    put_image(root, IMG2, [layer([Entry("etc/", "dir"), Entry("etc/v", data=b"2\n")])])


def _files(store: deploying.Store) -> tuple[object, object]:
    meta = store.layout.metadata
    return atomic.read_json(meta / "deployments.json"), atomic.read_json(meta / "containers.json")


def test_index_updated_per_deployment_equals_a_full_rebuild(
    shm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the first (recovering) write, a write makes again only the entries of the deployments
    it touched; after every step of deploys, redeploys, rollbacks and removes the files equal
    what a rebuild from every deployment gives, and ``store check`` finds nothing."""
    root = shm / "store"
    _images(root)
    read: list[str] = []
    real = Deployments._index_entries

    def counted(self: Deployments, name: str) -> object:
        read.append(name)
        return real(self, name)

    monkeypatch.setattr(Deployments, "_index_entries", counted)
    steps: list[Callable[[], object]] = [
        lambda: deploying.deploy(root, deploying.build_spec({"name": "a", "image": IMG1})),
        lambda: deploying.deploy(root, deploying.build_spec({"name": "b", "image": IMG1})),
        lambda: deploying.deploy(root, deploying.build_spec({"name": "c", "image": IMG2})),
        lambda: deploying.deploy(root, deploying.build_spec({"name": "b", "image": IMG2})),
        lambda: deploying.rollback(root, "b"),
        lambda: deploying.remove(root, "a"),
        lambda: deploying.deploy(root, deploying.build_spec({"name": "a", "image": IMG2})),
        lambda: deploying.remove(root, "c", cleanup=True),
    ]
    store = deploying.Store.open(root)
    for i, step in enumerate(steps):
        read.clear()
        step()
        if i > 0:  # the first write of this process rebuilt everything; the others touch one name
            assert len(set(read)) == 1, f"step {i} read the entries of {sorted(set(read))}"
        assert _files(store) == store.deployments.index(), f"step {i}"
        for fname, value in zip(
            ("deployments.json", "containers.json"), store.deployments.index(), strict=True
        ):
            # byte for byte what one dump writes, though the entries' encodings are reused
            dumped = json.dumps(value, sort_keys=True, separators=(",", ":")) + "\n"
            assert (store.layout.metadata / fname).read_text() == dumped, f"step {i}: {fname}"
        assert checking.examine(root).interrupted == [] and checking.check(root) == []
    assert sorted(store.deployments.index()[0]) == ["a", "b"]
    assert store.deployments.index()[0]["b"]["image"] == IMG1  # rolled back


INCREMENTAL_CRASH = f"""
import os, sys
from pathlib import Path
from agent.store import deploying
root = Path(sys.argv[1])
deploying.deploy(root, deploying.build_spec({{"name": "a", "image": sys.argv[2]}}))
os.environ["{crashpoints.ENV}"] = "metadata:deployments-written"  # armed for the second write only
deploying.deploy(root, deploying.build_spec({{"name": "b", "image": sys.argv[2]}}))
"""


def test_a_writer_killed_between_the_two_index_files_is_recovered(shm: Path) -> None:
    """SIGKILL after a per-deployment update wrote ``deployments.json`` and before
    ``containers.json``: the marker stays, ``store check`` reports the interruption (no
    corruption), the next writer rebuilds both files, and so does ``store recover``."""
    root = shm / "store"
    _images(root)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop(crashpoints.ENV, None)
    done = subprocess.run(
        [sys.executable, "-c", INCREMENTAL_CRASH, str(root), IMG1], env=env, capture_output=True, check=False
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    store = deploying.Store.open(root)
    deployments, containers = _files(store)
    assert isinstance(deployments, dict) and isinstance(containers, dict)
    assert sorted(deployments) == ["a", "b"] and sorted(containers) == ["a"]  # cut in between
    findings = checking.examine(root)
    assert findings.problems == []
    assert f"unfinished transaction (metadata/{deploying.WRITING_MARKER})" in findings.interrupted
    assert "metadata/containers.json does not match the deployments" in findings.interrupted
    saved = shm / "copy"
    shutil.copytree(root, saved, symlinks=True)

    deploying.deploy(root, deploying.build_spec({"name": "c", "image": IMG2}))  # the next writer
    assert _files(store) == store.deployments.index()
    assert sorted(store.deployments.index()[1]) == ["a", "b", "c"]
    assert checking.examine(root).interrupted == []

    assert "rewrote metadata indexes" in deploying.recover(saved)  # or `store recover`
    copy = deploying.Store.open(saved)
    assert _files(copy) == copy.deployments.index() and checking.examine(saved).interrupted == []
