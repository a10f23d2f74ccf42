"""systemd units, checked by systemd's own parser, and sd_notify over real sockets.

We test these aspects:
- ``<name>-container.service`` has the product document's shape (Type=notify, ExecStart/ExecStop
  through berth, Restart= and RestartSec from the policy, network-online ordering, WantedBy);
- every restart policy maps as documented, on-failure:N as a start limit of N+1;
- dependencies on installed units become Requires/Wants + After, others are left out;
- ``systemd-analyze verify`` accepts the container and agent units, also with a store path and a
  berth path holding spaces, ``$`` and ``%``; a planted bad line is refused even though
  systemd-analyze itself exits 0 on it;
- sd_notify datagrams arrive on a path socket and an abstract ``@`` socket; without
  $NOTIFY_SOCKET nothing is sent.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.runtime import notifying, units
from agent.runtime.errors import RuntimeFailure
from tests.support.paths import ROOT
from translators.spec.deployment import DeploymentSpec, RestartPolicy

BERTH = str(ROOT / ".venv" / "bin" / "berth")


def entries(text: str) -> list[tuple[str, str, str]]:
    """(section, key, value) for each line of a unit file."""
    out, section = [], ""
    for line in text.splitlines():
        if line.startswith("["):
            section = line.strip("[]")
        elif "=" in line:
            key, _, value = line.partition("=")
            out.append((section, key, value))
    return out


def values(text: str, section: str, key: str) -> list[str]:
    return [v for s, k, v in entries(text) if (s, k) == (section, key)]


def _spec(**config: object) -> DeploymentSpec:
    return DeploymentSpec.model_validate({"name": "web", "image": "localhost/web:1", "config": config})


def test_container_unit_shape() -> None:
    unit = units.container_unit(_spec(restart="on-failure", stop_grace_period="20s"), berth=BERTH)
    assert unit.name == "web-container.service"
    text = unit.text
    assert values(text, "Service", "Type") == ["notify"]
    assert values(text, "Service", "ExecStart") == [f"{BERTH} container run web"]
    assert values(text, "Service", "ExecStop") == [f"{BERTH} container stop web"]
    assert values(text, "Service", "Restart") == ["on-failure"]
    assert values(text, "Service", "RestartSec") == ["10"]
    assert values(text, "Service", "TimeoutStopSec") == ["50"]
    assert values(text, "Service", "Environment") == ["BERTH_SYSTEMD_UNIT=%n"]
    assert values(text, "Unit", "After") == ["network-online.target"]
    assert values(text, "Install", "WantedBy") == ["multi-user.target"]
    assert values(text, "Unit", "StartLimitBurst") == []


@pytest.mark.parametrize(
    ("policy", "restart", "burst"),
    [
        ("no", "no", None),
        ("always", "always", None),
        ("unless-stopped", "always", None),
        ("on-failure", "on-failure", None),
        ("on-failure:3", "on-failure", "4"),
        ({"policy": "always", "delay": "2s"}, "always", None),
    ],
    ids=str,
)
def test_restart_policies(policy: object, restart: str, burst: str | None) -> None:
    unit_entries, service = units.restart_settings(RestartPolicy.model_validate(policy))
    assert dict(service)["Restart"] == restart
    if restart == "no":
        assert "RestartSec" not in dict(service)
    else:
        assert dict(service)["RestartSec"] == ("2" if isinstance(policy, dict) else "10")
    assert dict(unit_entries).get("StartLimitBurst") == burst
    if burst:
        assert dict(unit_entries)["StartLimitIntervalSec"] == "infinity"


def test_dependencies_on_installed_units() -> None:
    spec = _spec(depends_on={"db": {"condition": "healthy"}, "cache": {"required": False}, "other": None})
    text = units.container_unit(spec, berth=BERTH, installed=["db", "cache"]).text
    assert values(text, "Unit", "Requires") == ["db-container.service"]
    assert values(text, "Unit", "Wants") == ["network-online.target", "cache-container.service"]
    assert values(text, "Unit", "After") == [
        "network-online.target db-container.service cache-container.service"
    ]


def test_relative_berth_is_refused() -> None:
    with pytest.raises(units.UnitError, match=r"web-container.service: ExecStart needs the absolute path"):
        units.container_unit(_spec(), berth="berth")


@pytest.fixture
def odd_berth(tmp_path: Path) -> Path:
    """The real berth executable reached through a path with a space, a $ and a %."""
    directory = tmp_path / "odd dir $HOME 100%"
    directory.mkdir()
    link = directory / "berth"
    link.symlink_to(BERTH)
    return link


def test_systemd_analyze_verifies_the_units(tmp_path: Path, odd_berth: Path) -> None:
    out = tmp_path / "units"
    root = tmp_path / "store $x 5%"
    root.mkdir()
    db = units.container_unit(
        DeploymentSpec.model_validate(
            {"name": "db", "image": "localhost/db:1", "config": {"restart": "always"}}
        ),
        berth=BERTH,
        root=root,
    )
    web = units.container_unit(
        _spec(restart="on-failure:3", depends_on=["db"]), berth=str(odd_berth), root=root, installed=["db"]
    )
    agent = units.agent_unit(berth=BERTH, args=["--metrics-port", "9464"], root=root)
    paths = [units.install(u, out) for u in (db, web, agent)]
    assert [p.name for p in paths] == ["db-container.service", "web-container.service", "berth-agent.service"]
    assert all(oct(p.stat().st_mode & 0o777) == "0o644" for p in paths)
    units.verify(paths)
    assert values(agent.text, "Service", "ExecStart") == [f"{BERTH} agent --metrics-port 9464"]
    assert f'"BERTH_ROOT={str(root).replace("%", "%%")}"' in values(agent.text, "Service", "Environment")
    # a planted mistake: systemd-analyze prints a warning and exits 0, verify() refuses it
    bad = out / "web-container.service"
    bad.write_text(bad.read_text().replace("Restart=on-failure", "Restart=sometimes"))
    with pytest.raises(units.UnitError, match=r"web-container.service:\d+: Failed to parse service restart"):
        units.verify([bad])


# -- sd_notify -----------------------------------------------------------------------------------


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify.sock"))
    sock.settimeout(5)
    yield sock
    sock.close()


def test_notify_path_socket(listener: socket.socket, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", listener.getsockname())
    assert notifying.ready(main_pid=os.getpid(), status="serving")
    assert listener.recv(4096) == f"READY=1\nMAINPID={os.getpid()}\nSTATUS=serving".encode()
    assert notifying.stopping()
    assert listener.recv(4096) == b"STOPPING=1"


def test_notify_abstract_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"berth-test-notify-{os.getpid()}-{secrets.token_hex(4)}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(b"\0" + name.encode())
        sock.settimeout(5)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert notifying.status("pulling")
        assert sock.recv(4096) == b"STATUS=pulling"


def test_notify_outside_systemd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert notifying.ready() is False


def test_notify_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(RuntimeFailure, match=r"cannot notify systemd through /.*/gone.sock"):
        notifying.notify({"READY": 1}, environ={"NOTIFY_SOCKET": str(tmp_path / "gone.sock")})
    with pytest.raises(RuntimeFailure, match=r"expected an absolute path or an @abstract name"):
        notifying.notify({"READY": 1}, environ={"NOTIFY_SOCKET": "relative"})
