"""Ports: every short form into the long form docker compose prints, and into PortMapping."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.compose import errors_of, load_yaml


def _port(target: int, published: str | None = None, **extra: str) -> dict[str, Any]:
    """The long form docker compose prints (checked against the oracle in the corpus test)."""
    out: dict[str, Any] = {"mode": "ingress", **{k: v for k, v in extra.items() if k == "host_ip"}}
    out["target"] = target
    if published is not None:
        out["published"] = published
    out["protocol"] = extra.get("protocol", "tcp")
    return out


CASES: list[tuple[str, Any, list[dict[str, Any]]]] = [
    ("container", 80, [_port(80)]),
    ("host-container", "8080:80", [_port(80, "8080")]),
    ("ip-udp", "127.0.0.1:53:53/udp", [_port(53, "53", host_ip="127.0.0.1", protocol="udp")]),
    ("range", "9000-9001:80-81", [_port(80, "9000"), _port(81, "9001")]),
    ("long", {"target": 80, "published": 8080}, [_port(80, "8080")]),
]


@pytest.mark.parametrize(("port", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_port_forms(tmp_path: Path, port: Any, expected: list[dict[str, Any]]) -> None:
    import json

    project = load_yaml(tmp_path, f"services:\n  web:\n    image: nginx\n    ports: [{json.dumps(port)}]\n")
    assert project.model["services"]["web"]["ports"] == expected
    mappings = project.translation.specs[0].config.ports
    assert [(m.container, m.host) for m in mappings] == [
        (p["target"], int(p["published"]) if "published" in p else 0)
        for p in expected  # 0: an ephemeral port
    ]


def test_invalid_port(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, "services:\n  web:\n    image: nginx\n    ports: ['80:eighty']\n")
    assert errors[0].startswith(f"{tmp_path}/compose.yaml:4: services.web.ports[0]: invalid port")


NEGATIVE = [
    ("host", "-5:80", "invalid host port '-5'"),
    ("ip-host", "127.0.0.1:-5:80", "invalid host port '-5'"),
]


@pytest.mark.parametrize(("port", "message"), [c[1:] for c in NEGATIVE], ids=[c[0] for c in NEGATIVE])
def test_negative_port_is_a_clear_error(tmp_path: Path, port: str, message: str) -> None:
    """docker compose rejects these too ("invalid hostPort: -5"); ours names the path and the form."""
    errors = errors_of(tmp_path, f"services:\n  web:\n    image: nginx\n    ports: ['{port}']\n")
    assert len(errors) == 1
    assert errors[0].startswith(f"{tmp_path}/compose.yaml:4: services.web.ports[0]: {message}")
    assert "int()" not in errors[0]
