"""runc exec into running containers.

We test these aspects:
- exit codes pass through (0 and 3), stdout and stderr captured;
- env adds to the container's environment, user names resolve in the container's /etc/passwd, cwd;
- a captured command past its timeout is killed, inside the container too;
- runc's own failure (no such executable) is one line, not an exit code;
- a real terminal with -t (on a pty), and stdin with -i;
- exec into a container that is not running is refused.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from agent.runtime.errors import ContainerStateError, RuntimeFailure
from agent.runtime.execing import Exec
from tests.agent.runtime.conftest import Rig

pytestmark = pytest.mark.usefixtures("running")


@pytest.fixture
def running(rig: Rig) -> Iterator[str]:
    rig.bundle("box", ["sh", "-c", "export FROM_SPEC=spec; exec sleep 1000"], edit=_env)
    rig.containers.create("box", log_path=rig.log_path("box"))
    rig.containers.start("box")
    yield "box"


def _env(config: dict[str, object]) -> None:
    process = config["process"]
    assert isinstance(process, dict)
    process["env"] = [*process["env"], "IMAGE_VAR=from-image"]


def test_exit_codes_and_output(rig: Rig) -> None:
    execs = Exec(rig.containers)
    assert execs.run("box", ["true"]) == 0
    assert execs.run("box", ["sh", "-c", "exit 3"]) == 3
    result = execs.captured("box", ["sh", "-c", "echo out; echo err >&2; exit 3"], timeout=10)
    assert result.exit_code == 3 and not result.timed_out
    assert sorted(result.output.decode().split()) == ["err", "out"]


def test_env_user_cwd(rig: Rig) -> None:
    execs = Exec(rig.containers)
    result = execs.captured(
        "box",
        ["sh", "-c", 'echo "$IMAGE_VAR $EXTRA"; id -u; id -g; pwd'],
        env={"EXTRA": "added"},
        user="nobody",
        cwd="/tmp",
        timeout=10,
    )
    assert result.exit_code == 0
    assert result.output.decode().split("\n")[:4] == ["from-image added", "65534", "65534", "/tmp"]
    assert execs.captured("box", ["id", "-g"], user="65534:0", timeout=10).output == b"0\n"
    os.environ["BERTH_TEST_PASSED"] = "from-caller"
    try:
        listed = ["A=1", "BERTH_TEST_PASSED", "BERTH_TEST_UNSET_VARIABLE"]
        result = execs.captured(
            "box", ["sh", "-c", "env | sort | grep -E '^(A|BERTH_TEST)'"], env=listed, timeout=10
        )
    finally:
        del os.environ["BERTH_TEST_PASSED"]
    assert result.output == b"A=1\nBERTH_TEST_PASSED=from-caller\n"
    with pytest.raises(RuntimeFailure, match="container box: no user 'ghost' in the container's /etc/passwd"):
        execs.captured("box", ["true"], user="ghost", timeout=10)


def test_timeout_kills_the_command(rig: Rig) -> None:
    execs = Exec(rig.containers)
    started = time.monotonic()
    result = execs.captured("box", ["sh", "-c", "echo begun; exec sleep 77"], timeout=0.5)
    assert result.timed_out and result.exit_code is None and result.output == b"begun\n"
    assert time.monotonic() - started < 5
    left = execs.captured("box", ["ps", "-o", "args"], timeout=10).output.decode()
    assert "sleep 77" not in left


def test_runc_failure_is_an_error(rig: Rig) -> None:
    with pytest.raises(RuntimeFailure) as caught:
        Exec(rig.containers).captured("box", ["/no/such/tool"], timeout=10)
    text = str(caught.value)
    assert (
        "\n" not in text and text.startswith("container box: exec /no/such/tool:") and "no such file" in text
    )


def test_not_running_is_refused(rig: Rig) -> None:
    rig.containers.stop("box", "KILL", 0)
    with pytest.raises(ContainerStateError, match="container box: is exited, exec needs it running"):
        Exec(rig.containers).run("box", ["true"])


def _child(rig: Rig, code: str) -> list[str]:
    setup = (
        "import sys; from pathlib import Path; from agent.runtime.paths import RunPaths;"
        "from agent.runtime.containers import Containers; from agent.runtime.execing import Exec;"
        f"x = Exec(Containers(RunPaths(Path({str(rig.paths.run)!r}), {rig.paths.key!r})));"
    )
    return [sys.executable, "-c", setup + code]


def test_tty_gives_a_real_terminal(rig: Rig) -> None:
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        _child(
            rig,
            "sys.exit(x.run('box', ['sh', '-c', 'tty; test -t 0 && echo stdin-is-tty; exit 4'], tty=True, interactive=True))",
        ),
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    os.close(slave)
    output = b""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    assert proc.wait(10) == 4
    text = output.decode(errors="replace")
    assert "/dev/pts/" in text and "stdin-is-tty" in text


def test_interactive_stdin(rig: Rig) -> None:
    done = subprocess.run(
        _child(
            rig, "sys.exit(x.run('box', ['sh', '-c', 'read line; echo got:$line; exit 2'], interactive=True))"
        ),
        input=b"hello\n",
        capture_output=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
        timeout=30,
        check=False,
    )
    assert done.returncode == 2 and done.stdout == b"got:hello\n"
