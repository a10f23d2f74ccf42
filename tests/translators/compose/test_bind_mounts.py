"""Bind mounts: whether a missing host path is created.

Aspects: the short syntax creates it (docker-compose legacy, printed as ``create_host_path: true``);
the long syntax does not unless ``bind.create_host_path: true`` is given (compose-spec volumes,
"create_host_path"); ``create_host_path: false`` (omitted from the printed model, as docker compose
does) stays false in the spec. The printed model is the oracle's.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import oracle
from tests.support.compose import ENV, load_yaml

CASES = [
    ("short", '"/srv:/data"', True),
    ("long-default", "{type: bind, source: /srv, target: /data}", False),
    ("long-false", "{type: bind, source: /srv, target: /data, bind: {create_host_path: false}}", False),
    ("long-true", "{type: bind, source: /srv, target: /data, bind: {create_host_path: true}}", True),
]


@pytest.mark.parametrize(("volume", "create"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_create_host_path(tmp_path: Path, volume: str, create: bool) -> None:
    project = load_yaml(tmp_path, f"services:\n  web:\n    image: nginx\n    volumes: [{volume}]\n")
    (mount,) = project.translation.specs[0].config.volumes
    assert mount.bind is not None and mount.bind.create_host_path is create
    env = {**ENV, "HOME": str(tmp_path), "DOCKER_CONFIG": str(tmp_path / ".docker")}
    code, want, stderr = oracle.run(tmp_path, ["compose.yaml"], env)
    assert code == 0, stderr
    got = json.loads(json.dumps(project.model))
    assert got["services"]["web"]["volumes"] == want["services"]["web"]["volumes"]


PATHS = """services:
  web:
    image: nginx
    volumes:
      - ./etc-pihole/:/etc/pihole/
      - ./x//y/../z:/a//b/./c/../d/
      - /srv/data/:/x/
      - /srv//data2/.:/y/.
      - data:/var/data/
      - /anon/
      - {type: bind, source: /abs//src/, target: /}
      - {type: volume, source: data, target: /long//v/}
      - {type: tmpfs, target: /tmp/t/}
volumes:
  data: {}
"""


def test_targets_are_cleaned_and_absolute_sources_kept_as_docker_compose_prints_them(tmp_path: Path) -> None:
    project = load_yaml(tmp_path, PATHS)
    env = {**ENV, "HOME": str(tmp_path), "DOCKER_CONFIG": str(tmp_path / ".docker")}
    code, want, stderr = oracle.run(tmp_path, ["compose.yaml"], env)
    assert code == 0, stderr
    got = json.loads(json.dumps(project.model))
    assert got["services"]["web"]["volumes"] == want["services"]["web"]["volumes"]
    targets = [v["target"] for v in got["services"]["web"]["volumes"]]
    assert targets == ["/etc/pihole", "/a/b/d", "/x", "/y", "/var/data", "/anon", "/", "/long/v", "/tmp/t"]
    assert got["services"]["web"]["volumes"][2]["source"] == "/srv/data/"  # what the user wrote
    spec = project.translation.specs[0]
    assert [(v.source, v.target) for v in spec.config.volumes][2:4] == [
        ("/srv/data", "/x"),
        ("/srv/data2", "/y"),
    ]
