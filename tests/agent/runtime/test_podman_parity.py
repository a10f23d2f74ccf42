"""Each override rule of the bundle against what ``podman create`` generates for the same image and
options (the runtime spec podman hands runc), field by field.

Where Berth differs on purpose (see :mod:`agent.runtime.bundles`): noNewPrivileges on by default;
no TERM=xterm without a terminal and no ``container=podman``; the init binary at /run/berth-init;
no implicit tmpfs on /run, /tmp and /var/tmp with a read-only rootfs; /dev/shm mounted by runc
instead of bound from the host; tmpfs without ``tmpcopyup``; device ``fileMode`` without the file
type bits. The hostname is set to the same value on both sides (podman's default is its container id).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.runtime import bundles
from tests.agent.runtime.conftest import MakeInputs
from tests.agent.runtime.podman import Podman
from translators.spec.units import parse_memory

PODMAN_ONLY_ENV = {"container", "TERM"}


def berth(make_inputs: MakeInputs, config: dict[str, Any], image: str = "demo", **kw: Any) -> dict[str, Any]:
    spec = {"name": "parity", "config": {"network": {"mode": "none", "hostname": "h"}, **config}}
    doc: dict[str, Any] = bundles.build(make_inputs(spec, image, **kw)).config
    return doc


def env_of(doc: dict[str, Any], *, drop: set[str] = PODMAN_ONLY_ENV) -> dict[str, str]:
    pairs = (e.partition("=") for e in doc["process"]["env"])
    return {k: v for k, _, v in pairs if k not in drop}


def user_of(doc: dict[str, Any]) -> dict[str, Any]:
    """process.user with the supplementary groups as a set: their order means nothing to the
    kernel, and podman 4.3 builds the list from a Go map, so its order varies from run to run."""
    user: dict[str, Any] = dict(doc["process"]["user"])
    if "additionalGids" in user:
        user["additionalGids"] = sorted(user["additionalGids"])
    return user


def mount_at(doc: dict[str, Any], destination: str) -> dict[str, Any]:
    found = [m for m in doc["mounts"] if m["destination"] == destination]
    assert len(found) == 1, f"{destination}: {found}"
    mount: dict[str, Any] = found[0]
    return mount


# --- process.args: docker's entrypoint/cmd rule -------------------------------------------------


PodmanCall = tuple[tuple[str, ...], tuple[str, ...]]
"""podman create's options and the arguments after the image."""


@pytest.mark.parametrize(
    ("image", "config", "call"),
    [
        ("demo", {}, ((), ())),
        ("demo", {"cmd": ["sleep", "5"]}, ((), ("sleep", "5"))),
        ("users", {}, ((), ())),
        ("users", {"cmd": ["echo hi"]}, ((), ("echo hi",))),
        ("users", {"entrypoint": ["/bin/echo"]}, (("--entrypoint", '["/bin/echo"]'), ())),
        ("users", {"entrypoint": ["/bin/echo"], "cmd": ["a", "b"]}, (("--entrypoint", '["/bin/echo"]'), ("a", "b"))),
    ],
)  # fmt: skip
def test_args(
    podman: Podman, make_inputs: MakeInputs, image: str, config: dict[str, Any], call: PodmanCall
) -> None:
    theirs = podman.spec(image, *call[0], args=call[1])
    ours = berth(make_inputs, config, image)
    assert ours["process"]["args"] == theirs["process"]["args"]


def test_init_runs_catatonit_first(podman: Podman, make_inputs: MakeInputs) -> None:
    theirs = podman.spec("users", "--init")
    ours = berth(make_inputs, {"init": True}, "users")
    assert theirs["process"]["args"][0] == "/run/podman-init"
    assert ours["process"]["args"] == ["/run/berth-init", *theirs["process"]["args"][1:]]
    init = mount_at(ours, "/run/berth-init")
    assert set(init["options"]) == set(mount_at(theirs, "/run/podman-init")["options"])
    assert init["source"] == "/usr/bin/catatonit"


# --- process.env, cwd, terminal --------------------------------------------------------------------


