"""``berth network create|ls|inspect|rm|prune`` against a real store and real attachments.

We test these aspects: create with subnet, gateway, internal, IPv6, labels and mtu, shown by ls and
inspect (table and JSON); bad input is one ``error:`` line naming the option; rm refuses a network
a container is attached to, naming it, and removes nothing then; prune removes only unused ones.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from agent.cli import main
from tests.agent.network.conftest import Lab


def _berth(lab: Lab, *args: str) -> Result:
    env = {"BERTH_ROOT": str(lab.root), "BERTH_RUN_ROOT": str(lab.run)}
    return CliRunner().invoke(main.cli, ["network", *args], env=env)


def test_create_ls_inspect_rm(lab: Lab) -> None:
    made = _berth(lab, "create", "front", "--subnet", "10.90.250.0/24", "--gateway", "10.90.250.254")
    assert made.exit_code == 0, made.output
    assert made.output.strip() == "front"
    made = _berth(
        lab, "create", "back", "--internal", "--ipv6", "--label", "tier=db", "--opt", "mtu=1400", "-o", "json"
    )
    assert made.exit_code == 0, made.output
    back = json.loads(made.output)
    assert back["internal"] is True
    assert back["labels"] == {"tier": "db"}
    assert back["driver_opts"] == {"mtu": "1400"}
    assert back["ipv6_subnet"].startswith("fd") and back["ipv6_subnet"].endswith("/64")

    listed = json.loads(_berth(lab, "ls", "-o", "json").output)
    assert {r["name"]: r["subnet"] for r in listed}["front"] == "10.90.250.0/24"
    table = _berth(lab, "ls").output.splitlines()
    assert table[0].split("\t")[:2] == ["NAME", "ID"] and len(table) == 3

    front = json.loads(_berth(lab, "inspect", "front", "-o", "json").output)
    assert front["gateway"] == "10.90.250.254"
    assert front["containers"] == {} and front["users"] == []

    removed = _berth(lab, "rm", "front", "back")
    assert removed.exit_code == 0, removed.output
    assert _berth(lab, "ls", "-q").output == ""


def test_errors_are_one_line(lab: Lab) -> None:
    assert _berth(lab, "create", "a", "--subnet", "10.90.251.0/24").exit_code == 0
    cases = {
        ("create", "a"): "network 'a' already exists",
        ("create", "b", "--subnet", "10.90.251.0/25"): "overlaps 10.90.251.0/24",
        ("create", "b", "--subnet", "nonsense"): "--subnet 'nonsense'",
        ("create", "b", "--opt", "color=red"): "--opt color: unknown bridge option",
        ("create", "b", "--opt", "mtu=9"): "--opt mtu=9",
        ("create", "b", "--subnet", "10.90.252.0/24", "--gateway", "10.1.1.1"): "not in subnet",
        ("inspect", "nope"): "no network named 'nope'",
        ("rm", "nope"): "no network named 'nope'",
    }
    for args, expected in cases.items():
        result = _berth(lab, *args)
        assert result.exit_code == 1, (args, result.output)
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], (args, lines)
    assert not lab.networks.exists("b")


def test_rm_refuses_a_network_in_use_and_prune_keeps_it(lab: Lab) -> None:
    from agent.store.deploying import build_spec

    assert _berth(lab, "create", "used").exit_code == 0
    assert _berth(lab, "create", "idle").exit_code == 0
    assert _berth(lab, "create", "idle2").exit_code == 0
    config = build_spec(
        {"name": "x", "image": "busybox", "config": {"network": {"networks": [{"name": "used"}]}}}
    ).config
    attached = lab.attacher.attach("app1", config, lab.netns("app1"))
    address = attached.endpoints[0].ipv4

    refused = _berth(lab, "rm", "idle", "used")
    assert refused.exit_code == 1
    assert refused.output.strip() == "error: network 'used' is in use by app1: stop or remove them first"
    assert lab.networks.exists("idle")  # nothing removed when one is refused

    inspected = json.loads(_berth(lab, "inspect", "used", "-o", "json").output)
    assert inspected["containers"]["app1"]["ipv4"] == address
    pruned = json.loads(_berth(lab, "prune", "-o", "json").output)
    assert sorted(pruned["removed"]) == ["idle", "idle2"]
    assert [n.name for n in lab.networks.list()] == ["used"]

    lab.attacher.detach("app1")
    assert _berth(lab, "rm", "used").exit_code == 0
    assert not (Path(lab.root) / "networks" / "used.json").exists()
