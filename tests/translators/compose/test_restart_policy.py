"""deploy.restart_policy.condition: docker compose's mapping to the engine's policies.

Aspects: none/no, on-failure, unless-stopped, any/always (docker compose v2.40.3's
``mapRestartPolicyCondition``); an unknown condition is an error at its path; no condition is a
notice (the engine receives an empty policy and does not restart); max_attempts only with
on-failure.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.compose import errors_of, load_yaml, warnings_of

CASES = [
    ("none", "none", "no"),
    ("no", '"no"', "no"),
    ("on-failure", "on-failure", "on-failure"),
    ("unless-stopped", "unless-stopped", "unless-stopped"),
    ("any", "any", "always"),
    ("always", "always", "always"),
]


def _yaml(policy: str) -> str:
    return f"services:\n  web:\n    image: nginx\n    deploy:\n      restart_policy: {policy}\n"


@pytest.mark.parametrize(("condition", "policy"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_condition(tmp_path: Path, condition: str, policy: str) -> None:
    project = load_yaml(tmp_path, _yaml(f"{{condition: {condition}, max_attempts: 3}}"))
    restart = project.translation.specs[0].config.restart
    assert restart.policy == policy
    assert restart.max_retries == (3 if policy == "on-failure" else None)


def test_unknown_condition_is_an_error(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, _yaml("{condition: sometimes}"))
    assert len(errors) == 1
    assert "compose.yaml:5: services.web.deploy.restart_policy.condition:" in errors[0]
    assert "'sometimes'" in errors[0]


def test_no_condition_does_not_restart(tmp_path: Path) -> None:
    project = load_yaml(tmp_path, _yaml("{delay: 5s}"))
    assert project.translation.specs[0].config.restart.policy == "no"
    assert any(w.startswith("services.web.deploy.restart_policy:") for w in warnings_of(project))
