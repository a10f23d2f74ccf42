"""``include``: string, list and long forms; own project dir and .env; conflicts and cycles."""

from __future__ import annotations

from pathlib import Path

from tests.support.compose import errors_of, load_yaml, write


def test_included_project_keeps_its_dir_and_env(tmp_path: Path) -> None:
    write(tmp_path, "sub/.env", "TAG=sub\n")
    write(
        tmp_path, "sub/compose.yaml", "services:\n  db:\n    image: pg:${TAG}\n    volumes: ['./data:/d']\n"
    )
    project = load_yaml(
        tmp_path, "include: [sub/compose.yaml]\nservices:\n  web: {image: nginx, depends_on: [db]}\n"
    )
    db = project.model["services"]["db"]
    assert db["image"] == "pg:sub"
    assert db["volumes"][0]["source"] == f"{tmp_path}/sub/data"
    assert "include" not in project.model


def test_long_form_env_file(tmp_path: Path) -> None:
    write(tmp_path, "vars.env", "TAG=long\n")
    write(tmp_path, "sub/compose.yaml", "services:\n  db:\n    image: pg:${TAG}\n")
    project = load_yaml(
        tmp_path, "include:\n  - path: sub/compose.yaml\n    env_file: vars.env\nservices: {}\n"
    )
    assert project.model["services"]["db"]["image"] == "pg:long"


def test_conflict_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "sub.yaml", "services:\n  web: {image: other}\n")
    errors = errors_of(tmp_path, "include: [sub.yaml]\nservices:\n  web: {image: nginx}\n")
    assert any("services.web conflicts with imported resource" in e for e in errors)


def test_cycle_is_an_error(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, "include: [compose.yaml]\nservices:\n  web: {image: nginx}\n")
    assert any("include cycle detected" in e for e in errors)
