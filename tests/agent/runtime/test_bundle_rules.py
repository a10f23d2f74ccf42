"""Bundle rules podman cannot check for us: errors, hostile images, files, volumes, /etc files.

We test these aspects: users read through symlinks that try to leave the image; unknown users and
groups; ``${VAR}`` resolution errors that name the variable (and never the other values); bind
sources created only for the short syntax; a new volume filled from the image (owners, modes,
links) and an existing one left alone, ``nocopy``; secrets 0600 owned by the container's user;
resolv.conf and hosts per network mode; capabilities this host cannot grant; AppArmor reported.
"""

from __future__ import annotations

import json
import os
import resource
from pathlib import Path
from typing import Any

import pytest

from agent.runtime import bundles, capabilities, etcfiles, preparing, rootpaths, seccomp, users
from agent.runtime.configerrors import BundleError
from agent.runtime.inputs import BundleInputs
from agent.runtime.paths import RunPaths
from agent.runtime.users import Accounts
from agent.store.layout import Layout
from tests.agent.runtime.conftest import MakeInputs
from translators.errors import BerthError
from translators.spec.network import NetworkConfig
from translators.spec.security import Security

# --- users -----------------------------------------------------------------------------------------


def test_passwd_symlink_cannot_leave_the_image(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "etc").mkdir(parents=True)
    outside.mkdir()
    (outside / "passwd").write_text("evil:x:0:0::/:/bin/sh\n")
    os.symlink("../../outside/passwd", root / "etc" / "passwd")  # escapes, if followed by the host
    (root / "outside").mkdir()
    (root / "outside" / "passwd").write_text("inside:x:7:7::/in:/bin/sh\n")
    assert rootpaths.resolve(root, "/etc/passwd") == root / "outside" / "passwd"
    accounts = Accounts.of_root(root)
    assert [u.name for u in accounts.users] == ["inside"]
    with pytest.raises(BundleError, match="no user 'evil'"):
        accounts.resolve("evil")


def test_absolute_symlink_is_relative_to_the_image(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "real").mkdir()
    (root / "real" / "group").write_text("g:x:5:\n")
    os.symlink("/real/group", root / "etc" / "group")
    assert Accounts.of_root(root).group_id("g", what="t") == 5


def test_fifo_passwd_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    os.mkfifo(tmp_path / "etc" / "passwd")
    assert rootpaths.read_file(tmp_path, "/etc/passwd") is None


def test_user_rules() -> None:
    passwd = b"root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\nbroken line\nbad:x:u:0::/:\n"
    accounts = Accounts(users=tuple(users.parse_passwd(passwd)))
    assert [u.name for u in accounts.users] == ["root", "app"]
    assert accounts.resolve("app").uid == 1000
    assert accounts.resolve("app").home == "/home/app"
    assert (accounts.resolve("4242").uid, accounts.resolve("4242").gid, accounts.resolve("4242").home) == (
        4242,
        0,
        "/",
    )
    assert accounts.resolve("app:77").gid == 77
    with pytest.raises(BundleError, match="no group 'staff'"):
        accounts.resolve("app:staff")
    with pytest.raises(BundleError, match="group_add: no group 'wheel'"):
        accounts.resolve("", ["wheel"])
    with pytest.raises(BundleError, match="out of range"):
        accounts.resolve("99999999999")


def test_unknown_image_user_names_the_container(make_inputs: MakeInputs) -> None:
    inputs = make_inputs({"name": "who", "config": {"user": "ghost"}})
    with pytest.raises(BerthError, match=r"^who: user 'ghost': no user 'ghost' in the image's /etc/passwd$"):
        bundles.build(inputs)


# --- environment -----------------------------------------------------------------------------------


def test_unset_variable_is_an_error_naming_it(make_inputs: MakeInputs) -> None:
    inputs = make_inputs({"name": "env", "config": {"env": ["TOKEN=${API_TOKEN}", "OTHER=secret-value"]}})
    with pytest.raises(BundleError) as info:
        bundles.build(inputs)
    message = str(info.value)
    assert "API_TOKEN" in message and "TOKEN" in message and "env:" in message
    assert "secret-value" not in message


