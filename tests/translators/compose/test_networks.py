"""Networks: list and map forms, aliases and addresses, the default network, network_mode."""

from __future__ import annotations

from pathlib import Path

from tests.support.compose import errors_of, load_yaml


def test_forms_and_defaults(tmp_path: Path) -> None:
    project = load_yaml(
        tmp_path,
        """
        name: p
        services:
          web: {image: nginx, networks: [front]}
          api:
            image: api
            networks:
              back: {aliases: [svc], ipv4_address: 10.0.0.5}
          plain: {image: x}
          sidecar: {image: x, network_mode: "service:api"}
          host: {image: x, network_mode: host}
        networks:
          front: {}
          back: {ipam: {config: [{subnet: 10.0.0.0/24}]}}
        """,
    )
    model = project.model
    assert model["services"]["web"]["networks"] == {"front": None}
    assert model["services"]["plain"]["networks"] == {"default": None}
    assert "networks" not in model["services"]["host"]
    assert model["networks"]["default"] == {"name": "p_default", "ipam": {}}
    assert model["services"]["sidecar"]["depends_on"]["api"]["restart"] is True
    specs = {s.name: s for s in project.translation.specs}
    api = specs["p-api"].config.network.networks[0]
    assert (api.name, api.aliases, api.ipv4_address) == ("p_back", ["svc"], "10.0.0.5")
    assert specs["p-sidecar"].config.network.mode == "container:p-api"
    assert specs["p-host"].config.network.mode == "host"
    assert project.translation.project.networks["back"].subnets == ["10.0.0.0/24"]


def test_network_mode_and_networks_exclusive(tmp_path: Path) -> None:
    errors = errors_of(
        tmp_path, "services:\n  w: {image: x, network_mode: host, networks: [a]}\nnetworks: {a: {}}\n"
    )
    assert any("declares mutually exclusive `network_mode` and `networks`" in e for e in errors)


def test_per_replica_service_network_mode(tmp_path: Path) -> None:
    project = load_yaml(
        tmp_path,
        "name: p\nservices:\n  api: {image: a, scale: 2}\n  side: {image: s, network_mode: 'service:api'}\n",
        per_replica=True,
    )
    specs = {s.name: s for s in project.translation.specs}
    assert sorted(specs) == ["p-api-1", "p-api-2", "p-side-1"]
    assert specs["p-side-1"].config.network.mode == "container:p-api-1"
    assert [d.name for d in specs["p-side-1"].config.depends_on] == ["p-api-1", "p-api-2"]
