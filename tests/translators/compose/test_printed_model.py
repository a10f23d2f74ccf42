"""The printed model where Go's formatting shows: what ``docker compose config`` (v2.40.3) prints.

Aspects: deploy.restart_policy delay/window and update_config/rollback_config delay/monitor as Go
durations (1m30s, 1h0m0s, 1m0s); ``healthcheck.disable: false`` omitted; ``gpus: all`` as one
device request with count -1. Each case is compared with the oracle's output for the same file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support import oracle
from tests.support.compose import ENV, load_yaml

CASES: list[tuple[str, str, str, Any]] = [
    ("restart-durations", "deploy: {restart_policy: {condition: any, delay: 90s, window: 1h}}", "deploy",
     {"resources": {}, "placement": {}, "restart_policy": {"condition": "any", "delay": "1m30s",
                                                           "window": "1h0m0s"}}),
    ("update-rollback", "deploy: {update_config: {delay: 60s, monitor: 2m}, rollback_config: {delay: 1s}}",
     "deploy", {"resources": {}, "placement": {}, "update_config": {"delay": "1m0s", "monitor": "2m0s"},
                "rollback_config": {"delay": "1s"}}),
    ("disable-false", "healthcheck: {disable: false, test: [CMD, t]}", "healthcheck", {"test": ["CMD", "t"]}),
    ("gpus-all", "gpus: all", "gpus", [{"count": -1}]),
]  # fmt: skip


@pytest.mark.parametrize(("text", "key", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_same_as_oracle(tmp_path: Path, text: str, key: str, expected: Any) -> None:
    project = load_yaml(tmp_path, f"services:\n  web:\n    image: nginx\n    {text}\n")
    env = {**ENV, "HOME": str(tmp_path), "DOCKER_CONFIG": str(tmp_path / ".docker")}
    code, want, stderr = oracle.run(tmp_path, ["compose.yaml"], env)
    assert code == 0, stderr
    got = json.loads(json.dumps(project.model))["services"]["web"]
    assert want["services"]["web"][key] == expected
    assert got[key] == expected