def test_variables_defaults_and_bare_keys(make_inputs: MakeInputs) -> None:
    inputs = make_inputs(
        {
            "name": "env",
            "config": {"env": ["A=${UNSET:-fallback}", "B=$$HOME", "PASSED", "MISSING", "C=${SET}"]},
        },
        environ={"PASSED": "p", "SET": "s"},
    )
    env = bundles.build(inputs).config["process"]["env"]
    assert {"A=fallback", "B=$HOME", "PASSED=p", "C=s"} <= set(env)
    assert not any(e.startswith("MISSING") for e in env)
    required = make_inputs({"name": "env2", "config": {"env": ["X=${NEED:?set NEED first}"]}})
    with pytest.raises(BundleError, match="set NEED first"):
        bundles.build(required)


def test_environment_is_never_stored_in_the_spec(make_inputs: MakeInputs) -> None:
    inputs = make_inputs({"name": "env", "config": {"env": ["T=${T}"]}}, environ={"T": "resolved"})
    bundle = preparing.create(inputs)
    assert "T=resolved" in bundle.config["process"]["env"]
    assert inputs.deployment.spec.config.env == ["T=${T}"]
    assert (inputs.bundle / "config.json").stat().st_mode & 0o777 == 0o600


# --- binds, volumes, files --------------------------------------------------------------------------


def test_bind_source_created_for_short_syntax_refused_for_long(make_inputs: MakeInputs, shm: Path) -> None:
    short = shm / "short" / "made"
    preparing.prepare(make_inputs({"name": "b1", "config": {"volumes": [f"{short}:/x"]}}))
    assert short.is_dir()
    missing = shm / "long" / "missing"
    long_form = {"type": "bind", "source": str(missing), "target": "/x", "bind": {"create_host_path": False}}
    with pytest.raises(BundleError, match=rf"b2: bind source {missing} \(for /x\) does not exist"):
        preparing.prepare(make_inputs({"name": "b2", "config": {"volumes": [long_form]}}))
    assert not missing.exists()


def test_new_volume_gets_the_image_content(make_inputs: MakeInputs, shm: Path) -> None:
    inputs = make_inputs({"name": "v1", "config": {"volumes": ["appdata:/data"]}}, image="users")
    preparing.prepare(inputs)
    data = shm / "store" / "volumes" / "appdata" / "_data"
    st = data.stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (1000, 1000, 0o750)
    seed = (data / "seed.txt").stat()
    assert (data / "seed.txt").read_text() == "seed\n"
    assert (seed.st_uid, seed.st_mode & 0o777) == (1000, 0o640)
    assert os.readlink(data / "link") == "seed.txt"
    (data / "seed.txt").write_text("changed\n")
    preparing.prepare(inputs)  # an existing, non-empty volume is left alone
    assert (data / "seed.txt").read_text() == "changed\n"
    assert (inputs.image_root / "data" / "seed.txt").read_text() == "seed\n"


def test_nocopy_volume_stays_empty(make_inputs: MakeInputs, shm: Path) -> None:
    inputs = make_inputs({"name": "v2", "config": {"volumes": ["empty:/data:nocopy"]}}, image="users")
    preparing.prepare(inputs)
    assert list((shm / "store" / "volumes" / "empty" / "_data").iterdir()) == []


def test_image_volume_through_symlink_stays_in_the_image(make_inputs: MakeInputs, shm: Path) -> None:
    inputs = make_inputs({"name": "v3", "config": {"volumes": ["etcvol:/evil"]}})
    os.symlink("/../../../../etc", inputs.image_root / "evil")
    preparing.prepare(inputs)
    # /evil -> /etc inside the image: the image's /etc (passwd, group) is copied, not the host's
    copied = sorted(p.name for p in (shm / "store" / "volumes" / "etcvol" / "_data").iterdir())
    assert copied == sorted(p.name for p in (inputs.image_root / "etc").iterdir())


