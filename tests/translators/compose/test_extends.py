"""``extends``: same file, another file (paths relative to that file), recursion and cycles."""

from __future__ import annotations

from pathlib import Path

from tests.support.compose import errors_of, load_yaml, write


def test_same_file_recursive(tmp_path: Path) -> None:
    project = load_yaml(
        tmp_path,
        """
        services:
          base: {image: busybox, environment: {A: "1"}, command: [base]}
          middle: {extends: base, environment: {B: "2"}}
          top: {extends: {service: middle}, command: top}
        """,
    )
    top = project.model["services"]["top"]
    assert top["image"] == "busybox"
    assert top["environment"] == {"A": "1", "B": "2"}
    assert top["command"] == ["top"]
    assert "extends" not in top


def test_other_file_paths_are_relative_to_it(tmp_path: Path) -> None:
    write(
        tmp_path, "lib/common.yaml", "services:\n  tmpl:\n    image: busybox\n    volumes: ['./conf:/conf']\n"
    )
    project = load_yaml(tmp_path, "services:\n  app:\n    extends: {file: lib/common.yaml, service: tmpl}\n")
    assert project.model["services"]["app"]["volumes"][0]["source"] == f"{tmp_path}/lib/conf"


def test_cycle_is_an_error(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, "services:\n  a: {image: x, extends: b}\n  b: {image: x, extends: a}\n")
    assert any("Circular reference: a extends b extends a" in e for e in errors)


def test_missing_base(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, "services:\n  a: {image: x, extends: nope}\n")
    assert errors == [
        f'{tmp_path}/compose.yaml:2: services.a.extends: cannot extend service "a": service "nope" not found'
    ]
