"""``env_file`` (string, list and long forms) merged under ``environment``, ``label_file`` under labels.

Aspects: explicit ``environment`` wins over files, later files win over earlier ones, a missing
required file is an error naming its path, ``required: false`` skips it, bare keys in
``environment`` take the project environment's value, and the key disappears from the model.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.compose import errors_of, load_yaml, write


def test_forms_and_precedence(tmp_path: Path) -> None:
    write(tmp_path, "a.env", "A=1\nB=from-a\n")
    write(tmp_path, "b.env", "B=from-b\nC=${FROM_ENV}\n")
    project = load_yaml(
        tmp_path,
        """
        services:
          web:
            image: nginx
            env_file: [a.env, {path: b.env}, {path: missing.env, required: false}]
            environment: {C: explicit, D: null}
        """,
        env={"FROM_ENV": "e", "D": "resolved"},
    )
    web = project.model["services"]["web"]
    assert web["environment"] == {"A": "1", "B": "from-b", "C": "explicit", "D": "resolved"}
    assert "env_file" not in web


def test_string_form(tmp_path: Path) -> None:
    write(tmp_path, "one.env", "X=1\n")
    project = load_yaml(tmp_path, "services:\n  web:\n    image: nginx\n    env_file: one.env\n")
    assert project.model["services"]["web"]["environment"] == {"X": "1"}


def test_missing_required_file(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, "services:\n  web:\n    image: nginx\n    env_file: nope.env\n")
    assert errors == [
        f"{tmp_path}/compose.yaml:4: services.web.env_file[0]: env file {tmp_path}/nope.env not found"
    ]


def test_label_file_merged_under_labels(tmp_path: Path) -> None:
    write(tmp_path, "labels.txt", "A=1\nB=${SET}\n# comment\nC\n")
    project = load_yaml(
        tmp_path,
        "services:\n  w:\n    image: x\n    label_file: labels.txt\n    labels: {A: explicit}\n",
        env={"SET": "s"},
    )
    assert project.model["services"]["w"]["labels"] == {"A": "explicit", "B": ""}
    assert "label_file" not in project.model["services"]["w"]
