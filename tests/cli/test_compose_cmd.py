"""``berth compose config`` through click's CliRunner.

Aspects: default file discovery with the matching override file, COMPOSE_FILE, ``-f``, ``-p``,
``--env-file``, ``--profile``, ``--project-directory``, json and yaml formats, ``--services``/
``--volumes``/``--networks``, ``-q``, ``-`` for stdin, warnings on stderr, exit 2 with every error
on stderr for invalid input, and no Kubernetes or HTTP client imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from agent.cli.compose_cmd import compose, find_default_files
from tests.support.paths import ROOT


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "compose.yaml").write_text(
        "services:\n  web:\n    image: nginx:${TAG:-1}\n    cgroup_parent: x\n"
        "  debug:\n    image: busybox\n    profiles: [debug]\nvolumes:\n  data: {}\n"
    )
    (tmp_path / "compose.override.yaml").write_text("services:\n  web:\n    volumes: ['data:/data']\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COMPOSE_PROJECT_NAME", raising=False)
    monkeypatch.delenv("COMPOSE_PROFILES", raising=False)
    return tmp_path


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(compose, ["config", *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_default_files_and_override(project: Path) -> None:
    assert find_default_files(project) == [project / "compose.yaml", project / "compose.override.yaml"]
    code, out, err = run("--format", "json")
    assert code == 0
    model = json.loads(out)
    assert model["name"] == project.name.lower()
    assert model["services"]["web"]["volumes"][0]["source"] == "data"
    assert "services.web.cgroup_parent: not supported by Berth, ignored" in err


@pytest.mark.parametrize(
    ("args", "expected"),
    [(("--services",), "web\n"), (("--services", "--profile", "debug"), "web\ndebug\n"),
     (("--volumes",), "data\n"), (("--networks",), "default\n"), (("-q",), "")],
    ids=["services", "profile", "volumes", "networks", "quiet"],
)  # fmt: skip
def test_listings(project: Path, args: tuple[str, ...], expected: str) -> None:
    code, out, _ = run(*args)
    assert (code, out) == (0, expected)


def test_yaml_env_file_project_name(project: Path) -> None:
    (project / "vars.env").write_text("TAG=2\n")
    code, out, _ = run("-f", "compose.yaml", "--env-file", "vars.env", "-p", "Shop")
    assert code == 0
    model = yaml.safe_load(out)
    assert (model["name"], model["services"]["web"]["image"]) == ("shop", "nginx:2")
    assert "volumes" not in model["services"]["web"]


def test_stdin_and_project_directory(project: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    other = tmp_path_factory.mktemp("other")
    code, out, _ = run(
        "-f",
        "-",
        "--project-directory",
        str(other),
        "--format",
        "json",
        stdin="services:\n  s:\n    build: .\n",
    )
    assert code == 0
    assert json.loads(out)["services"]["s"]["build"]["context"] == str(other)


def test_invalid_input_exits_2_with_every_error(project: Path) -> None:
    (project / "bad.yaml").write_text("services:\n  a:\n    imag: x\n  b:\n    image: y\n    ports: {p: 1}\n")
    code, out, err = run("-f", "bad.yaml")
    assert code == 2
    assert out == ""
    assert f"{project}/bad.yaml:2: services.a: additional property 'imag' not allowed" in err
    assert f"{project}/bad.yaml:6: services.b.ports: must be an array" in err


def test_no_file_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run()
    assert code == 2
    assert "no configuration file provided" in err


def test_light_imports() -> None:
    code = (
        "import sys, agent.cli.compose_cmd;"
        "print(sorted(m for m in ('kubernetes', 'requests') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.stdout.strip() == "[]"


def test_compose_file_variable(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "other.yaml").write_text("services:\n  other: {image: x}\n")
    monkeypatch.setenv("COMPOSE_FILE", "compose.yaml:other.yaml")
    assert run("--services")[:2] == (0, "web\nother\n")
