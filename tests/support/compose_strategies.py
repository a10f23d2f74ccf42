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
     "${UNSET:-${TAG}}", "pre-${TAG}-post"]
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
        earlier = names[:i]
        wants_deps: bool = draw(st.booleans())
        if earlier and wants_deps:
            deps = draw(st.lists(st.sampled_from(earlier), min_size=1, unique=True))
            svc["depends_on"] = (
                deps if draw(st.booleans()) else {d: {"condition": "service_started"} for d in deps}
            )
        services[name] = svc
    model: dict[str, Any] = {"services": services}
    if any("named:/named" in s.get("volumes", []) for s in services.values()):
        model["volumes"] = {"named": {}}
    return model
