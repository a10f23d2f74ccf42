"""The deployment spec: short forms, canonical forms, rules and error paths.

We test these aspects:
- every short form (ports, volumes, tmpfs, devices, env, labels, restart, healthcheck test,
  capabilities, dns, commands as strings) becomes the one long form;
- long forms are accepted as they are, and a dump validates back to an equal spec;
- cross-field rules (host networking with published ports, groups with other modes, secret_env);
- unknown keys and bad values are errors at the exact path, all of them at once;
- the transport prefix in an image string and image reference syntax;
- a nested model's default (made without validating, so that it builds no validator of its own)
  is the model validated from nothing, for every field of every spec model, and an omitted section
  is excluded as a default.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from translators.errors import Diagnostics
from translators.spec import DeploymentSpec
from translators.spec.base import SpecModel
from translators.validation import bind


def spec(**config: Any) -> DeploymentSpec:
    return DeploymentSpec.model_validate({"name": "app", "image": "busybox", "config": config})


def errors(data: dict[str, Any]) -> list[str]:
    diag = Diagnostics(file="spec.yaml")
    assert bind(DeploymentSpec, data, diag) is None
    return [f"{d.path}: {d.message}" for d in diag.errors]


@pytest.mark.parametrize(
    ("short", "want"),
    [
        ("80", [{"container": 80, "host": None, "host_ip": None, "protocol": "tcp"}]),
        (80, [{"container": 80, "host": None, "host_ip": None, "protocol": "tcp"}]),
        ("8080:80", [{"container": 80, "host": 8080, "host_ip": None, "protocol": "tcp"}]),
        (
            "127.0.0.1:8080:80/udp",
            [{"container": 80, "host": 8080, "host_ip": "127.0.0.1", "protocol": "udp"}],
        ),
        ("127.0.0.1::80", [{"container": 80, "host": None, "host_ip": "127.0.0.1", "protocol": "tcp"}]),
        ("[::1]:8080:80", [{"container": 80, "host": 8080, "host_ip": "::1", "protocol": "tcp"}]),
        (
            "9000-9001:8000-8001",
            [
                {"container": 8000, "host": 9000, "host_ip": None, "protocol": "tcp"},
                {"container": 8001, "host": 9001, "host_ip": None, "protocol": "tcp"},
            ],
        ),
        (
            "53:53/UDP",
            [{"container": 53, "host": 53, "host_ip": None, "protocol": "udp"}],
        ),
        (
            {"container": 443, "host": 8443, "protocol": "tcp"},
            [{"container": 443, "host": 8443, "host_ip": None, "protocol": "tcp"}],
        ),
    ],
    ids=[
        "container-only",
        "int",
        "host:container",
        "ip-and-udp",
        "ip-no-host",
        "ipv6",
        "range",
        "upper-proto",
        "long",
    ],
)
def test_ports(short: Any, want: list[dict[str, Any]]) -> None:
    assert [p.model_dump() for p in spec(ports=[short]).config.ports] == want


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        ("abc", "expected"),
        ("70000:80", "port must be between 0 and 65535, got 70000"),
        ("8080:80/xyz", "tcp"),
        ("1.2.3:80:80", "invalid host IP"),
        ("9000-9002:80-81", "differ in size"),
        ("80:90-91", "single host port"),
        ("1-9999", "at most"),
    ],
)
def test_ports_rejected_at_their_index(bad: str, fragment: str) -> None:
    found = errors({"name": "a", "image": "busybox", "config": {"ports": ["80", bad]}})
    assert len(found) == 1
    assert found[0].startswith("config.ports[1]")
    assert fragment in found[0]


@pytest.mark.parametrize(
    ("short", "want"),
    [
        ("/srv:/data", {"type": "bind", "source": "/srv", "target": "/data", "readonly": False}),
        ("/srv:/data:ro", {"type": "bind", "source": "/srv", "target": "/data", "readonly": True}),
        (
            "cache:/var/cache",
            {"type": "volume", "source": "cache", "target": "/var/cache", "readonly": False},
        ),
        ("/anonymous", {"type": "volume", "source": None, "target": "/anonymous", "readonly": False}),
        ("/a/../b:/c/./d:rw", {"type": "bind", "source": "/b", "target": "/c/d", "readonly": False}),
    ],
)
def test_volumes(short: str, want: dict[str, Any]) -> None:
    got = spec(volumes=[short]).config.volumes[0].model_dump()
    assert {k: got[k] for k in want} == want


def test_volume_options() -> None:
    bind_mount, named = spec(volumes=["/srv:/data:ro,Z,rshared", "data:/d:nocopy"]).config.volumes
    assert bind_mount.readonly
    assert bind_mount.bind is not None
    assert (bind_mount.bind.selinux, bind_mount.bind.propagation) == ("Z", "rshared")
    assert named.volume is not None
    assert named.volume.nocopy


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        ("./rel:/data", "absolute"),
        ("/srv:data", "absolute"),
        ("/srv:/data:bogus", "unknown volume option"),
        ("a:b:c:d", "expected"),
    ],
)
def test_volumes_rejected(bad: str, fragment: str) -> None:
    found = errors({"name": "a", "image": "busybox", "config": {"volumes": [bad]}})
    assert found and found[0].startswith("config.volumes[0]")
    assert fragment in found[0]


def test_tmpfs_devices_env_labels() -> None:
    s = spec(
        tmpfs=["/run:size=64m,mode=1777", {"target": "/tmp"}],
        resources={"devices": ["/dev/fuse", "/dev/sda:/dev/xvda:r"]},
        env={"A": 1, "B": None, "C": True},
        labels=["tier=web", "flag"],
    )
    assert [(t.target, t.size, t.mode) for t in s.config.tmpfs] == [
        ("/run", 64 * 2**20, 0o1777),
        ("/tmp", None, None),
    ]
    assert [(d.host, d.container, d.permissions) for d in s.config.resources.devices] == [
        ("/dev/fuse", "/dev/fuse", "rwm"),
        ("/dev/sda", "/dev/xvda", "r"),
    ]
    assert s.config.env == ["A=1", "B", "C=true"]
    assert s.config.labels == {"tier": "web", "flag": ""}


@pytest.mark.parametrize(
    ("test", "want"),
    [
        (["CMD", "curl", "-f", "http://localhost"], ["curl", "-f", "http://localhost"]),
        (
            ["CMD-SHELL", "curl -f http://localhost || exit 1"],
            ["/bin/sh", "-c", "curl -f http://localhost || exit 1"],
        ),
        ("wget -q -O- localhost", ["/bin/sh", "-c", "wget -q -O- localhost"]),
    ],
)
def test_healthcheck_test_forms(test: Any, want: list[str]) -> None:
    check = spec(healthcheck={"test": test, "interval": "1m30s", "retries": 3}).config.healthcheck
    assert check is not None
    assert check.exec == want
    assert check.interval == 90.0


def test_healthcheck_none_disables() -> None:
    check = spec(healthcheck={"test": ["NONE"]}).config.healthcheck
    assert check is not None
    assert check.disable


def test_probe_needs_one_action() -> None:
    found = errors(
        {
            "name": "a",
            "image": "busybox",
            "config": {"readiness": {"exec": ["true"], "tcp_socket": {"port": 80}}},
        }
    )
    assert len(found) == 1
    assert found[0].startswith("config.readiness: ")
    assert "at most one of exec, http_get or tcp_socket" in found[0]


def test_commands_restart_capabilities_dns() -> None:
    s = spec(
        entrypoint="/bin/sh -c",
        cmd=["echo", 1],
        restart="on-failure:3",
        security={"capabilities": ["net_admin", "CAP_SYS_TIME"]},
        network={"dns": ["1.1.1.1"], "extra_hosts": {"db": "10.0.0.2"}},
        stop_signal="quit",
    ).config
    assert s.entrypoint == ["/bin/sh", "-c"]
    assert s.cmd == ["echo", "1"]
    assert (s.restart.policy, s.restart.max_retries) == ("on-failure", 3)
    assert s.security.capabilities.add == ["CAP_NET_ADMIN", "CAP_SYS_TIME"]
    assert "CAP_NET_ADMIN" in s.security.capabilities.effective()
    assert s.network.dns.servers == ["1.1.1.1"]
    assert s.network.extra_hosts == ["db:10.0.0.2"]
    assert s.stop_signal == "SIGQUIT"


def test_security_defaults_are_least_privilege() -> None:
    sec = spec().config.security
    assert sec.no_new_privileges
    assert sec.seccomp == "default"
    assert not sec.privileged
    effective = sec.capabilities.effective()
    assert "CAP_SYS_ADMIN" not in effective and "CAP_NET_ADMIN" not in effective
    assert len(effective) == 14


def test_network_ports_move_to_config_ports() -> None:
    s = spec(network={"ports": ["8080:80"]})
    assert [p.host for p in s.config.ports] == [8080]
    assert "ports" not in s.model_dump()["config"]["network"]


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ({"network": {"mode": "host"}, "ports": ["8080:80"]}, "network.mode=host and published ports"),
        ({"network": {"mode": "none", "networks": ["a"]}}, "mutually exclusive"),
        ({"group": "pod1", "network": {"mode": "host"}}, "group and network.mode=host"),
        ({"network": {"mode": "weird"}}, "expected bridge"),
        ({"secret_env": ["TOKEN"]}, "not in env"),
        ({"restart": "always:3"}, "only on-failure"),
        ({"resources": {"memory": "lots"}}, "expected bytes"),
    ],
)
def test_rules(config: dict[str, Any], fragment: str) -> None:
    found = errors({"name": "a", "image": "busybox", "config": config})
    assert any(fragment in f for f in found), found


def test_every_error_is_reported_with_its_path() -> None:
    found = errors(
        {
            "name": "a/b",
            "image": "busybox",
            "bogus": 1,
            "config": {"ports": ["x"], "resources": {"cpu": "lots", "pids": "many"}, "colour": "red"},
        }
    )
    paths = sorted(f.split(":")[0] for f in found)
    assert paths == sorted(
        ["name", "bogus", "config.ports[0]", "config.resources.cpu", "config.resources.pids", "config.colour"]
    )
    assert "bogus: unknown key" in found


@pytest.mark.parametrize(
    ("image", "transport", "want_image", "want_transport"),
    [
        ("docker://nginx:1.25", "docker", "nginx:1.25", "docker"),
        ("oci:/srv/layout:latest", None, "/srv/layout:latest", "oci"),
        ("oci-archive:/tmp/a.tar", None, "/tmp/a.tar", "oci-archive"),
        ("docker-archive:/tmp/a.tar", None, "/tmp/a.tar", "docker-archive"),
        ("registry.example:5000/team/app@sha256:" + "a" * 64, None, None, "docker"),
    ],
)
def test_transports(image: str, transport: str | None, want_image: str | None, want_transport: str) -> None:
    data: dict[str, Any] = {"name": "a", "image": image}
    if transport:
        data["transport"] = transport
    s = DeploymentSpec.model_validate(data)
    assert s.image == (want_image or image)
    assert s.transport == want_transport


@pytest.mark.parametrize("image", ["Nginx", "nginx:", "a b", "nginx@sha256:short", "-bad/x"])
def test_bad_image_references(image: str) -> None:
    found = errors({"name": "a", "image": image})
    assert found and "image" in found[0]


def test_round_trip_of_every_section() -> None:
    s = spec(
        entrypoint=["/bin/sh"],
        cmd="-c 'echo hi'",
        env=["A=1", "B=${HOME}"],
        volumes=["/srv:/srv:ro", "v:/v"],
        tmpfs="/run:size=1m",
        files=[{"target": "/etc/app.conf", "content": "x=1\n"}],
        ports=["127.0.0.1:8080:80"],
        network={
            "dns": {"servers": ["9.9.9.9"], "search": ["lan"]},
            "networks": [{"name": "back", "aliases": ["db"]}],
        },
        resources={"memory": "1G", "cpu": "250m", "pids": 64, "ulimits": {"nofile": 1024}},
        security={"readonly": True, "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}},
        restart={"policy": "always"},
        healthcheck={"http_get": {"port": 80, "path": "/health"}, "interval": 5},
        depends_on={"db": {"condition": "healthy"}},
        stop_grace_period="30s",
        group="pod",
        replicas=2,
    )
    dumped = s.model_dump(mode="json")
    again = DeploymentSpec.model_validate(dumped)
    assert again == s
    assert again.config.env == ["A=1", "B=${HOME}"]  # ${VAR} kept, resolved only at deploy time
    assert again.config.security.capabilities.effective() == ["CAP_NET_BIND_SERVICE"]


def test_tmpfs_options_as_docker_takes_them() -> None:
    run, ro, owned = spec(
        tmpfs=["/run:noexec,nosuid,size=64m", "/x:ro", "/y:uid=1000,gid=1000,mode=0700"]
    ).config.tmpfs
    assert (run.flags, run.size, run.readonly) == (["noexec", "nosuid"], 64 * 2**20, False)
    assert ro.readonly
    assert (owned.uid, owned.gid, owned.mode) == (1000, 1000, 0o700)
    found = errors({"name": "a", "image": "b", "config": {"tmpfs": ["/z:exec=1"]}})
    assert found and found[0].startswith("config.tmpfs[0]: unknown tmpfs option")


def test_a_healthcheck_without_a_test_keeps_the_image_command() -> None:
    for given in ({"interval": "10s"}, {"test": [], "retries": 2}):
        check = spec(healthcheck=given).config.healthcheck
        assert check is not None
        assert check.inherits_action and not check.disable
    found = errors({"name": "a", "image": "b", "config": {"readiness": {"interval": 5}}})
    assert found and "readiness needs one of exec" in found[0]


@pytest.mark.parametrize(
    ("add", "drop", "has", "lacks"),
    [
        (
            ["ALL"],
            ["SYS_ADMIN", "NET_ADMIN"],
            ["CAP_SYS_TIME", "CAP_BPF"],
            ["CAP_SYS_ADMIN", "CAP_NET_ADMIN"],
        ),
        (["ALL"], [], ["CAP_SYS_ADMIN"], []),
        ([], ["ALL"], [], ["CAP_CHOWN"]),
        (["NET_ADMIN"], ["CHOWN"], ["CAP_NET_ADMIN", "CAP_KILL"], ["CAP_CHOWN"]),
    ],
    ids=["all-minus-drops", "all", "none", "add-and-drop"],
)
def test_effective_capabilities(add: list[str], drop: list[str], has: list[str], lacks: list[str]) -> None:
    effective = spec(
        security={"capabilities": {"add": add, "drop": drop}}
    ).config.security.capabilities.effective()
    assert set(has) <= set(effective)
    assert not set(lacks) & set(effective)


@pytest.mark.parametrize(
    ("config", "image_entrypoint", "image_cmd", "want"),
    [
        ({}, ["/entry"], ["serve"], ["/entry", "serve"]),
        ({"cmd": ["run"]}, ["/entry"], ["serve"], ["/entry", "run"]),
        ({"entrypoint": ["sh"]}, ["/entry"], ["serve"], ["sh"]),
        ({"entrypoint": ["sh"], "cmd": ["-c", "x"]}, None, ["serve"], ["sh", "-c", "x"]),
        ({"cmd": []}, None, ["serve"], []),
    ],
    ids=["image", "cmd-only", "entrypoint-drops-image-cmd", "both", "empty-cmd"],
)
def test_argv_follows_dockers_rule(
    config: dict[str, Any], image_entrypoint: list[str] | None, image_cmd: list[str], want: list[str]
) -> None:
    assert spec(**config).config.argv(image_entrypoint, image_cmd) == want


@pytest.mark.parametrize(
    ("long", "want_type"),
    [
        ({"source": "/srv/data", "target": "/data"}, "bind"),  # an absolute source without type
        ({"source": "cache", "target": "/data"}, "volume"),  # a name without type
        ({"target": "/data"}, "volume"),  # anonymous
        ({"source": "/srv/data", "target": "/data", "bind": True}, "bind"),  # the document's flags
        ({"source": "cache", "target": "/data", "volume": True}, "volume"),
        ({"source": "/srv", "target": "/data", "bind": {"propagation": "rslave"}}, "bind"),
        ({"source": "cache", "target": "/data", "volume": {"nocopy": True}}, "volume"),
        ({"type": "bind", "source": "/srv", "target": "/data", "bind": True}, "bind"),
    ],
)
def test_volume_type_from_the_documents_forms(long: dict[str, Any], want_type: str) -> None:
    mount = spec(volumes=[long]).config.volumes[0]
    assert mount.type == want_type
    assert spec(volumes=[mount.model_dump()]).config.volumes[0] == mount  # the long form round-trips


@pytest.mark.parametrize(
    ("long", "fragment"),
    [
        ({"source": "/a", "target": "/b", "bind": True, "volume": True}, "mutually exclusive"),
        ({"type": "volume", "source": "x", "target": "/b", "bind": True}, "contradicts type 'volume'"),
        ({"source": "./rel", "target": "/b"}, "must not contain '/'"),
    ],
)
def test_volume_flags_rejected(long: dict[str, Any], fragment: str) -> None:
    found = errors({"name": "a", "image": "busybox", "config": {"volumes": [long]}})
    assert any(e.startswith("config.volumes[0]") and fragment in e for e in found), found


def test_devices_in_the_documents_path_form() -> None:
    devices = spec(
        resources={"devices": [{"path": "/dev/fuse", "permissions": "rw"}]}
    ).config.resources.devices
    assert [(d.host, d.container, d.permissions) for d in devices] == [("/dev/fuse", None, "rw")]
    found = errors(
        {"name": "a", "image": "b", "config": {"resources": {"devices": [{"path": "/a", "host": "/b"}]}}}
    )
    assert any("config.resources.devices[0]" in e and "mutually exclusive" in e for e in found), found


def test_a_fragment_becomes_a_spec_with_name_and_image() -> None:
    from translators.spec import ConfigFragment

    fragment = ConfigFragment.model_validate({"config": {"security": {"capabilities": ["net_admin"]}}})
    made = fragment.spec("web", "oci:/srv/web:1")
    assert (made.name, made.image, made.transport) == ("web", "/srv/web:1", "oci")
    assert made.config.security.capabilities.add == ["CAP_NET_ADMIN"]


def _spec_models() -> list[type[SpecModel]]:
    import translators.crd.models
    import translators.spec.project  # the models, defined on import

    found: list[type[SpecModel]] = []
    todo = list(SpecModel.__subclasses__())
    while todo:
        model = todo.pop()
        todo.extend(model.__subclasses__())
        if model.__module__.startswith("translators."):
            found.append(model)
    assert translators.crd.models.ContainerDeployment in found
    return found


def test_nested_defaults_are_the_models_validated_from_nothing() -> None:
    checked = 0
    for model in _spec_models():
        for name, info in model.model_fields.items():
            if info.default_factory is None:
                continue
            value = info.get_default(call_default_factory=True, validated_data={})
            if isinstance(value, BaseModel):
                validated = type(value).model_validate({})
                assert value == validated, (model.__name__, name)
                assert value.model_dump() == validated.model_dump(), (model.__name__, name)
                assert value.model_fields_set == set(), (model.__name__, name)
                checked += 1
    assert checked >= 8  # config (twice), network, dns, resources, security, capabilities, restart


def test_omitted_sections_are_defaults() -> None:
    minimal = DeploymentSpec.model_validate({"name": "app", "image": "busybox"})
    assert minimal.model_dump(exclude_defaults=True) == {"name": "app", "image": "busybox"}
    assert minimal.config.network.dns.servers == [] and minimal.config.security.no_new_privileges
