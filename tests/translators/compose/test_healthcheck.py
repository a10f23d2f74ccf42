"""Healthcheck: test forms, Go durations in the model, Probe in the spec, disable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.compose import load_yaml

CASES: list[tuple[str, str, dict[str, Any], list[str] | None, bool]] = [
    ("shell-string", "{test: curl -f http://x, interval: 90s, timeout: 1h, retries: 3}",
     {"test": ["CMD-SHELL", "curl -f http://x"], "interval": "1m30s", "timeout": "1h0m0s", "retries": 3},
     ["/bin/sh", "-c", "curl -f http://x"], False),
    ("cmd-list", "{test: [CMD, pg_isready], start_period: 500ms}",
     {"test": ["CMD", "pg_isready"], "start_period": "500ms"}, ["pg_isready"], False),
    ("none", "{test: [NONE]}", {"test": ["NONE"]}, None, True),
    ("disable", "{disable: true}", {"disable": True}, None, True),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "model", "argv", "disabled"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_forms(
    tmp_path: Path, text: str, model: dict[str, Any], argv: list[str] | None, disabled: bool
) -> None:
    project = load_yaml(tmp_path, f"services:\n  web:\n    image: nginx\n    healthcheck: {text}\n")
    assert project.model["services"]["web"]["healthcheck"] == model
    probe = project.translation.specs[0].config.healthcheck
    assert probe is not None
    assert (probe.exec, probe.disable) == (argv, disabled)


def test_timing_reaches_the_probe(tmp_path: Path) -> None:
    project = load_yaml(
        tmp_path, "services:\n  w:\n    image: x\n    healthcheck: {test: [CMD, t], interval: 1m30s}\n"
    )
    probe = project.translation.specs[0].config.healthcheck
    assert probe is not None and probe.interval == 90.0


INHERITING = [
    ("timings-only", "{interval: 10s, retries: 2}", {"interval": "10s", "retries": 2}),
    ("empty-test", "{test: [], interval: 10s}", {"interval": "10s"}),
    ("disable-false", "{disable: false, timeout: 5s}", {"timeout": "5s"}),
]


@pytest.mark.parametrize(("text", "model"), [c[1:] for c in INHERITING], ids=[c[0] for c in INHERITING])
def test_without_test_keeps_the_image_test(tmp_path: Path, text: str, model: dict[str, Any]) -> None:
    """Docker keeps the image's HEALTHCHECK test and changes the timings: a probe with no action.

    The printed models were checked against ``docker compose config`` (v2.40.3): it omits
    ``test: []`` and ``disable: false``.
    """
    project = load_yaml(tmp_path, f"services:\n  web:\n    image: nginx\n    healthcheck: {text}\n")
    assert project.model["services"]["web"]["healthcheck"] == model
    probe = project.translation.specs[0].config.healthcheck
    assert probe is not None
    assert probe.inherits_action and not probe.disable
