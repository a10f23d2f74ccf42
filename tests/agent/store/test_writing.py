"""When a writer recovers the store: at its first write, and after a transaction was cut short.

We test these aspects:
- the first write of a process recovers fully (a store of an older Berth has no marker); further
  writes to a clean store do not (full recovery reads every deployment: at 500 deployments it
  was most of the time a deploy held the lock);
- a transaction that fails is settled at once and leaves nothing for ``store check``;
- a transaction cut short (SIGKILL in test_crashes; the marker made by hand here) leaves
  ``metadata/writing``, which ``store check`` reports as interrupted and which makes the next
  writer recover fully;
- leftovers a writer without the marker may leave (``tmp/``) also make the next writer recover.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.store import checking, deploying


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