def test_anonymous_volumes_are_stable_per_container_and_target(make_inputs: MakeInputs) -> None:
    one = bundles.build(
        make_inputs({"name": "anon", "config": {"volumes": ["/cache"]}}, image="users")
    ).config
    two = bundles.build(
        make_inputs({"name": "anon", "config": {"volumes": ["/cache"]}}, image="users")
    ).config
    sources = [m["source"] for m in one["mounts"] if m["destination"] in ("/cache", "/data")]
    assert len(set(sources)) == 2
    assert sources == [m["source"] for m in two["mounts"] if m["destination"] in ("/cache", "/data")]


def test_files_and_secrets(make_inputs: MakeInputs) -> None:
    inputs = make_inputs(
        {"name": "f1", "config": {"files": [
            {"target": "/run/secrets/db", "content": "pw", "secret": True},
            {"target": "/etc/app.conf", "content": "a=1\n"},
            {"target": "/bin/blob", "content": "AAEC", "encoding": "base64", "mode": "0755", "uid": 5},
            {"target": "/run/secrets/open", "content": "x", "secret": True, "mode": "0440"},
        ]}},
        image="users",
    )  # fmt: skip
    bundle = preparing.prepare(inputs)
    by_target = {m["destination"]: Path(m["source"]) for m in bundle.config["mounts"]}
    db = by_target["/run/secrets/db"].stat()
    assert (db.st_mode & 0o7777, db.st_uid, db.st_gid) == (0o600, 1000, 1000)
    assert by_target["/run/secrets/db"].parent.stat().st_mode & 0o777 == 0o700
    assert by_target["/etc/app.conf"].stat().st_mode & 0o7777 == 0o444
    assert by_target["/bin/blob"].read_bytes() == b"\x00\x01\x02"
    assert (by_target["/bin/blob"].stat().st_mode & 0o777, by_target["/bin/blob"].stat().st_uid) == (0o755, 5)
    assert by_target["/run/secrets/open"].stat().st_mode & 0o777 == 0o440
    mount = next(m for m in bundle.config["mounts"] if m["destination"] == "/run/secrets/db")
    assert "ro" in mount["options"]


def test_duplicate_mount_targets_are_refused(make_inputs: MakeInputs) -> None:
    inputs = make_inputs({"name": "dup", "config": {"volumes": ["a:/x"], "tmpfs": ["/x"]}})
    with pytest.raises(BundleError, match="dup: two mounts at /x"):
        bundles.build(inputs)


def test_spec_mount_replaces_generated_file(make_inputs: MakeInputs) -> None:
    inputs = make_inputs(
        {"name": "hosts", "config": {"files": [{"target": "/etc/hosts", "content": "1.2.3.4 x\n"}]}}
    )
    mounts = [m for m in bundles.build(inputs).config["mounts"] if m["destination"] == "/etc/hosts"]
    assert len(mounts) == 1 and "/files/" in mounts[0]["source"]


# --- /etc files -------------------------------------------------------------------------------------


def test_resolv_conf_per_network_mode(tmp_path: Path) -> None:
    host = tmp_path / "resolv.conf"
    host.write_text("nameserver 127.0.0.53\nnameserver 10.0.0.1\nsearch corp\noptions edns0\n")
    bridge = etcfiles.resolv_conf(NetworkConfig(), host_resolv=host)
    assert bridge == "nameserver 10.0.0.1\nsearch corp\noptions edns0\n"
    hostnet = etcfiles.resolv_conf(NetworkConfig(mode="host"), host_resolv=host)
    assert hostnet is not None and hostnet.startswith("nameserver 127.0.0.53\n")
    assert etcfiles.resolv_conf(NetworkConfig(mode="none"), host_resolv=host) is None
    own = NetworkConfig.model_validate(
        {"mode": "none", "dns": {"servers": ["9.9.9.9"], "search": ["x"], "options": ["ndots:2"]}}
    )
    assert etcfiles.resolv_conf(own, host_resolv=host) == "nameserver 9.9.9.9\nsearch x\noptions ndots:2\n"
    host.write_text("nameserver 127.0.0.53\n")
    assert (
        etcfiles.resolv_conf(NetworkConfig(), host_resolv=host) == "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"
    )


