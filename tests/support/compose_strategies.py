"""Hypothesis strategies for small, mostly valid compose files (shared by property and oracle tests)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

NAMES = ["web", "db", "cache"]
VARS = ["TAG", "PORT", "EMPTY", "UNSET"]
ENV = {"TAG": "1.25", "PORT": "8080", "EMPTY": ""}

WORDS = st.sampled_from(["a", "hello", "x y", "1", "-c", "echo hi", "/bin/sh", "a=b", "$$HOME"])
TEMPLATES = st.sampled_from(
    ["${TAG}", "${UNSET:-dflt}", "${EMPTY:-dflt}", "${EMPTY-dflt}", "${TAG:+alt}", "${UNSET+alt}", "$TAG",
     "${UNSET:-${TAG}}", "pre-${TAG}-post", "${UNSET:-{x}}", "${TAG:-{x}}", "${TAG}}", "$$${TAG}", "a$", "$1",
     "${EMPTY:?}"]
)  # fmt: skip
TEXT = st.one_of(WORDS, TEMPLATES)
PORT = st.one_of(
    st.integers(1, 65535),
    st.sampled_from(
        ["80", "8080:80", "127.0.0.1:8081:81", "9000-9001:90-91", "53/udp", "${PORT}:80", "3000-3001"]
    ),
)
VOLUME = st.sampled_from(
    ["./data:/data", "/srv:/srv:ro", "/anon", "named:/named", "~/cfg:/cfg:rw", "./x:/x:z"]
)
ENVIRONMENT = st.one_of(
    st.dictionaries(
        st.sampled_from(["A", "B", "TAG", "C_1"]), st.one_of(st.none(), TEXT, st.integers(0, 99)), max_size=3
    ),
    st.lists(st.sampled_from(["A=1", "B=${TAG}", "TAG", "C=x=y"]), max_size=3, unique=True),
)
LIMITS = st.fixed_dictionaries(
    {}, optional={"cpus": st.sampled_from(["0.5", 1, "2"]), "memory": st.sampled_from(["512M", "1g", 1024])}
)
DURATION = st.sampled_from(["30s", "1m30s", "90s", "500ms", "1h", 10])
EXTRAS = st.fixed_dictionaries(
    {},
    optional={
        "healthcheck": st.fixed_dictionaries(
            {"test": st.one_of(TEXT, st.just(["CMD", "true"]), st.just(["NONE"]))},
            optional={"interval": DURATION, "timeout": DURATION, "retries": st.integers(0, 5)},
        ),
        "restart": st.sampled_from(["no", "always", "on-failure", "unless-stopped"]),
        "deploy": st.fixed_dictionaries(
            {},
            optional={
                "replicas": st.integers(0, 3),
                "resources": st.fixed_dictionaries(
                    {
                        "limits": st.fixed_dictionaries(
                            {},
                            optional={
                                "cpus": st.sampled_from(["0.5", 1, "2"]),
                                "memory": st.sampled_from(["512M", "1g", 1024]),
                            },
                        )
                    }
                ),
            },
        ),
        "mem_limit": st.sampled_from(["256m", "1G", 1048576]),
        "cap_add": st.lists(st.sampled_from(["NET_ADMIN", "SYS_TIME"]), max_size=2, unique=True),
        "read_only": st.booleans(),
        "tmpfs": st.one_of(
            st.just("/run"), st.lists(st.sampled_from(["/tmp", "/run:size=64m"]), unique=True)
        ),
        "stop_grace_period": DURATION,
        "labels": st.one_of(st.just({"a": "1"}), st.just(["b=2", "c"])),
        "profiles": st.just(["debug"]),
        "networks": st.sampled_from([["front"], {"front": {"aliases": ["x"]}}]),
        "user": st.sampled_from(["1000", "1000:1000", "app"]),
        "working_dir": st.sampled_from(["/app", "/srv/${TAG}"]),
        "extra_hosts": st.sampled_from([["db:10.0.0.1"], ["db=10.0.0.1", "x:::1"], {"db": "10.0.0.2"}]),
        "dns": st.sampled_from(["8.8.8.8", ["1.1.1.1", "8.8.8.8"]]),
        "dns_search": st.sampled_from(["example.com", ["a.example", "b.example"]]),
        "expose": st.lists(st.sampled_from([80, "443", "8000-8001", "53/udp"]), max_size=2, unique=True),
        "ulimits": st.sampled_from([{"nofile": 1024}, {"nofile": {"soft": 1, "hard": 2}}]),
        "sysctls": st.sampled_from([{"net.core.somaxconn": 1024}, ["net.ipv4.ip_forward=1"]]),
        "devices": st.sampled_from([["/dev/fuse"], ["/dev/a:/dev/b:rw"]]),
        "security_opt": st.sampled_from(
            [["no-new-privileges:true"], ["seccomp=unconfined", "label=disable"]]
        ),
        "cap_drop": st.just(["ALL"]),
        "privileged": st.booleans(),
        "init": st.booleans(),
        "tty": st.booleans(),
        "stop_signal": st.sampled_from(["SIGINT", "SIGUSR1"]),
        "hostname": st.just("h1"),
        "pull_policy": st.sampled_from(["always", "missing", "never", "build"]),
        "shm_size": st.sampled_from(["64m", 1024, "1gb"]),
        "pids_limit": st.integers(-1, 100),
        "cpus": st.sampled_from([0.5, "1.5", 2]),
        "group_add": st.just(["audio", 1000]),
        "entrypoint": st.sampled_from(["", [], "/bin/sh -c 'echo hi'"]),
        "network_mode": st.sampled_from(["host", "none", "bridge"]),
        "secrets": st.just(["token"]),
        "configs": st.just([{"source": "conf", "target": "/etc/app.conf", "mode": 0o440}]),
    },
)
COMMAND = st.one_of(TEXT, st.lists(TEXT, min_size=1, max_size=3))


@st.composite
def compose_files(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=3, unique=True))
    services: dict[str, Any] = {}
    for i, name in enumerate(names):
        svc: dict[str, Any] = {
            "image": draw(st.sampled_from(["nginx", "nginx:${TAG}", "redis:7", "busybox"]))
        }
        if draw(st.booleans()):
            svc["command"] = draw(COMMAND)
        if draw(st.booleans()):
            svc["entrypoint"] = draw(COMMAND)
        if draw(st.booleans()):
            svc["environment"] = draw(ENVIRONMENT)
        if draw(st.booleans()):
            svc["ports"] = draw(st.lists(PORT, max_size=3, unique=True))
        if draw(st.booleans()):
            svc["volumes"] = draw(st.lists(VOLUME, max_size=2, unique=True))
        if draw(st.booleans()):
            svc.update(draw(EXTRAS))
        earlier = names[:i]
        wants_deps: bool = draw(st.booleans())
        if earlier and wants_deps:
            deps = draw(st.lists(st.sampled_from(earlier), min_size=1, unique=True))
            svc["depends_on"] = (
                deps if draw(st.booleans()) else {d: {"condition": "service_started"} for d in deps}
            )
        wants_extends: bool = draw(st.booleans())
        if earlier and wants_extends:
            svc["extends"] = draw(st.sampled_from(earlier))
        services[name] = svc
    model: dict[str, Any] = {"services": services}
    if any("named:/named" in s.get("volumes", []) for s in services.values()):
        model["volumes"] = {"named": {}}
    if any("networks" in s for s in services.values()):
        model["networks"] = {"front": {}}
    if any("secrets" in s for s in services.values()):
        model["secrets"] = {"token": {"file": "./token.txt"}}
    if any("configs" in s for s in services.values()):
        model["configs"] = {"conf": {"content": "x=${TAG}"}}
    return model


DOTENV_VALUES = st.sampled_from(
    ["plain", "two words", " padded ", "a # comment", "#hash", "x#y", '"double # kept"', "'single $TAG'",
     '"esc \\" \\\\ \\n"', "${TAG}", "${NOPE:-dflt}", "$TAG-suffix", '"multi\nline"', "", "a\tb", "`tick`"]
)  # fmt: skip


@st.composite
def dotenv_files(draw: st.DrawFn) -> list[tuple[str, str, str]]:
    """Lines ``(prefix, key, value)`` of a .env file; prefix is "", "export " or a ": " style marker."""
    keys = draw(
        st.lists(st.sampled_from(["K1", "K2", "K3", "K4", "K_5"]), min_size=1, max_size=4, unique=True)
    )
    return [
        (
            draw(st.sampled_from(["", "export "])),
            key,
            draw(st.sampled_from(["=", " = ", ": "])) + draw(DOTENV_VALUES),
        )
        for key in keys
    ]
