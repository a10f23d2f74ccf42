"""Profiles: services with profiles only when enabled, ``*`` for all, COMPOSE_PROFILES, dangling deps."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.compose import errors_of, load_yaml

YAML = """
services:
  web: {image: nginx}
  debug: {image: busybox, profiles: [debug]}
  tools: {image: busybox, profiles: [tools, ops]}
"""


@pytest.mark.parametrize(
    ("profiles", "env", "expected"),
    [((), {}, ["web"]), (("debug",), {}, ["debug", "web"]), (("*",), {}, ["debug", "tools", "web"]),
     ((), {"COMPOSE_PROFILES": "ops"}, ["tools", "web"])],
    ids=["none", "one", "star", "env"],
)  # fmt: skip
def test_enabled_services(
    tmp_path: Path, profiles: tuple[str, ...], env: dict[str, str], expected: list[str]
) -> None:
    project = load_yaml(tmp_path, YAML, profiles=profiles, env=env)
    assert sorted(project.model["services"]) == expected


def test_dependency_on_disabled_service_is_an_error(tmp_path: Path) -> None:
    errors = errors_of(
        tmp_path, "services:\n  web: {image: a, depends_on: [db]}\n  db: {image: b, profiles: [x]}\n"
    )
    assert any('service "web" depends on undefined service "db"' in e for e in errors)


def test_cycle_among_disabled_services_is_accepted(tmp_path: Path) -> None:
    project = load_yaml(
        tmp_path,
        "services:\n  web: {image: a}\n"
        "  x: {image: b, profiles: [p], depends_on: [y]}\n  y: {image: c, profiles: [p], depends_on: [x]}\n",
    )
    assert list(project.model["services"]) == ["web"]