def test_env_image_then_spec(podman: Podman, make_inputs: MakeInputs) -> None:
    theirs = podman.spec("users", "--hostname", "h", "-e", "FOO=spec", "-e", "NEW=1", "-e", "EMPTY=")
    ours = berth(make_inputs, {"env": ["FOO=spec", "NEW=1", "EMPTY="]}, "users")
    assert env_of(ours) == env_of(theirs)
    assert env_of(ours)["FOO"] == "spec"
    assert env_of(ours)["BAR"] == "image"
    assert env_of(ours)["HOME"] == "/home/app"


def test_env_defaults_and_terminal(podman: Podman, make_inputs: MakeInputs) -> None:
    theirs = podman.spec("demo", "--hostname", "h", "-t")
    ours = berth(make_inputs, {"tty": True})
    assert env_of(ours, drop={"container"}) == env_of(theirs, drop={"container"})
    assert ours["process"]["terminal"] is theirs["process"]["terminal"] is True


def test_env_resolves_variables_where_the_container_starts(podman: Podman, make_inputs: MakeInputs) -> None:
    theirs = podman.spec("demo", "--hostname", "h", "-e", "GREETING=hello berth", "-e", "PRICE=$5")
    ours = berth(
        make_inputs,
        {"env": ["GREETING=${GREETING:-x} ${WHO}", "PRICE=$$5"]},
        environ={"GREETING": "hello", "WHO": "berth"},
    )
    assert env_of(ours) == env_of(theirs)


@pytest.mark.parametrize(
    ("image", "config", "options"),
    [("users", {}, ()), ("users", {"working_dir": "/tmp"}, ("-w", "/tmp")), ("demo", {}, ())],
)
def test_cwd(
    podman: Podman, make_inputs: MakeInputs, image: str, config: dict[str, Any], options: tuple[str, ...]
) -> None:
    assert (
        berth(make_inputs, config, image)["process"]["cwd"] == podman.spec(image, *options)["process"]["cwd"]
    )


# --- process.user: passwd/group resolution ---------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "options"),
    [
        ({}, ()),
        ({"user": "0"}, ("-u", "0")),
        ({"user": "root"}, ("-u", "root")),
        ({"user": "app:staff"}, ("-u", "app:staff")),
        ({"user": "1000"}, ("-u", "1000")),
        ({"user": "4242"}, ("-u", "4242")),
        ({"user": "4242:50"}, ("-u", "4242:50")),
        ({"group_add": ["staff", "7"]}, ("--group-add", "staff", "--group-add", "7")),
    ],
)
def test_user(
    podman: Podman, make_inputs: MakeInputs, config: dict[str, Any], options: tuple[str, ...]
) -> None:
    theirs = podman.spec("users", *options)
    ours = berth(make_inputs, config, "users")
    assert user_of(ours) == user_of(theirs)


