"""Project name: -p, then COMPOSE_PROJECT_NAME (also from .env), then ``name:``, then the directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.compose import load_yaml, write


@pytest.mark.parametrize(
    ("given", "env", "text", "expected"),
    [("Given", {"COMPOSE_PROJECT_NAME": "env"}, "name: file\n", "given"),
     (None, {"COMPOSE_PROJECT_NAME": "env"}, "name: file\n", "env"),
     (None, {}, "name: My.File\n", "myfile"),
     (None, {}, "", "my_app-1")],
    ids=["flag", "env", "file", "directory"],
)  # fmt: skip
def test_precedence(tmp_path: Path, given: str | None, env: dict[str, str], text: str, expected: str) -> None:
    directory = tmp_path / "My_App-1"
    directory.mkdir()
    project = load_yaml(directory, text + "services:\n  w: {image: x}\n", env=env, project_name=given)
    assert project.model["name"] == expected
    assert project.translation.specs[0].name == f"{expected}-w"
    assert project.translation.project.name == expected


def test_from_dotenv(tmp_path: Path) -> None:
    write(tmp_path, ".env", "COMPOSE_PROJECT_NAME=dotenv\n")
    assert load_yaml(tmp_path, "name: file\nservices:\n  w: {image: x}\n").model["name"] == "dotenv"
