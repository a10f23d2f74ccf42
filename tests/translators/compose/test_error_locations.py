"""Spec-level errors point at the compose key the user wrote, with its line.

Aspects: cpus, pids_limit, deploy.resources.limits.{cpus,pids}, ports[i] and volumes[i] (not the
spec's ``resources.cpu``/``config.ports`` paths); which of ``cpus`` and
``deploy.resources.limits.cpus`` is named follows the one that was used; ``mem_limit: -1`` and
``mem_reservation: -1`` (accepted by docker compose v2.40.3 as unlimited) give no limit, while the
string ``"-1"``, which the reference rejects ("invalid size"), is an error at its path.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.compose import errors_of, load_yaml

CASES = [
    ("cpus", "cpus: -1", "4: services.web.cpus: "),
    ("pids_limit", "pids_limit: -5", "4: services.web.pids_limit: "),
    ("limits-cpus", 'deploy:\n      resources: {limits: {cpus: "-2"}}', "5: services.web.deploy.resources.limits.cpus: "),
    ("limits-pids", "deploy:\n      resources: {limits: {pids: -7}}", "5: services.web.deploy.resources.limits.pids: "),
    ("port", 'ports: ["8080:80", "70000:80"]', "4: services.web.ports[1]: "),
    ("volume", "volumes:\n      - /a:/a\n      - {type: bind, source: /srv, target: x}", "6: services.web.volumes[1]: "),
    ("tmpfs", 'tmpfs: ["/t:mode=9999"]', "4: services.web.tmpfs[0]: "),
]  # fmt: skip


@pytest.mark.parametrize(("text", "where"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_error_at_compose_key(tmp_path: Path, text: str, where: str) -> None:
    errors = errors_of(tmp_path, f"services:\n  web:\n    image: nginx\n    {text}\n")
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"{tmp_path}/compose.yaml:{where}"), errors[0]


def test_memory_minus_one_is_unlimited(tmp_path: Path) -> None:
    project = load_yaml(
        tmp_path, "services:\n  web:\n    image: nginx\n    mem_limit: -1\n    mem_reservation: -1\n"
    )
    assert project.model["services"]["web"]["mem_limit"] == "-1"
    resources = project.translation.specs[0].config.resources
    assert (resources.memory, resources.memory_reservation) == (None, None)


def test_memory_minus_one_string_is_rejected(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, 'services:\n  web:\n    image: nginx\n    mem_limit: "-1"\n')
    assert len(errors) == 1 and errors[0].startswith(f"{tmp_path}/compose.yaml:4: services.web.mem_limit: ")
