"""Project name, build-only services, unsupported keys (warnings with paths) and error placement.

Aspects: name from -p, COMPOSE_PROJECT_NAME, ``name:`` and the directory (lowercased, invalid
characters removed), build with and without image, ``x-`` extensions and anchors ignored silently,
compose keys Berth does not apply warned with their path, keys compose does not know are errors
with file, line and path, every error collected at once.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.compose import errors_of, load_yaml, warnings_of


@pytest.mark.parametrize(
    ("given", "env", "text", "expected"),
    [("Given", {"COMPOSE_PROJECT_NAME": "env"}, "name: file\n", "given"),
     (None, {"COMPOSE_PROJECT_NAME": "env"}, "name: file\n", "env"),
     (None, {}, "name: My.File\n", "myfile"),
     (None, {}, "", "my_app-1")],
    ids=["flag", "env", "file", "directory"],
)  # fmt: skip
def test_project_name(
    tmp_path: Path, given: str | None, env: dict[str, str], text: str, expected: str
) -> None:
    directory = tmp_path / "My_App-1"
    directory.mkdir()
    project = load_yaml(directory, text + "services:\n  w: {image: x}\n", env=env, project_name=given)
    assert project.model["name"] == expected
    assert project.translation.specs[0].name == f"{expected}-w"


def test_build(tmp_path: Path) -> None:
    project = load_yaml(
        tmp_path, "name: p\nservices:\n  a: {build: ./a}\n  b: {build: {context: .}, image: registry/b:1}\n"
    )
    assert project.model["services"]["a"]["build"] == {"context": f"{tmp_path}/a", "dockerfile": "Dockerfile"}
    assert [s.image for s in project.translation.specs] == ["p-a", "registry/b:1"]
    assert any(w.startswith("services.a.build: Berth does not build images") for w in warnings_of(project))


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
    assert warnings_of(project) == [
        "services.web.cgroup_parent: not supported by Berth, ignored",
        "services.web.deploy.placement: not supported by Berth, ignored",
    ]


def test_unknown_keys_are_errors_with_place(tmp_path: Path) -> None:
    errors = errors_of(
        tmp_path, "services:\n  web:\n    image: nginx\n    imgae: typo\n  db:\n    ports: {a: 1}\n"
    )
    assert errors == [
        f"{tmp_path}/compose.yaml:2: services.web: additional property 'imgae' not allowed",
        f"{tmp_path}/compose.yaml:6: services.db.ports: must be an array",
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