# --- capabilities ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "security", "options"),
    [
        ("demo", {}, ()),
        ("demo", {"capabilities": {"add": ["NET_ADMIN"], "drop": ["CHOWN"]}}, ("--cap-add", "NET_ADMIN", "--cap-drop", "CHOWN")),
        ("demo", {"capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}}, ("--cap-drop", "ALL", "--cap-add", "NET_BIND_SERVICE")),
        ("demo", {"capabilities": {"drop": ["ALL"]}}, ("--cap-drop", "ALL")),
        ("demo", {"privileged": True}, ("--privileged",)),
        ("users", {}, ()),
        ("users", {"capabilities": {"add": ["NET_BIND_SERVICE"]}}, ("--cap-add", "NET_BIND_SERVICE")),
    ],
)  # fmt: skip
def test_capabilities(
    podman: Podman, make_inputs: MakeInputs, image: str, security: dict[str, Any], options: tuple[str, ...]
) -> None:
    theirs = podman.spec(image, *options)
    ours = berth(make_inputs, {"security": security}, image)
    assert ours["process"]["capabilities"] == {
        k: sorted(v) for k, v in theirs["process"]["capabilities"].items()
    }


def test_no_new_privileges(podman: Podman, make_inputs: MakeInputs) -> None:
    """Berth's default is on (podman's is off); with the option both agree, and off is off."""
    assert berth(make_inputs, {})["process"]["noNewPrivileges"] is True
    assert podman.spec("demo", "--security-opt", "no-new-privileges")["process"]["noNewPrivileges"] is True
    theirs = podman.spec("demo")["process"].get("noNewPrivileges", False)
    assert (
        berth(make_inputs, {"security": {"no_new_privileges": False}})["process"]["noNewPrivileges"] is theirs
    )


# --- rlimits and resources -------------------------------------------------------------------------


def test_rlimits(podman: Podman, make_inputs: MakeInputs) -> None:
    theirs = podman.spec(
        "demo", "--ulimit", "nofile=1024:2048", "--ulimit", "nproc=500:600", "--ulimit", "core=0"
    )
    ours = berth(make_inputs, {"resources": {"ulimits": {"nofile": {"soft": 1024, "hard": 2048}, "nproc": {"soft": 500, "hard": 600}, "core": 0}}})  # fmt: skip
    key = lambda r: r["type"]  # noqa: E731
    assert sorted(ours["process"]["rlimits"], key=key) == sorted(theirs["process"]["rlimits"], key=key)


def test_memory_cpu_pids(podman: Podman, make_inputs: MakeInputs) -> None:
    theirs = podman.spec(
        "demo", "--memory", "64m", "--memory-reservation", "32m", "--cpus", "0.5", "--cpu-shares", "512",
        "--cpuset-cpus", "0", "--pids-limit", "100",
    )  # fmt: skip
    ours = berth(
        make_inputs,
        {"resources": {"memory": "64m", "memory_reservation": "32m", "cpu": 0.5, "cpu_shares": 512, "cpuset": "0", "pids": 100}},
    )  # fmt: skip
    for key in ("memory", "cpu", "pids"):
        assert ours["linux"]["resources"][key] == theirs["linux"]["resources"][key], key


def test_memory_swap(podman: Podman, make_inputs: MakeInputs) -> None:
    theirs = podman.spec("demo", "--memory", "64m", "--memory-swap", "96m")
    ours = berth(make_inputs, {"resources": {"memory": "64m", "memory_swap": "96m"}})
    assert ours["linux"]["resources"]["memory"] == theirs["linux"]["resources"]["memory"]
    theirs = podman.spec("demo", "--memory", "64m", "--memory-swap", "-1")
    ours = berth(make_inputs, {"resources": {"memory": "64m", "memory_swap": -1}})
    assert ours["linux"]["resources"]["memory"] == theirs["linux"]["resources"]["memory"]


def test_devices(podman: Podman, make_inputs: MakeInputs) -> None:
    theirs = podman.spec("demo", "--device", "/dev/fuse:/dev/fuse:rw")
    ours = berth(make_inputs, {"resources": {"devices": ["/dev/fuse:/dev/fuse:rw"]}})
    assert ours["linux"]["resources"]["devices"] == theirs["linux"]["resources"]["devices"]
    (mine,), (their,) = ours["linux"]["devices"], theirs["linux"]["devices"]
    assert {**mine, "fileMode": mine["fileMode"] & 0o7777} == {
        **their,
        "fileMode": their["fileMode"] & 0o7777,
    }


# --- filesystem ---------------------------------------------------------------------------------


def test_readonly_rootfs(podman: Podman, make_inputs: MakeInputs) -> None:
    theirs = podman.spec("demo", "--read-only")
    ours = berth(make_inputs, {"security": {"readonly": True}})
    assert ours["root"]["readonly"] is theirs["root"]["readonly"] is True
    assert berth(make_inputs, {})["root"].get("readonly", False) is podman.spec("demo")["root"].get(
        "readonly", False
    )
    for target in ("/etc/hosts", "/etc/hostname"):
        assert set(mount_at(ours, target)["options"]) - {"rbind", "bind"} == set(
            mount_at(theirs, target)["options"]
        ) - {"rbind", "bind"}


def _options(mount: dict[str, Any]) -> set[str]:
    out = set()
    for option in mount["options"]:
        key, _, value = option.partition("=")
        out.add(f"size={parse_memory(value)}" if key == "size" else option)
    return out - {
        "tmpcopyup",
        "exec",
    }  # podman's extras: copy-up (not done, as docker) and exec (the default)


def test_tmpfs(podman: Podman, make_inputs: MakeInputs) -> None:
    theirs = podman.spec("demo", "--tmpfs", "/scratch:size=8m,mode=1770", "--tmpfs", "/run")
    ours = berth(make_inputs, {"tmpfs": ["/scratch:size=8m,mode=1770", "/run"]})
    for target in ("/scratch", "/run"):
        mine, their = mount_at(ours, target), mount_at(theirs, target)
        assert (mine["type"], _options(mine)) == (their["type"], _options(their)), target


def test_shm_size(podman: Podman, make_inputs: MakeInputs) -> None:
    theirs = podman.inspect("demo", "--shm-size", "128m")["HostConfig"]["ShmSize"]
    ours = mount_at(berth(make_inputs, {"resources": {"shm_size": "128m"}}), "/dev/shm")
    assert f"size={theirs // 1024}k" in ours["options"]
    # podman's default is 64000k (64 MB); Berth's is docker's 64 MiB
    assert "size=65536k" in mount_at(berth(make_inputs, {}), "/dev/shm")["options"]
    their_options = mount_at(podman.spec("demo", "--shm-size", "128m"), "/dev/shm")["options"]
    assert set(their_options) - {"bind", "rprivate"} <= set(ours["options"])


def test_bind_and_volume_mounts(podman: Podman, make_inputs: MakeInputs, shm: Path) -> None:
    host = shm / "host"
    host.mkdir()
    theirs = podman.spec(
        "demo", "-v", f"{host}:/mnt/ro:ro", "-v", f"{host}:/mnt/rw", "-v", f"{host}:/mnt/shared:rshared",
        "-v", "vol1:/data", "-v", "vol1:/data-ro:ro",
    )  # fmt: skip
    ours = berth(
        make_inputs,
        {"volumes": [f"{host}:/mnt/ro:ro", f"{host}:/mnt/rw", f"{host}:/mnt/shared:rshared", "vol1:/data", "vol1:/data-ro:ro"]},
    )  # fmt: skip
    for target in ("/mnt/ro", "/mnt/rw", "/mnt/shared", "/data", "/data-ro"):
        mine, their = mount_at(ours, target), mount_at(theirs, target)
        assert mine["type"] == their["type"] == "bind"
        assert set(mine["options"]) == set(their["options"]), target
        if target.startswith("/mnt"):
            assert mine["source"] == their["source"]
        else:
            assert mine["source"].endswith("/volumes/vol1/_data") and their["source"].endswith(
                "/volumes/vol1/_data"
            )
    assert ours["linux"]["rootfsPropagation"] == theirs["linux"]["rootfsPropagation"]


def test_image_volume_is_an_anonymous_volume(podman: Podman, make_inputs: MakeInputs) -> None:
    theirs = podman.spec("users")
    ours = berth(make_inputs, {}, "users")
    mine, their = mount_at(ours, "/data"), mount_at(theirs, "/data")
    # podman spells out "exec" on image volumes; without "noexec" it is the default anyway
    assert set(mine["options"]) == set(their["options"]) - {"exec"}
    assert "/volumes/" in mine["source"] and "/volumes/" in their["source"]


def test_masked_and_readonly_paths(podman: Podman, make_inputs: MakeInputs) -> None:
    theirs, ours = podman.spec("demo"), berth(make_inputs, {})
    assert ours["linux"]["maskedPaths"] == theirs["linux"]["maskedPaths"]
    assert ours["linux"]["readonlyPaths"] == theirs["linux"]["readonlyPaths"]
    theirs = podman.spec("demo", "--privileged")
    ours = berth(make_inputs, {"security": {"privileged": True}})
    assert ours["linux"].get("maskedPaths", []) == theirs["linux"].get("maskedPaths", [])
    assert ours["linux"].get("readonlyPaths", []) == theirs["linux"].get("readonlyPaths", [])


def test_default_mounts(podman: Podman, make_inputs: MakeInputs) -> None:
    theirs, ours = podman.spec("demo"), berth(make_inputs, {})
    for target in ("/proc", "/dev", "/sys", "/dev/pts", "/dev/mqueue", "/sys/fs/cgroup"):
        mine, their = mount_at(ours, target), mount_at(theirs, target)
        assert (mine["type"], mine["source"], mine["options"]) == (
            their["type"],
            their["source"],
            their["options"],
        )


# --- linux: namespaces, sysctls, seccomp --------------------------------------------------------


def _ns_types(doc: dict[str, Any]) -> list[str]:
    return sorted(n["type"] for n in doc["linux"]["namespaces"])


def test_namespaces(podman: Podman, make_inputs: MakeInputs) -> None:
    assert _ns_types(berth(make_inputs, {})) == _ns_types(podman.spec("demo"))
    host = podman.spec("demo", "--network", "host")
    ours = bundles.build(make_inputs({"name": "parity", "config": {"network": {"mode": "host"}}})).config
    assert _ns_types(ours) == _ns_types(host)
    assert ours["hostname"] == host["hostname"]


def test_sysctls(podman: Podman, make_inputs: MakeInputs) -> None:
    theirs = podman.spec("demo", "--sysctl", "net.ipv4.ip_forward=1", "--sysctl", "kernel.shmmax=1000000")
    ours = berth(
        make_inputs, {"security": {"sysctls": {"net.ipv4.ip_forward": "1", "kernel.shmmax": "1000000"}}}
    )
    assert ours["linux"]["sysctl"] == theirs["linux"]["sysctl"]


@pytest.mark.parametrize(
    ("security", "options"),
    [
        ({}, ()),
        ({"capabilities": {"add": ["SYS_ADMIN", "SYS_PTRACE", "SYS_TIME"]}}, ("--cap-add", "SYS_ADMIN", "--cap-add", "SYS_PTRACE", "--cap-add", "SYS_TIME")),
        ({"capabilities": {"drop": ["ALL"]}}, ("--cap-drop", "ALL")),
    ],
)  # fmt: skip
def test_seccomp_default_profile(
    podman: Podman, make_inputs: MakeInputs, security: dict[str, Any], options: tuple[str, ...]
) -> None:
    theirs = podman.spec("demo", *options)["linux"]["seccomp"]
    ours = berth(make_inputs, {"security": security})["linux"]["seccomp"]
    assert ours == theirs


def test_seccomp_profile_file_and_unconfined(podman: Podman, make_inputs: MakeInputs, shm: Path) -> None:
    profile = shm / "deny-mkdir.json"
    profile.write_text(
        '{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],'
        ' "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}'
    )
    theirs = podman.spec("demo", "--security-opt", f"seccomp={profile}")["linux"]["seccomp"]
    assert berth(make_inputs, {"security": {"seccomp": str(profile)}})["linux"]["seccomp"] == theirs
    theirs_none = podman.spec("demo", "--security-opt", "seccomp=unconfined")["linux"].get("seccomp")
    assert berth(make_inputs, {"security": {"seccomp": "unconfined"}})["linux"].get("seccomp") == theirs_none


def test_privileged(podman: Podman, make_inputs: MakeInputs) -> None:
    theirs = podman.spec("demo", "--privileged")
    ours = berth(make_inputs, {"security": {"privileged": True}})
    assert ours["linux"].get("seccomp") is theirs["linux"].get("seccomp") is None
    assert ours["linux"]["resources"]["devices"] == theirs["linux"]["resources"]["devices"]
    assert sorted(d["path"] for d in ours["linux"]["devices"]) == sorted(
        d["path"] for d in theirs["linux"]["devices"]
    )
    for target in ("/sys", "/sys/fs/cgroup"):
        assert mount_at(ours, target)["options"] == mount_at(theirs, target)["options"]
