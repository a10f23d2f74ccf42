"""A project's declared networks: created once with its label, external ones checked, removed on down.

We test these aspects: compose's networks (internal, subnets, mtu, labels) become Berth networks
labelled with the project, a second ensure changes nothing; an external network that does not exist
is an error naming it and how to create it; unsupported drivers are refused and unknown driver
options warned about; remove_unused removes only the project's own networks without containers.
"""

from __future__ import annotations

import pytest

from agent.network import projects
from agent.network.errors import NetworkError
from agent.store.deploying import build_spec
from tests.agent.network.conftest import Lab
from translators.spec.project import NetworkDef


def test_project_networks_are_created_once_and_removed_when_unused(lab: Lab) -> None:
    defs = [
        NetworkDef(name="shop_default"),
        NetworkDef(
            name="shop_back",
            internal=True,
            subnets=["10.90.240.0/24", "fd42:7c::/64"],
            labels={"tier": "db"},
            driver_opts={"com.docker.network.driver.mtu": "1400", "com.docker.network.bridge.name": "x"},
        ),
    ]
    first = projects.ensure(lab.attacher, "shop", defs)
    assert first.created == ["shop_default", "shop_back"]
    assert first.warnings == [
        "network shop_back: driver option com.docker.network.bridge.name is not supported, ignored"
    ]
    back = lab.networks.get("shop_back")
    assert (back.internal, back.subnet, back.ipv6_subnet) == (True, "10.90.240.0/24", "fd42:7c::/64")
    assert back.driver_opts == {"mtu": "1400"}
    assert back.labels == {"tier": "db", projects.PROJECT_LABEL: "shop"}
    again = projects.ensure(lab.attacher, "shop", defs)
    assert again.created == [] and [n.id for n in again.networks] == [n.id for n in first.networks]

    lab.networks.create("shared")
    config = build_spec(
        {"name": "x", "image": "busybox", "config": {"network": {"networks": ["shop_default"]}}}
    ).config
    lab.attacher.attach("shop-web-1", config, lab.netns("shop-web-1"))
    assert projects.remove_unused(lab.attacher, "shop") == ["shop_back"]
    lab.attacher.detach("shop-web-1")
    assert projects.remove_unused(lab.attacher, "shop") == ["shop_default"]
    assert [n.name for n in lab.networks.list()] == ["shared"]


def test_external_and_unsupported(lab: Lab) -> None:
    with pytest.raises(
        NetworkError,
        match=r"network outside is declared as external, but could not be found \(create it with: berth network create outside\)",
    ):
        projects.ensure(lab.attacher, "p", [NetworkDef(name="outside", external=True)])
    lab.networks.create("outside")
    got = projects.ensure(lab.attacher, "p", [NetworkDef(name="outside", external=True)])
    assert got.created == [] and got.networks[0].name == "outside"
    assert projects.remove_unused(lab.attacher, "p") == []  # not the project's own
    with pytest.raises(NetworkError, match="network p_x: driver 'macvlan' is not supported"):
        projects.ensure(lab.attacher, "p", [NetworkDef(name="p_x", driver="macvlan")])
