"""tmpfs: short strings and ``type: tmpfs`` volumes as the spec's TmpfsMount.

Aspects: the short form's flags (noexec, nosuid), ``ro``, ``uid``/``gid`` and ``size``; a tmpfs
volume's ``read_only`` and ``tmpfs.mode`` (no longer warned about and dropped); the printed model is
what ``docker compose config`` (v2.40.3, the oracle) prints for the same file.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.support import oracle
from tests.support.compose import ENV, load_yaml, warnings_of

YAML = """
services:
  web:
    image: nginx
    tmpfs: ["/run:noexec,nosuid,size=64m", "/x:ro", "/y:uid=1000,gid=1000"]
    volumes:
      - {type: tmpfs, target: /t, read_only: true, tmpfs: {mode: 0o1777, size: 1m}}
"""


def test_mounts(tmp_path: Path) -> None:
    project = load_yaml(tmp_path, YAML)
    mounts = project.translation.specs[0].config.tmpfs
    got = [(m.target, m.size, m.mode, m.readonly, m.flags, m.uid, m.gid) for m in mounts]
    assert got == [
        ("/run", 64 << 20, None, False, ["noexec", "nosuid"], None, None),
        ("/x", None, None, True, [], None, None),
        ("/y", None, None, False, [], 1000, 1000),
        ("/t", 1 << 20, 0o1777, True, [], None, None),
    ]
    assert not [w for w in warnings_of(project) if "tmpfs" in w or "volumes" in w]


def test_model_is_the_oracle_model(tmp_path: Path) -> None:
    project = load_yaml(tmp_path, YAML)
    env = {**ENV, "HOME": str(tmp_path), "DOCKER_CONFIG": str(tmp_path / ".docker")}
    code, want, stderr = oracle.run(tmp_path, ["compose.yaml"], env)
    assert code == 0, stderr
    got = json.loads(json.dumps(project.model))
    assert got["services"]["web"]["tmpfs"] == want["services"]["web"]["tmpfs"]
    assert got["services"]["web"]["volumes"] == want["services"]["web"]["volumes"]
