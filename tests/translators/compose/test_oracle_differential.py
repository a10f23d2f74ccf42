"""Differential test: generated compose files through Docker Compose v2.40.3 and through Berth.

Aspects: image, command/entrypoint (string and list), environment with interpolation and defaults,
port and volume short forms, depends_on short and long, and extras (healthcheck, restart, deploy
resources, mem_limit, cap_add, read_only, tmpfs, stop_grace_period, labels, profiles, networks,
user, working_dir). When the oracle rejects a file we must too; when it accepts one our model must
agree on those keys, then on the whole model. The oracle is required: if it is missing the test
fails and says how to install it (see tests/support/oracle.py).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings

from tests.support import oracle
from tests.support.compose_strategies import ENV, compose_files, dotenv_files
from translators.compose import ComposeFile, load
from translators.errors import InvalidSpec

KEYS = ("image", "command", "entrypoint", "environment", "ports", "volumes", "depends_on")
pytestmark = pytest.mark.slow


def test_oracle_is_installed() -> None:
    assert oracle.ORACLE.is_file() and os.access(oracle.ORACLE, os.X_OK), (
        f"Docker Compose oracle missing at {oracle.ORACLE}; install it with: {oracle.INSTALL}"
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(compose_files())
def test_same_model_as_docker_compose(model: dict[str, Any]) -> None:
    assert oracle.ORACLE.is_file(), f"install the oracle: {oracle.INSTALL}"
    with tempfile.TemporaryDirectory() as tmp:
        project_dir = Path(tmp) / "proj"
        project_dir.mkdir()
        (project_dir / "compose.yaml").write_text(yaml.safe_dump(model))
        home = str(Path(tmp) / "home")
        env = {**ENV, "HOME": home, "PATH": "/usr/bin:/bin", "DOCKER_CONFIG": f"{home}/.docker"}
        code, want, stderr = oracle.run(project_dir, ["compose.yaml"], env)
        try:
            got = load([ComposeFile(project_dir / "compose.yaml")], env=env).model
        except InvalidSpec as exc:
            assert code != 0, f"oracle accepted, we failed: {exc}\n{yaml.safe_dump(model)}"
            return
        assert code == 0, f"oracle failed ({stderr.strip()}), we accepted:\n{yaml.safe_dump(model)}"
        got = json.loads(json.dumps(got))
        assert got["name"] == want["name"]
        for name, service in want["services"].items():
            for key in KEYS:
                assert got["services"][name].get(key) == service.get(key), (name, key, yaml.safe_dump(model))
        assert got == want, yaml.safe_dump(model)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dotenv_files())
def test_same_dotenv_as_docker_compose(lines: list[tuple[str, str, str]]) -> None:
    assert oracle.ORACLE.is_file(), f"install the oracle: {oracle.INSTALL}"
    with tempfile.TemporaryDirectory() as tmp:
        project_dir = Path(tmp) / "proj"
        project_dir.mkdir()
        (project_dir / ".env").write_text("".join(f"{p}{k}{v}\n" for p, k, v in lines))
        environment = {k: f"${{{k}}}" for _, k, _ in lines}
        (project_dir / "compose.yaml").write_text(
            yaml.safe_dump({"services": {"w": {"image": "x", "environment": environment}}})
        )
        env = {**ENV, "HOME": tmp, "PATH": "/usr/bin:/bin"}
        code, want, stderr = oracle.run(project_dir, ["compose.yaml"], env)
        dotenv_text = (project_dir / ".env").read_text()
        try:
            got = load([ComposeFile(project_dir / "compose.yaml")], env=env).model
        except InvalidSpec as exc:
            assert code != 0, f"oracle accepted, we failed: {exc}\n{dotenv_text}"
            return
        assert code == 0, f"oracle failed ({stderr.strip()}), we accepted:\n{dotenv_text}"
        assert got["services"]["w"].get("environment") == want["services"]["w"].get("environment"), (
            dotenv_text
        )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(compose_files(), compose_files())
def test_same_merge_as_docker_compose(base: dict[str, Any], override: dict[str, Any]) -> None:
    assert oracle.ORACLE.is_file(), f"install the oracle: {oracle.INSTALL}"
    with tempfile.TemporaryDirectory() as tmp:
        project_dir = Path(tmp) / "proj"
        project_dir.mkdir()
        (project_dir / "base.yaml").write_text(yaml.safe_dump(base))
        (project_dir / "override.yaml").write_text(yaml.safe_dump(override))
        env = {**ENV, "HOME": tmp, "PATH": "/usr/bin:/bin"}
        code, want, stderr = oracle.run(project_dir, ["base.yaml", "override.yaml"], env)
        shown = yaml.safe_dump({"base": base, "override": override})
        try:
            got = load(
                [ComposeFile(project_dir / "base.yaml"), ComposeFile(project_dir / "override.yaml")], env=env
            )
        except InvalidSpec as exc:
            assert code != 0, f"oracle accepted, we failed: {exc}\n{shown}"
            return
        assert code == 0, f"oracle failed ({stderr.strip()}), we accepted:\n{shown}"
        assert json.loads(json.dumps(got.model)) == want, shown