def test_resolv_conf_names_the_networks_dns_first(tmp_path: Path) -> None:
    host = tmp_path / "resolv.conf"
    host.write_text("nameserver 10.0.0.1\nsearch corp\noptions edns0\n")
    served = etcfiles.resolv_conf(
        NetworkConfig(), host_resolv=host, network_servers=["10.90.3.1"], network_search=["dns.podman"]
    )
    # aardvark-dns forwards other names to the host's servers itself
    assert served == "nameserver 10.90.3.1\nsearch dns.podman corp\noptions edns0\n"
    own = NetworkConfig.model_validate({"dns": {"servers": ["9.9.9.9"], "search": ["x"]}})
    served = etcfiles.resolv_conf(
        own, host_resolv=host, network_servers=["10.90.3.1"], network_search=["dns.podman"]
    )
    assert served == "nameserver 10.90.3.1\nnameserver 9.9.9.9\nsearch dns.podman x\noptions edns0\n"


def test_hosts_file(tmp_path: Path) -> None:
    network = NetworkConfig.model_validate({"extra_hosts": ["db:10.0.0.5", "v6:::1"]})
    text = etcfiles.hosts(network, "web", aliases=["www"])
    lines = text.splitlines()
    assert lines[:2] == ["10.0.0.5\tdb", "::1\tv6"]
    assert "127.0.0.1\tlocalhost" in lines and lines[-1] == "127.0.0.1\tweb www"
    host = tmp_path / "hosts"
    host.write_text("127.0.0.1 localhost\n192.168.1.2 nas\n")
    on_host = etcfiles.hosts(
        NetworkConfig.model_validate({"mode": "host", "extra_hosts": ["a:1.1.1.1"]}), "h", host_hosts=host
    )
    assert on_host.splitlines() == ["1.1.1.1\ta", "127.0.0.1 localhost", "192.168.1.2 nas"]


def test_generated_files_are_written(make_inputs: MakeInputs, tmp_path: Path) -> None:
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 10.1.1.1\n")
    inputs = make_inputs(
        {"name": "etc", "config": {"network": {"mode": "bridge", "hostname": "web"}}}, host_resolv=resolv
    )
    preparing.prepare(inputs)
    assert inputs.files.hostname.read_text() == "web\n"
    assert inputs.files.resolv_conf.read_text() == "nameserver 10.1.1.1\n"
    assert "127.0.0.1\tweb" in inputs.files.hosts.read_text()


# --- capabilities, seccomp, AppArmor --------------------------------------------------------------


def test_capability_the_host_lacks_is_refused() -> None:
    lacking = frozenset(capabilities.BITS) - {"CAP_SYS_RESOURCE"}
    wants = Security.model_validate({"capabilities": {"add": ["SYS_RESOURCE"]}})
    with pytest.raises(BundleError, match="CAP_SYS_RESOURCE cannot be granted"):
        capabilities.container_set(wants, lacking)
    every = capabilities.container_set(Security(privileged=True), lacking)
    assert "CAP_SYS_RESOURCE" not in every and "CAP_SYS_ADMIN" in every
    assert "CAP_SYS_RESOURCE" not in capabilities.container_set(
        Security.model_validate({"capabilities": {"add": ["ALL"]}}), lacking
    )


def names(profile: dict[str, Any]) -> list[str]:
    return [r["names"][0] for r in profile["syscalls"]]


