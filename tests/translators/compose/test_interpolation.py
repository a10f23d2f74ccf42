"""Variable interpolation in compose files.

Aspects: every operator (``$VAR``, ``${VAR}``, ``:-``, ``-``, ``:?``, ``?``, ``:+``, ``+``), nested
defaults, ``$$`` escapes (printed back as ``$$`` like docker compose), values only (keys stay),
the unset-variable warning with its path, ``:?`` errors with path and message, ``.env`` values,
the process environment winning over ``.env``, and typed casts after substitution.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.compose import errors_of, load_yaml, warnings_of, write
from translators.compose import template

CASES = [
    ("plain", "$SET", "yes"),
    ("braced", "${SET}", "yes"),
    ("colon-dash-unset", "${UNSET:-def}", "def"),
    ("colon-dash-empty", "${EMPTY:-def}", "def"),
    ("dash-empty", "${EMPTY-def}", ""),
    ("dash-unset", "${UNSET-def}", "def"),
    ("colon-plus-set", "${SET:+alt}", "alt"),
    ("colon-plus-empty", "${EMPTY:+alt}", ""),
    ("plus-empty", "${EMPTY+alt}", "alt"),
    ("plus-unset", "${UNSET+alt}", ""),
    ("nested", "${UNSET:-${ALSO_UNSET:-x}}", "x"),
    ("nested-set", "${UNSET:-${SET}}", "yes"),
    ("braces-in-default", "${UNSET:-{x}}", "{x}"),
    ("braces-in-default-set", "${SET:-{x}}", "yes"),
    ("trailing-brace", "${SET}}", "yes}"),
    ("escape", "$$SET", "$SET"),
    ("not-a-name", "cost $5", "cost $5"),
    ("inside-text", "a-${SET}-b", "a-yes-b"),
]


@pytest.mark.parametrize(("template_text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_operators(template_text: str, expected: str) -> None:
    env = {"SET": "yes", "EMPTY": ""}
    assert template.substitute(template_text, env.get, lambda _: None) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("${X:?boom}", "required variable X is missing a value: boom"),
        ("${X?}", "required variable X is missing a value"),
    ],
    ids=["with-message", "no-message"],
)
def test_required_raises(text: str, message: str) -> None:
    with pytest.raises(template.TemplateError, match=message):
        template.substitute(text, lambda _: None, lambda _: None)


def test_values_only_and_dollar_printed_back(tmp_path: Path) -> None:
    project = load_yaml(
        tmp_path,
        """
        services:
          web:
            image: nginx:${TAG:-1.25}
            environment:
              $KEY: "$$HOME and ${NAME}"
        """,
        env={"NAME": "berth"},
    )
    web = project.model["services"]["web"]
    assert web["image"] == "nginx:1.25"
    assert web["environment"] == {"$$KEY": "$$HOME and berth"}
    spec = project.translation.specs[0]
    assert spec.config.env == ["$KEY=$$HOME and berth"]  # the spec reads $$ as a literal $


def test_unset_warns_with_path(tmp_path: Path) -> None:
    project = load_yaml(tmp_path, "services:\n  web:\n    image: nginx\n    command: echo ${MISSING}\n")
    assert (
        'services.web.command: The "MISSING" variable is not set. Defaulting to a blank string.'
        in warnings_of(project)
    )
    assert project.model["services"]["web"]["command"] == ["echo"]


def test_required_error_names_file_line_and_path(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, "services:\n  web:\n    image: nginx\n    user: ${U:?set the user}\n")
    assert errors == [
        f"{tmp_path}/compose.yaml:4: services.web.user: required variable U is missing a value: set the user"
    ]


def test_dotenv_and_environment_precedence(tmp_path: Path) -> None:
    write(tmp_path, ".env", "TAG=from-dotenv\nOTHER=dotenv\n")
    project = load_yaml(
        tmp_path,
        "services:\n  web:\n    image: nginx:$TAG\n    environment: [O=$OTHER]\n",
        env={"TAG": "from-env"},
    )
    assert project.model["services"]["web"]["image"] == "nginx:from-env"
    assert project.model["services"]["web"]["environment"] == {"O": "dotenv"}


def test_typed_cast_after_substitution(tmp_path: Path) -> None:
    project = load_yaml(
        tmp_path,
        "services:\n  web:\n    image: nginx\n    read_only: ${RO:-true}\n"
        "    deploy: {replicas: '${N:-3}'}\n",
    )
    web = project.model["services"]["web"]
    assert web["read_only"] is True
    assert web["deploy"]["replicas"] == 3
