"""Properties of the spec that hold for every input, checked with generated data.

We test these aspects:
- any generated mapping either binds to a spec or yields diagnostics: never an exception;
- a valid spec dumped to JSON validates back to an equal spec (the canonical form is a fixed point);
- generated short port strings that parse expand to mappings that round-trip.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from translators.errors import Diagnostics
from translators.spec import DeploymentSpec
from translators.spec.ports import parse_port
from translators.validation import bind

KEYS = [
    "name", "image", "transport", "config", "entrypoint", "cmd", "env", "volumes", "ports", "network",
    "resources", "security", "memory", "cpu", "pids", "devices", "mode", "dns", "capabilities", "add",
    "drop", "readonly", "restart", "healthcheck", "test", "interval", "depends_on", "labels", "tmpfs",
    "files", "target", "source", "content", "container", "host", "protocol", "group", "replicas",
]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["8080:80", "/a:/b:ro", "512M", "500m", "30s", "always", "host", "busybox", "CMD"]),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), children, max_size=5),
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(KEYS), values, max_size=6))
def test_any_mapping_binds_or_reports(data: dict[str, Any]) -> None:
    diag = Diagnostics()
    result = bind(DeploymentSpec, data, diag)
    assert (result is None) == bool(diag.errors)
    for d in diag.errors:
        assert d.message


valid_specs = st.fixed_dictionaries(
    {
        "name": st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True),
        "image": st.sampled_from(
            ["busybox", "docker.io/library/nginx:1.25", "127.0.0.1:5000/a/b@sha256:" + "f" * 64]
        ),
        "config": st.fixed_dictionaries(
            {},
            optional={
                "cmd": st.lists(st.text(max_size=10), max_size=3),
                "env": st.dictionaries(
                    st.from_regex(r"[A-Z_]{1,8}", fullmatch=True), st.text(max_size=8), max_size=3
                ),
                "ports": st.lists(
                    st.builds(lambda h, c: f"{h}:{c}", st.integers(1, 65535), st.integers(1, 65535)),
                    max_size=3,
                ),
                "resources": st.fixed_dictionaries(
                    {},
                    optional={
                        "memory": st.integers(0, 2**40),
                        "cpu": st.floats(0.001, 64),
                        "pids": st.integers(-1, 10**6),
                    },
                ),
                "replicas": st.integers(0, 50),
                "labels": st.dictionaries(st.text(min_size=1, max_size=5), st.text(max_size=5), max_size=3),
            },
        ),
    }
)


@settings(max_examples=200, deadline=None)
@given(valid_specs)
def test_canonical_form_is_a_fixed_point(data: dict[str, Any]) -> None:
    spec = DeploymentSpec.model_validate(data)
    dumped = spec.model_dump(mode="json")
    again = DeploymentSpec.model_validate(dumped)
    assert again == spec
    assert again.model_dump(mode="json") == dumped


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789:.-/udpct[]", max_size=24))
def test_port_strings_bind_or_report(text: str) -> None:
    try:
        parse_port(text)
        parsed = True
    except ValueError:
        parsed = False
    diag = Diagnostics()
    spec = bind(DeploymentSpec, {"name": "a", "image": "busybox", "config": {"ports": [text]}}, diag)
    if not parsed:
        assert spec is None
    assert (spec is None) == bool(diag.errors)
    for d in diag.errors:
        assert d.path.startswith("config.ports")
    if spec is not None:
        again = DeploymentSpec.model_validate(spec.model_dump(mode="json"))
        assert again == spec
