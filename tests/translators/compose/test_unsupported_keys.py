"""Keys Berth does not apply are warnings naming their path; x- extensions and anchors are silent."""

from __future__ import annotations

from pathlib import Path

from tests.support.compose import load_yaml, warnings_of


def test_extensions_anchors_and_unsupported_keys(tmp_path: Path) -> None:
    project = load_yaml(
        tmp_path,
        """
        x-common: &common {image: nginx, labels: {team: a}}
        services:
          web:
            <<: *common
            x-note: ignored
            cgroup_parent: /custom
            deploy: {placement: {constraints: [a]}}
        """,
    )
    assert project.model["services"]["web"]["image"] == "nginx"
    assert project.model["x-common"] == {"image": "nginx", "labels": {"team": "a"}}
    assert warnings_of(project) == [
        "services.web.cgroup_parent: not supported by Berth, ignored",
        "services.web.deploy.placement: not supported by Berth, ignored",
    ]


def test_nested_keys_not_applied_are_warned(tmp_path: Path) -> None:
    project = load_yaml(
        tmp_path,
        """
        services:
          web:
            image: nginx
            ports: [{target: 80, app_protocol: http}]
            networks: {front: {aliases: [a], priority: 3}}
            deploy: {resources: {reservations: {devices: [{capabilities: [gpu]}]}}}
        networks:
          front: {driver: macvlan, ipam: {config: [{subnet: 10.0.0.0/24, gateway: 10.0.0.1}]}}
        """,
    )
    assert warnings_of(project) == [
        "services.web.ports[0].app_protocol: not supported by Berth, ignored",
        "services.web.networks.front.priority: not supported by Berth, ignored",
        "services.web.deploy.resources.reservations.devices: not supported by Berth, ignored",
        "networks.front.driver: not supported by Berth, ignored ('macvlan'; Berth implements bridge)",
        "networks.front.ipam.config[0].gateway: not supported by Berth, ignored",
    ]


def test_version_is_obsolete(tmp_path: Path) -> None:
    project = load_yaml(tmp_path, "version: '3'\nservices:\n  w: {image: x}\n")
    assert warnings_of(project) == [
        "version: the attribute `version` is obsolete, it will be ignored, please remove it"
    ]
    assert "version" not in project.model


def test_top_level_models_is_warned(tmp_path: Path) -> None:
    project = load_yaml(tmp_path, "services:\n  w: {image: x}\nmodels:\n  llm: {model: ai/smollm2}\n")
    assert warnings_of(project) == ["models: not supported by Berth, ignored"]
