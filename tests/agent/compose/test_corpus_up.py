"""Files of the shared corpus come up end to end, not only parse: podman-compose's ``deps`` tests,
their image rewritten to the demo image (busybox, as theirs) and ``dumb-init`` replaced by the
runtime's init (``init: true``: the same PID 1 contract). Each service must run or exit, and ``up``
succeed or fail, as docker compose has them do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.agent.compose.conftest import IMAGE, Host
from tests.support.paths import CORPUS, ROOT

# a worktree (<root>/wt/<name>) finds the shared corpus two levels up
_CORPUS = next((c for c in (CORPUS, ROOT.parents[1] / "shared" / "corpus") if c.is_dir()), CORPUS)
DEPS = _CORPUS / "compose" / "podman-compose" / "deps"
# file -> (up's exit code, service -> "running" | "exited 0" | "absent")
EXPECTED: dict[str, tuple[int, dict[str, str]]] = {
    "docker-compose.yaml": (0, {"web": "running", "sleep": "running", "sleep2": "running"}),
    "docker-compose-conditional-completed.yaml": (0, {"oneshot": "exited 0", "longrunning": "running"}),
    "docker-compose-conditional-completed-failed.yaml": (1, {"should_not_start": "absent"}),
    "docker-compose-conditional-fails.yaml": (1, {"sleep": "absent"}),
    "docker-compose-conditional-healthy.yaml": (0, {"web": "running", "sleep": "running"}),
}


def rewrite(path: Path, project: str) -> str:
    model: dict[str, Any] = yaml.safe_load(path.read_text())
    model["name"] = project
    for service in model["services"].values():
        service["image"] = IMAGE
        command = service.get("command")
        if isinstance(command, list) and command and command[0] == "dumb-init":
            service["command"] = command[1:]
            service["init"] = True
    return yaml.safe_dump(model)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_deps_come_up(host: Host, name: str) -> None:
    code, states = EXPECTED[name]
    f = str(host.write("compose.yaml", rewrite(DEPS / name, host.project)))
    up = host.berth("compose", "-f", f, "up", "-d")
    assert up.returncode == code, up.stderr
    if code:
        assert "error: service " in up.stderr
    for service, want in states.items():
        container = f"{host.project}-{service}-1"
        if want == "absent":
            assert all(d.name != container for d in host.engine.store().list()), up.stderr
            continue
        status = host.engine.status(container)
        if want == "running":
            assert status.state == "running", (container, status)
        else:
            assert status.state in ("exited", "stopped") and status.exit_code == 0, (container, status)
    down = host.berth("compose", "-f", f, "down", "-t", "0")
    assert down.returncode == 0, down.stderr
    assert host.engine.store().list() == []
