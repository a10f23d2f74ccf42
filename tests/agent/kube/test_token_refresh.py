"""The client's token refresh hook, run at most every few seconds.

We test these aspects:
- with a kubeconfig holding a token, the loader's hook (which loads the credentials again and
  sets the server and CA on the configuration at every request) runs once for many requests in a
  row, and again once TOKEN_RECHECK has passed; the token is sent every time;
- the loader's hook putting itself back when it runs does not undo the throttle.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.kube import client
from agent.kube.client import Kube


def _kubeconfig(path: Path) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "t", "cluster": {"server": "https://127.0.0.1:1"}}],
                "users": [{"name": "u", "user": {"token": "secret-token"}}],
                "contexts": [{"name": "t", "context": {"cluster": "t", "user": "u"}}],
                "current-context": "t",
            }
        )
    )
    return path


def test_the_refresh_hook_runs_at_most_every_few_seconds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    configuration = Kube.connect(_kubeconfig(tmp_path / "kubeconfig")).api.configuration
    hosts: list[str] = []
    real = type(configuration).host

    def recording(self: Any, value: str) -> None:  # the loader's hook sets the server each run
        hosts.append(value)
        assert real.fset is not None
        real.fset(self, value)

    monkeypatch.setattr(type(configuration), "host", property(real.fget, recording))
    for _ in range(20):
        assert configuration.get_api_key_with_prefix("BearerToken") == "Bearer secret-token"
    assert len(hosts) == 1
    clock[0] += client.TOKEN_RECHECK
    for _ in range(5):
        assert configuration.get_api_key_with_prefix("BearerToken") == "Bearer secret-token"
    assert len(hosts) == 2
