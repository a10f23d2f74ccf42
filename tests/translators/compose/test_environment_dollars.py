"""environment in the spec: literal values after interpolation, and keys left unset.

Aspects: every ``$`` of an interpolated value (from ``$$``, from a variable's value, from an
env_file) is written ``$$`` in the spec, which resolves ``${...}`` at deploy time; a key with no
value whose variable is unset is left out (docker leaves it unset; a bare ``KEY`` would pass the
agent's own value) with a notice naming its path; a key whose variable is set takes its value.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.compose import load_yaml, warnings_of

YAML = """
services:
  web:
    image: nginx
    env_file: [app.env]
    environment:
      ESCAPED: "a$$b and $${HOME}"
      FROM_VAR: ${SECRET}
      SET:
      UNSET:
"""


def test_dollars_are_literal(tmp_path: Path) -> None:
    (tmp_path / "app.env").write_text("FROM_FILE='p$w'\n")
    project = load_yaml(tmp_path, YAML, env={"SECRET": "x$y", "SET": "v"})
    env = project.translation.specs[0].config.env
    assert env == ["FROM_FILE=p$$w", "ESCAPED=a$$b and $${HOME}", "FROM_VAR=x$$y", "SET=v"]
    assert "services.web.environment.UNSET" in " ".join(warnings_of(project))


def test_unset_key_is_not_bare(tmp_path: Path) -> None:
    project = load_yaml(tmp_path, "services:\n  web:\n    image: nginx\n    environment: [ONLY]\n")
    assert project.model["services"]["web"]["environment"] == {"ONLY": None}
    assert project.translation.specs[0].config.env == []
