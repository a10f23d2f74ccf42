"""Merging several ``-f`` files by the Compose Specification's rules.

Aspects: mappings merged, sequences appended, ``command``/``entrypoint``/``healthcheck.test``
replaced, ports/volumes/secrets/expose merged by identity (short and long forms collide),
environment merged by key, ``!reset`` and ``!override``.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.compose import load_yaml

BASE = """
services:
  web:
    image: nginx
    command: [a, b]
    environment: {A: "1", B: "1"}
    ports: ["80:80", "443:443"]
    volumes: ["./data:/data", "cache:/cache"]
    expose: ["3000"]
    healthcheck: {test: [CMD, base]}
    labels: [x=1]
volumes:
  cache: {}
"""


def test_override_rules(tmp_path: Path) -> None:
    project = load_yaml(
        tmp_path,
        BASE,
        """
        services:
          web:
            command: c
            environment: [B=2, C=3]
            ports: [{target: 80, published: "80"}, "8080:8080"]
            volumes: ["./other:/data"]
            expose: ["3000", "4000"]
            healthcheck: {test: [CMD, override]}
        """,
    )
    web = project.model["services"]["web"]
    assert web["command"] == ["c"]
    assert web["environment"] == {"A": "1", "B": "2", "C": "3"}
    assert [(p["target"], p.get("published")) for p in web["ports"]] == [
        (80, "80"),
        (443, "443"),
        (8080, "8080"),
    ]
    assert [(v["source"].rsplit("/", 1)[-1], v["target"]) for v in web["volumes"]] == [
        ("other", "/data"),
        ("cache", "/cache"),
    ]
    assert web["expose"] == ["3000", "4000"]
    assert web["healthcheck"]["test"] == ["CMD", "override"]


def test_reset_and_override_tags(tmp_path: Path) -> None:
    project = load_yaml(
        tmp_path,
        BASE,
        """
        services:
          web:
            ports: !reset []
            environment: !override {ONLY: "1"}
            labels: !reset null
        """,
    )
    web = project.model["services"]["web"]
    assert "ports" not in web
    assert "labels" not in web
    assert web["environment"] == {"ONLY": "1"}
