"""Finding a container's cgroup in v1, hybrid and v2 layouts.

We test these aspects:
- this host's hybrid layout: one directory per v1 hierarchy plus the unified one;
- a pure v2 layout (a mountinfo naming a cgroup2 mount at a scratch directory): OOM kills from
  memory.events, frozen from cgroup.freeze, removal children first;
- v1: OOM kills from memory.oom_control, frozen from freezer.state.
"""

from __future__ import annotations

from pathlib import Path

from agent.runtime import cgroups


def test_this_host_layout() -> None:
    found = cgroups.hierarchies()
    kinds = {fstype for _, fstype, _ in found}
    assert kinds <= {"cgroup", "cgroup2"} and found
    dirs = cgroups.directories("/berth-x/c")
    assert len(dirs) == len({mount for mount, _, _ in found})
    assert all(str(d).endswith("/berth-x/c") for d in dirs)
    controllers = set().union(*(c for _, t, c in found if t == "cgroup"))
    if controllers:  # hybrid or v1 (this machine): memory, pids, freezer... each its own hierarchy
        assert {"memory", "pids", "freezer"} <= controllers


def _v2(root: Path) -> str:
    return f"30 23 0:26 / {root} rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n"


def test_v2_layout(tmp_path: Path) -> None:
    info = _v2(tmp_path)
    leaf = tmp_path / "berth-k" / "web"
    (leaf / "child").mkdir(parents=True)
    (leaf / "memory.events").write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\n")
    (leaf / "cgroup.freeze").write_text("1\n")
    assert cgroups.directories("/berth-k/web", info) == [leaf]
    assert cgroups.oom_kills("/berth-k/web", info) == 2
    assert cgroups.frozen("/berth-k/web", info)
    (leaf / "cgroup.freeze").write_text("0\n")
    assert not cgroups.frozen("/berth-k/web", info)
    # real cgroup directories hold only kernel files, which rmdir ignores; a scratch one holds ours
    for name in ("memory.events", "cgroup.freeze"):
        (leaf / name).unlink()
    assert cgroups.remove("/berth-k/web", info) == []
    assert not leaf.exists() and (tmp_path / "berth-k").exists()


def test_v1_files(tmp_path: Path) -> None:
    info = "".join(
        f"{i} 23 0:{i} / {tmp_path / c} rw,relatime shared:{i} - cgroup cgroup rw,{c}\n"
        for i, c in enumerate(("memory", "freezer", "pids"), start=40)
    )
    for controller in ("memory", "freezer", "pids"):
        (tmp_path / controller / "b" / "c").mkdir(parents=True)
    (tmp_path / "memory" / "b" / "c" / "memory.oom_control").write_text(
        "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n"
    )
    (tmp_path / "freezer" / "b" / "c" / "freezer.state").write_text("FROZEN\n")
    assert len(cgroups.existing("/b/c", info)) == 3
    assert cgroups.oom_kills("/b/c", info) == 1
    assert cgroups.frozen("/b/c", info)