def test_seccomp_rule_selection() -> None:
    profile = {
        "defaultAction": "SCMP_ACT_ERRNO",
        "archMap": [{"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}],
        "syscalls": [
            {"names": ["a"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["b"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
            {"names": ["c"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["arm64"]}},
            {"names": ["d"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "5.8"}},
            {"names": ["e"], "action": "SCMP_ACT_ALLOW", "excludes": {"minKernel": "5.8"}},
            {"name": "f", "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "args": [{"index": 0, "value": 1, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]},
        ],
    }  # fmt: skip
    old_amd = seccomp.to_oci(profile, [], arch="amd64", kernel=(4, 19))
    assert names(old_amd) == ["b", "e", "f"]
    assert old_amd["architectures"] == []
    assert old_amd["syscalls"][-1] == {"names": ["f"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
                                       "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]}  # fmt: skip
    new_arm_admin = seccomp.to_oci(profile, ["CAP_SYS_ADMIN"], arch="arm64", kernel=(6, 1))
    assert names(new_arm_admin) == ["a", "c", "d", "f"]
    assert new_arm_admin["architectures"] == ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]


def test_seccomp_profile_errors(tmp_path: Path) -> None:
    bad = tmp_path / "p.json"
    bad.write_text("{not json")
    with pytest.raises(BundleError, match=rf"seccomp profile {bad}: not JSON"):
        seccomp.for_container(str(bad), [], privileged=False)
    bad.write_text(
        json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"action": "SCMP_ACT_ERRNO"}]})
    )
    with pytest.raises(BundleError, match=r"syscalls\[0\] names no syscall"):
        seccomp.for_container(str(bad), [], privileged=False)
    with pytest.raises(BundleError, match="cannot read it"):
        seccomp.for_container(str(tmp_path / "missing.json"), [], privileged=False)
    assert seccomp.for_container("default", [], privileged=True) is None


def test_apparmor_is_reported_not_pretended(make_inputs: MakeInputs) -> None:
    inputs = make_inputs({"name": "aa", "config": {"security": {"apparmor": "docker-default"}}})
    bundle = bundles.build(inputs)
    if bundles.apparmor_available():  # pragma: no cover - not on this kernel
        assert bundle.config["process"]["apparmorProfile"] == "docker-default"
    else:
        assert "apparmorProfile" not in bundle.config["process"]
        assert any("AppArmor profile 'docker-default' is not applied" in w for w in bundle.warnings)


def test_nothing_to_run(make_inputs: MakeInputs) -> None:
    inputs = make_inputs({"name": "empty", "config": {"cmd": []}})
    with pytest.raises(BundleError, match="empty: nothing to run"):
        bundles.build(inputs)


def test_host_network_has_no_network_namespace_and_joins_are_paths(make_inputs: MakeInputs) -> None:
    host = bundles.build(make_inputs({"name": "hn", "config": {"network": {"mode": "host"}}})).config
    assert "network" not in [n["type"] for n in host["linux"]["namespaces"]]
    pod = bundles.build(
        make_inputs({"name": "pod", "config": {}}, join_namespaces={"network": Path("/run/netns/x")})
    ).config
    assert {"type": "network", "path": "/run/netns/x"} in pod["linux"]["namespaces"]
    with pytest.raises(BundleError, match="cannot join namespaces of type user"):
        bundles.build(make_inputs({"name": "u", "config": {}}, join_namespaces={"user": Path("/x")}))


def test_sysctl_that_is_not_namespaced_is_refused(make_inputs: MakeInputs) -> None:
    inputs = make_inputs({"name": "sc", "config": {"security": {"sysctls": {"vm.swappiness": "1"}}}})
    with pytest.raises(BundleError, match=r"vm\.swappiness is not namespaced"):
        bundles.build(inputs)


def test_ulimit_above_what_runc_can_set(make_inputs: MakeInputs) -> None:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    can_raise = "CAP_SYS_RESOURCE" in capabilities.host_set("CapEff") or hard == resource.RLIM_INFINITY
    inputs = make_inputs({"name": "ul", "config": {"resources": {"ulimits": {"nofile": hard + 1}}}})
    if can_raise:  # pragma: no cover - not on this machine
        bundles.build(inputs)
    else:
        with pytest.raises(
            BundleError, match=rf"ulimits\.nofile: hard limit {hard + 1} is above Berth's own \({hard}\)"
        ):
            bundles.build(inputs)
    defaults = {
        r["type"]: r
        for r in bundles.build(make_inputs({"name": "ul2", "config": {}})).config["process"]["rlimits"]
    }
    assert defaults["RLIMIT_NOFILE"]["hard"] == (1048576 if can_raise else min(hard, 1048576))


def test_shared_shm_and_joined_network(make_inputs: MakeInputs, shm: Path) -> None:
    config = bundles.build(
        make_inputs({"name": "podc", "config": {"network": {"mode": "container:web"}}},
                    shm_source=shm / "podshm", join_namespaces={"network": Path("/proc/1/ns/net")})
    ).config  # fmt: skip
    mount = next(m for m in config["mounts"] if m["destination"] == "/dev/shm")
    assert (mount["type"], mount["source"]) == ("bind", str(shm / "podshm"))
    with pytest.raises(
        BundleError, match=r"network\.mode container:web: the path of that container's network"
    ):
        bundles.build(make_inputs({"name": "podd", "config": {"network": {"mode": "container:web"}}}))


def test_inputs_from_the_store_paths(make_inputs: MakeInputs, shm: Path) -> None:
    dep = make_inputs({"name": "web", "config": {}}).deployment
    paths = RunPaths.for_store(shm / "store", run_root=shm / "run-root")
    inputs = BundleInputs.of(dep, paths, Layout(shm / "store"), environ={"A": "1"})
    assert inputs.bundle == shm / "run-root" / "containers" / "web" / "bundle"
    assert inputs.rootfs == inputs.bundle / "rootfs"
    assert inputs.cgroups_path == paths.cgroup_path("web")
    assert (
        inputs.volume_dir is not None and inputs.volume_dir("v") == shm / "store" / "volumes" / "v" / "_data"
    )
    assert bundles.build(inputs).config["root"]["path"] == str(inputs.rootfs)


def test_volume_subpath_stays_in_the_volume(make_inputs: MakeInputs, shm: Path) -> None:
    layout = Layout(shm / "store")
    (layout.volume_dir("shared") / "web").mkdir(parents=True)
    ok = bundles.build(make_inputs({"name": "sp", "config": {"volumes": [
        {"type": "volume", "source": "shared", "target": "/srv", "volume": {"subpath": "web"}}]}}))  # fmt: skip
    assert next(m for m in ok.config["mounts"] if m["destination"] == "/srv")["source"] == str(
        layout.volume_dir("shared") / "web"
    )
    escape = make_inputs({"name": "sp2", "config": {"volumes": [
        {"type": "volume", "source": "shared", "target": "/srv", "volume": {"subpath": "../../../../etc"}}]}})  # fmt: skip
    with pytest.raises(
        BundleError, match=r"sp2: volume shared: subpath \.\./\.\./\.\./\.\./etc does not exist in it"
    ):
        preparing.prepare(escape)
    source = next(m for m in bundles.build(escape).config["mounts"] if m["destination"] == "/srv")["source"]
    assert source == str(layout.volume_dir("shared") / "etc")


def test_a_profile_is_made_once_and_again_when_its_file_changes(tmp_path: Path) -> None:
    """Profiles are kept per file as it is on disk and per capability set: an edited profile is
    read again, another capability set gets its own rules."""
    path = tmp_path / "profile.json"

    def write(action: str) -> None:
        rules = [
            {"names": ["ptrace"], "action": action, "includes": {"caps": ["CAP_SYS_PTRACE"]}},
            {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
        ]
        path.write_text(json.dumps({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": rules}))

    write("SCMP_ACT_ALLOW")
    plain = seccomp.for_container(str(path), [], privileged=False)
    assert plain is not None and plain == seccomp.to_oci(seccomp.load(path), [])
    assert [r["names"] for r in plain["syscalls"]] == [["read"]]
    tracing = seccomp.for_container(str(path), ["CAP_SYS_PTRACE"], privileged=False)
    assert tracing is not None
    assert [r["names"] for r in tracing["syscalls"]] == [["ptrace"], ["read"]]
    assert seccomp.for_container(str(path), [], privileged=False) == plain
    write("SCMP_ACT_LOG")  # edited in place: the next container gets the new rules
    edited = seccomp.for_container(str(path), ["CAP_SYS_PTRACE"], privileged=False)
    assert edited is not None and edited["syscalls"][0]["action"] == "SCMP_ACT_LOG"
