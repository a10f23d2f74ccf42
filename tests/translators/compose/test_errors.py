"""Errors: every one collected, each with file, line and YAML path, raised once as InvalidSpec.

Aspects: unknown keys (not compose keys at all) and wrong types from the schema, YAML syntax,
duplicate mapping keys (an error in compose, silent in PyYAML),
empty files, non-mapping documents, errors in several files of one load, MissingReference for a
dangling depends_on.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.compose import ENV, errors_of, write
from translators.compose import ComposeFile, load
from translators.errors import MissingReference


def test_unknown_keys_and_types_all_reported(tmp_path: Path) -> None:
    errors = errors_of(
        tmp_path, "services:\n  web:\n    image: nginx\n    imgae: typo\n  db:\n    ports: {a: 1}\n"
    )
    assert errors == [
        f"{tmp_path}/compose.yaml:2: services.web: additional property 'imgae' not allowed",
        f"{tmp_path}/compose.yaml:6: services.db.ports: must be an array",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("services: [\n", "malformed YAML"),
     ("", "empty compose file"),
     ("- a\n", "Top-level object must be a mapping"),
     ("services:\n  w: {image: x, restart: 3}\n", "services.w.restart: must be a string"),
     ("services:\n  w:\n    image: a\n    image: b\n",
      'compose.yaml:4: services.w.image: mapping key "image" already defined at line 3')],
    ids=["syntax", "empty", "not-a-mapping", "type", "duplicate-key"],
)  # fmt: skip
def test_messages(tmp_path: Path, text: str, expected: str) -> None:
    errors = errors_of(tmp_path, text)
    assert any(expected in e for e in errors), errors
    assert all(e.startswith(f"{tmp_path}/compose.yaml") for e in errors)


def test_errors_of_several_files(tmp_path: Path) -> None:
    errors = errors_of(
        tmp_path, "services:\n  a: {image: x, bad: 1}\n", "services:\n  b: {image: y, worse: 2}\n"
    )
    assert errors == [
        f"{tmp_path}/compose.yaml:2: services.a: additional property 'bad' not allowed",
        f"{tmp_path}/override1.yaml:2: services.b: additional property 'worse' not allowed",
    ]


def test_dangling_dependency_is_a_missing_reference(tmp_path: Path) -> None:
    path = write(tmp_path, "compose.yaml", "services:\n  a: {image: x, depends_on: [b]}\n")
    with pytest.raises(MissingReference):
        load([ComposeFile(path)], env=ENV)
