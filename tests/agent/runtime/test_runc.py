"""The bundle is valid: the real runc runs it on a busybox rootfs (a plain directory).

We test these aspects: the process runs as the image's passwd user with its groups, with the
capability sets asked for (docker's default set for root, only the added ones, ambient, for a
non-root user), no-new-privileges, the seccomp filter, the resolved environment, the generated
/etc files, a named volume filled from the image, a read-only bind and a tmpfs.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from agent.runtime import capabilities, preparing
from agent.runtime.inputs import BundleInputs
from tests.agent.runtime.conftest import MakeInputs

pytestmark = pytest.mark.skipif(shutil.which("runc") is None, reason="runc is not installed")


def _mask(names: list[str]) -> int:
    return sum(1 << capabilities.BITS.index(n) for n in names)


def run(inputs: BundleInputs, state: Path, umask: str = "022") -> str:
    """``runc run`` of the bundle (rootfs: a copy of the image tree), its output; the container
    is deleted afterwards whatever happens."""
    preparing.create(inputs)
    shutil.copytree(inputs.image_root, inputs.rootfs, symlinks=True, dirs_exist_ok=True)
    cid = f"berth-test-{inputs.run_dir.parent.parent.name}-{inputs.name}"
    try:
        proc = subprocess.run(
            # runc creates missing mount points under its own umask: Berth must start it with 022
            [
                "sh",
                "-c",
                f'umask {umask} && exec "$@"',
                "sh",
                "runc",
                "--root",
                str(state),
                "run",
                "--bundle",
                str(inputs.bundle),
                cid,
            ],
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
    finally:
        subprocess.run(["runc", "--root", str(state), "delete", "-f", cid], capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _status(out: str) -> dict[str, str]:
    fields = {}
    for line in out.splitlines():
        key, sep, value = line.partition(":\t")
        if sep:
            fields[key] = value.strip()
    return fields


SCRIPT = "id; umask; grep -E '^(Cap|NoNewPrivs|Seccomp)' /proc/self/status; cat /etc/hostname; echo greeting=$GREETING"


def test_root_with_default_capabilities(make_inputs: MakeInputs, shm: Path) -> None:
    inputs = make_inputs(
        {"name": "rc-root", "config": {"cmd": ["sh", "-c", SCRIPT], "env": {"GREETING": "${WHO:-nobody}"},
                                       "network": {"mode": "none", "hostname": "box"}}},
        environ={"WHO": "berth"},
    )  # fmt: skip
    out = run(inputs, shm / "runc", umask="077")  # the container's umask comes from the bundle
    assert out.splitlines()[0] == "uid=0(root) gid=0(root)"
    status = _status(out)
    default = _mask(list(capabilities.container_set(inputs.deployment.spec.config.security)))
    assert int(status["CapEff"], 16) == default
    assert int(status["CapBnd"], 16) == default
    assert int(status["CapAmb"], 16) == 0
    assert status["NoNewPrivs"] == "1"
    assert status["Seccomp"] == "2"
    assert "box" in out.splitlines()
    assert "greeting=berth" in out.splitlines()
    assert "0022" in out.splitlines()


def test_image_user_gets_only_added_capabilities(make_inputs: MakeInputs, shm: Path) -> None:
    inputs = make_inputs(
        {"name": "rc-app", "config": {"cmd": [SCRIPT], "network": {"mode": "none"},
                                      "security": {"capabilities": {"add": ["NET_BIND_SERVICE"]}}}},
        image="users",
    )  # fmt: skip
    out = run(inputs, shm / "runc")
    assert out.splitlines()[0] == "uid=1000(app) gid=1000(app) groups=10(wheel),29(audio),1000(app)"
    status = _status(out)
    assert int(status["CapEff"], 16) == _mask(["CAP_NET_BIND_SERVICE"])
    assert int(status["CapAmb"], 16) == _mask(["CAP_NET_BIND_SERVICE"])
    assert status["NoNewPrivs"] == "1"


def test_mounts_inside_the_container(make_inputs: MakeInputs, shm: Path) -> None:
    host = shm / "host-data"
    host.mkdir()
    (host / "hello").write_text("from the host\n")
    script = (
        "cat /data/seed.txt; ls -ln /data; cat /mnt/host/hello; touch /mnt/host/x 2>&1 || echo ro-ok; "
        "grep -E ' /(scratch|dev/shm|data) ' /proc/mounts; ls -ld /scratch; cat /run/secrets/token; echo; "
        "ls -ln /run/secrets/token"
    )
    inputs = make_inputs(
        {"name": "rc-mounts", "config": {
            "cmd": [script], "network": {"mode": "none"},
            "volumes": [f"{host}:/mnt/host:ro"],
            "tmpfs": ["/scratch:size=8m,mode=1777"],
            "resources": {"shm_size": "16m"},
            "files": [{"target": "/run/secrets/token", "content": "s3cret", "secret": True}],
        }},
        image="users",
    )  # fmt: skip
    out = run(inputs, shm / "runc")
    lines = out.splitlines()
    assert lines[0] == "seed"
    assert any(
        line.startswith("-rw-r-----") and "1000     1000" in line and "seed.txt" in line for line in lines
    )
    assert "from the host" in lines
    assert "ro-ok" in lines or any("Read-only file system" in line for line in lines)
    assert any(" /scratch tmpfs " in line and "size=8192k" in line for line in lines)
    assert any(line.startswith("drwxrwxrwt") and line.endswith("/scratch") for line in lines)
    assert any(" /data " in line for line in lines), "the image's VOLUME is a mount"
    assert any(" /dev/shm tmpfs " in line and "size=16384k" in line for line in lines)
    assert "s3cret" in lines
    assert any(line.startswith("-rw-------") and "1000     1000" in line for line in lines)


def test_init_readonly_and_seccomp_profile(make_inputs: MakeInputs, shm: Path) -> None:
    profile = shm / "deny-mkdir.json"
    profile.write_text(
        '{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"],'
        ' "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}'
    )
    script = "cat /proc/1/cmdline; echo; touch /rootfile 2>&1; mkdir /tmp/d 2>&1; echo done"
    inputs = make_inputs(
        {"name": "rc-init", "config": {
            "cmd": ["sh", "-c", script], "init": True, "network": {"mode": "none"},
            "tmpfs": ["/tmp"], "security": {"readonly": True, "seccomp": str(profile)},
        }},
    )  # fmt: skip
    out = run(inputs, shm / "runc")
    assert "/run/berth-init" in out.splitlines()[0]  # catatonit is PID 1, the command its child
    assert "Read-only file system" in out
    assert "mkdir: can't create directory '/tmp/d': Operation not permitted" in out
    assert out.splitlines()[-1] == "done"
