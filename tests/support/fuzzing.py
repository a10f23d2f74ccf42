"""Hostile inputs for every reader Berth has, and the harness that runs them.

Strategies generate inputs shaped like what each translator expects (compose files, Kubernetes
objects, native specs) but with wrong types, huge and non-finite numbers, durations beyond any
range, deep nesting, nested interpolation and YAML alias bombs; and tar archives whose headers
lie (sizes, base-256 numbers, PAX records, names, link targets). The same strategies run in the
test suite at a small budget (``tests/fuzz``) and in ``benchmarks/fuzz.py`` at 100,000 inputs.

An outcome is ``ok`` (translated or unpacked), ``refused`` (a :class:`BerthError`: the one-line
errors users see) or ``crash`` (anything else: a bug).
"""

from __future__ import annotations

import copy
import os
import random
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

from tests.support.tarheaders import header, padded, pax, pax_record

# -- values ------------------------------------------------------------------------------------
HUGE_INTS = st.sampled_from([2**63, -(2**63) - 1, 2**64, 10**30, -1, 0, 65536, 2**31])
NUMBERS = st.one_of(
    st.integers(-(2**70), 2**70),
    HUGE_INTS,
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e308, -1e308, 1e-320, 0.5]),
)
STRINGS = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "",
            "1e400s",
            "99999999999999999999h",
            "inf",
            "-1s",
            "1m30s",
            "500ms",
            ".5",
            "0x10",
            "${A",
            "${A:-${B:-${C}}}",
            "${A:?err}",
            "$$",
            "80:80",
            "127.0.0.1:80:80/udp",
            "65536:1",
            "1-99999:1",
            "512M",
            "1e400",
            "-1",
            "9" * 30,
            "a" * 300,
            "../..",
            "/etc",
            "no",
            "yes",
            "on",
            "null",
            "~",
            "service:x",
            "host",
            "CMD-SHELL",
            "SIGKILL",
            "SIGBOGUS",
            "NET_ADMIN",
            "ALL",
            "unconfined",
        ]
    ),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, STRINGS)


def values(leaves: st.SearchStrategy[Any] = SCALARS) -> st.SearchStrategy[Any]:
    """Any JSON-like value: scalars, lists and mappings of them, a few levels deep."""
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(st.one_of(STRINGS, st.sampled_from(KEYS)), inner, max_size=4),
        ),
        max_leaves=12,
    )


SERVICE_KEYS = [
    "image", "command", "entrypoint", "environment", "env_file", "ports", "volumes", "tmpfs", "depends_on",
    "healthcheck", "restart", "deploy", "profiles", "networks", "network_mode", "cap_add", "cap_drop",
    "mem_limit", "cpus", "cpu_shares", "pids_limit", "stop_grace_period", "stop_signal", "user",
    "working_dir", "labels", "extends", "secrets", "configs", "ulimits", "sysctls", "extra_hosts", "dns",
    "read_only", "privileged", "security_opt", "shm_size", "scale", "init", "tty", "links", "expose",
    "devices", "group_add", "hostname", "pull_policy", "build", "container_name", "x-ext",
]  # fmt: skip
TOP_KEYS = ["services", "networks", "volumes", "secrets", "configs", "name", "version", "include", "profiles"]
CONTAINER_KEYS = [
    "name", "image", "command", "args", "env", "envFrom", "ports", "volumeMounts", "resources",
    "securityContext", "livenessProbe", "readinessProbe", "startupProbe", "workingDir", "lifecycle",
    "imagePullPolicy", "tty", "stdin",
]  # fmt: skip
POD_KEYS = [
    "containers", "initContainers", "volumes", "restartPolicy", "securityContext", "hostNetwork",
    "hostname", "terminationGracePeriodSeconds", "dnsConfig", "hostAliases", "nodeSelector",
]  # fmt: skip
SPEC_KEYS = [
    "entrypoint", "cmd", "env", "working_dir", "user", "volumes", "tmpfs", "ports", "resources",
    "security", "restart", "healthcheck", "depends_on", "labels", "stop_grace_period", "replicas",
    "network", "files", "group", "role", "pull_policy", "secret_env",
]  # fmt: skip
KEYS = sorted(set(SERVICE_KEYS + CONTAINER_KEYS + POD_KEYS + SPEC_KEYS + ["interval", "timeout", "test"]))


def _keyed(keys: list[str], value: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(keys), value, max_size=6)


VALUE = values()
SERVICE = st.one_of(_keyed(SERVICE_KEYS, VALUE), VALUE)
COMPOSE = st.one_of(
    st.fixed_dictionaries(
        {"services": st.dictionaries(st.sampled_from(["web", "db", "a" * 70]), SERVICE, max_size=3)}
    ),
    _keyed(TOP_KEYS, VALUE),
    st.fixed_dictionaries({"services": VALUE}),
)
CONTAINER = _keyed(CONTAINER_KEYS, VALUE)
POD_SPEC = st.one_of(
    st.fixed_dictionaries({"containers": st.lists(CONTAINER, max_size=2)}, optional={"volumes": VALUE}),
    _keyed(POD_KEYS, VALUE),
)
KIND = st.sampled_from(
    ["Pod", "Deployment", "StatefulSet", "Job", "CronJob", "ConfigMap", "Secret", "Service"]
)


@st.composite
def _kubernetes(draw: st.DrawFn) -> Any:
    kind = draw(KIND)
    pod = draw(POD_SPEC)
    spec: Any = pod
    if kind in ("Deployment", "StatefulSet", "Job"):
        spec = {"template": {"spec": pod}, **draw(_keyed(["replicas", "selector", "template"], VALUE))}
    elif kind == "CronJob":
        spec = {"jobTemplate": {"spec": {"template": {"spec": pod}}}}
    doc: dict[str, Any] = {
        "apiVersion": draw(st.sampled_from(["v1", "apps/v1", "batch/v1", 1])),
        "kind": kind,
        "metadata": draw(st.one_of(st.fixed_dictionaries({"name": STRINGS}), VALUE)),
        "spec": draw(st.one_of(st.just(spec), VALUE)) if draw(st.integers(0, 9)) == 0 else spec,
    }
    if kind in ("ConfigMap", "Secret"):
        doc["data"] = draw(VALUE)
    return doc


KUBERNETES = _kubernetes()
NATIVE = st.fixed_dictionaries(
    {
        "name": st.one_of(st.sampled_from(["web", "a" * 254]), STRINGS),
        "image": st.one_of(st.just("busybox"), SCALARS),
    },
    optional={"config": st.one_of(_keyed(SPEC_KEYS, VALUE), VALUE), "transport": STRINGS},
)


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, default_flow_style=False, allow_unicode=True)


def laughs(levels: int, width: int) -> str:
    """A 'billion laughs': ``width ** levels`` leaves from a few hundred bytes."""
    lines = ["x-l0: &l0 [" + ", ".join(['"lol"'] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"x-l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]")
    return "\n".join(lines) + f"\nservices:\n  web:\n    image: x\n    x-bomb: *l{levels - 1}\n"


@st.composite
def yaml_texts(draw: st.DrawFn, documents: st.SearchStrategy[Any]) -> str:
    """A document as YAML, sometimes made hostile at the text level."""
    text = _dump(draw(documents))
    trick = draw(st.integers(0, 9))
    if trick == 0:
        return laughs(draw(st.integers(2, 10)), draw(st.integers(2, 12)))
    if trick == 1:
        depth = draw(st.integers(50, 3000))
        return "services:\n  web:\n    image: x\n    x-deep: " + "[" * depth + "]" * depth + "\n"
    if trick == 2:
        depth = draw(st.integers(10, 600))
        return 'services:\n  web:\n    image: "' + "${A:-" * depth + "x" + "}" * depth + '"\n'
    if trick == 3:
        return text + "\nx-big: " + "9" * draw(st.integers(19, 6000)) + "\n"
    if trick == 4:
        return "a: &a [*a]\n" if draw(st.booleans()) else "a: &a {b: *a}\nservices: {web: {image: x}}\n"
    return text


# -- tar archives --------------------------------------------------------------------------------
NAMES = st.one_of(
    st.binary(max_size=120),
    st.sampled_from(
        [b"a", b"dir/", b"../x", b"/abs", b"a/../../x", b".wh.x", b"d/.wh..wh..opq", b"a\0b", b"."]
    ),
    st.integers(1, 5000).map(lambda n: b"d/" * n + b"f"),
    st.integers(200, 5000).map(lambda n: b"n" * n),
)
TYPES = st.sampled_from(list(b"0123456701xgLKSVM\0 z"))
FIELD = st.one_of(
    st.integers(-5, 2**40),
    st.binary(max_size=12),
    st.binary(min_size=1, max_size=12).map(lambda b: bytes([0x80 | (b[0] & 0x7F)]) + b[1:]),  # base-256
    st.binary(min_size=1, max_size=12).map(lambda b: b"\xff" + b[1:]),  # negative base-256
)
PAX_KEYS = st.sampled_from(
    [b"path", b"linkpath", b"size", b"uid", b"gid", b"mtime", b"atime", b"uname", b"SCHILY.xattr.user.a",
     b"SCHILY.xattr.", b"SCHILY.xattr.bogus", b"SCHILY.xattr.security.capability", b"GNU.sparse.map", b"x"]
)  # fmt: skip
PAX_VALUES = st.one_of(
    st.binary(max_size=40),
    st.sampled_from([b"-1", b"1e400", b"99999999999999999999999", b"1.5", b"abc", b"", b"9" * 5000]),
    NAMES,
)


SANE_NAMES = st.sampled_from(
    [b"etc/", b"etc/passwd", b"bin/sh", b"usr/lib/x.so", b"a", b"a/b/c", b"lib", b"dev/null"]
)


def _maybe(draw: st.DrawFn, sane: Any, hostile: st.SearchStrategy[Any]) -> Any:
    """Mostly the sane value, sometimes a hostile one: deep enough to reach the unpacker's checks."""
    return draw(hostile) if draw(st.integers(0, 5)) == 0 else sane


@st.composite
def _member(draw: st.DrawFn) -> bytes:
    out = b""
    if draw(st.integers(0, 3)) == 0:
        if draw(st.booleans()):
            out += pax({k: v for k, v in draw(st.lists(st.tuples(PAX_KEYS, PAX_VALUES), max_size=4))})
        else:  # raw, possibly malformed records
            data = draw(st.one_of(st.binary(max_size=60), st.just(b"abc path=x\n"), st.just(b"999 a=b\n")))
            out += header(b"PaxHeader", b"x", len(data)) + padded(data)
    if draw(st.integers(0, 9)) == 0:
        long = draw(NAMES)
        out += header(b"././@LongLink", draw(st.sampled_from([b"L", b"K"])), len(long)) + padded(long)
    data = draw(st.binary(max_size=600))
    kind = _maybe(
        draw, draw(st.sampled_from([b"0", b"5", b"2", b"1", b"3", b"6"])), TYPES.map(lambda t: bytes([t]))
    )
    out += header(
        _maybe(draw, draw(SANE_NAMES), NAMES)[:100],
        kind,
        _maybe(draw, len(data), FIELD),
        mode=_maybe(draw, 0o644, FIELD),
        uid=_maybe(draw, 0, FIELD),
        gid=_maybe(draw, 0, FIELD),
        mtime=_maybe(draw, 1_700_000_000, FIELD),
        linkname=_maybe(draw, draw(SANE_NAMES), NAMES)[:100],
        devmajor=_maybe(draw, 1, FIELD),
        devminor=_maybe(draw, 3, FIELD),
        prefix=_maybe(draw, b"", NAMES)[:155],
        checksum=_maybe(draw, None, st.binary(min_size=8, max_size=8)),
    )
    return out + padded(data)


@st.composite
def tar_archives(draw: st.DrawFn) -> bytes:
    """A whole archive: members, then the end blocks, sometimes cut or padded with junk."""
    body = b"".join(draw(st.lists(_member(), min_size=1, max_size=6)))
    end = draw(st.sampled_from([b"\0" * 1024, b"", b"\0" * 512, b"junk"]))
    return body + end


# -- cheap mutations (the benchmark's bulk: hypothesis draws the seeds) --------------------------
HOSTILE: list[Any] = [
    None, True, False, 0, -1, 2**63, -(2**63) - 1, 10**30, float("inf"), float("-inf"), float("nan"), 1e308,
    "", "1e400s", "99999999999999999999h", "${A:-${B}}", "${A:?}", "$$", "65536:1", "512Q", "-1s", "a" * 300,
    [], {}, [None], {"a": None}, ["${A"], {"": 1},
]  # fmt: skip


def _slots(doc: Any) -> list[tuple[Any, Any]]:
    """(container, key) of every value inside ``doc``, without recursion."""
    out: list[tuple[Any, Any]] = []
    stack = [doc]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, value in items:
            out.append((node, key))
            if isinstance(value, dict | list):
                stack.append(value)
    return out


def mutate_document(doc: Any, rng: random.Random, rounds: int = 3) -> Any:
    """``doc`` (a deep copy) with a few values replaced, removed or added, hostile ones first."""
    doc = copy.deepcopy(doc)
    for _ in range(rounds):
        slots = _slots(doc)
        if not slots:
            return rng.choice(HOSTILE) if rng.random() < 0.5 else doc
        container, key = rng.choice(slots)
        action = rng.random()
        if action < 0.6:
            container[key] = copy.deepcopy(rng.choice(HOSTILE))
        elif action < 0.75 and isinstance(container, dict):
            del container[key]
        elif isinstance(container, dict):
            container[rng.choice(KEYS)] = copy.deepcopy(rng.choice(HOSTILE))
        else:
            container.append(copy.deepcopy(rng.choice(HOSTILE)))
    return doc


def mutate_text(doc: Any, rng: random.Random) -> str:
    """A mutated document as YAML, sometimes replaced by one of the text-level attacks."""
    trick = rng.randrange(50)
    if trick == 0:
        return laughs(rng.randint(2, 10), rng.randint(2, 12))
    if trick == 1:
        depth = rng.randint(50, 3000)
        return "services:\n  web:\n    image: x\n    x-deep: " + "[" * depth + "]" * depth + "\n"
    if trick == 2:
        depth = rng.randint(10, 600)
        return 'services:\n  web:\n    image: "' + "${A:-" * depth + "x" + "}" * depth + '"\n'
    text = _dump(mutate_document(doc, rng, rng.randint(1, 4)))
    if trick == 3:
        return text + "\nx-big: " + "9" * rng.randint(19, 6000) + "\n"
    return text


def mutate_tar(data: bytes, rng: random.Random) -> bytes:
    """Overwrite one header field of an archive with junk, the checksum mostly recomputed."""
    blocks = [i for i in range(0, len(data) - 511, 512) if data[i + 257 : i + 262] == b"ustar"]
    if not blocks:
        return data
    out = bytearray(data)
    at = rng.choice(blocks)
    start, width = rng.choice(
        [
            (0, 100),
            (100, 8),
            (108, 8),
            (116, 8),
            (124, 12),
            (136, 12),
            (156, 1),
            (157, 100),
            (329, 8),
            (337, 8),
            (345, 155),
        ]
    )
    junk = bytes(rng.randrange(256) for _ in range(rng.randint(1, width)))
    if rng.random() < 0.3:
        junk = b"\x80" + junk[1:] if rng.random() < 0.5 else b"\xff" + junk[1:]
    out[at + start : at + start + len(junk)] = junk
    if rng.random() < 0.85:
        out[at + 148 : at + 156] = b" " * 8
        out[at + 148 : at + 156] = b"%06o\0 " % sum(out[at : at + 512])
    return bytes(out)


# -- the harness ---------------------------------------------------------------------------------
@dataclass
class Outcome:
    kind: str
    """ok, refused or crash."""
    seconds: float
    detail: str = ""


def translate_text(text: str, name: str = "input.yaml") -> Outcome:
    """Run the translators on ``text`` as the CLI does (dispatch), classifying the result."""
    from translators import dispatch
    from translators.errors import BerthError

    start = time.perf_counter()
    try:
        dispatch.translate([dispatch.InputFile(name, text)], dispatch.Options(env={"A": "", "HOME": "/root"}))
        kind, detail = "ok", ""
    except BerthError as exc:
        kind, detail = "refused", str(exc).splitlines()[0] if str(exc) else ""
    except Exception as exc:  # a crash: what the fuzzer is looking for
        kind, detail = "crash", "".join(traceback.format_exception_only(exc)).strip()[:300] + _where(exc)
    return Outcome(kind, time.perf_counter() - start, detail)


def _where(exc: BaseException) -> str:
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if "/translators/" in f.filename or "/agent/" in f.filename
    ]
    return f" at {frames[-1].filename.rsplit('/', 2)[-1]}:{frames[-1].lineno}" if frames else ""


def unpack_bytes(data: bytes, scratch: Path) -> Outcome:
    """Unpack a plain tar archive into a fresh directory under ``scratch``; nothing may escape it."""
    import io

    from agent.store import trees, unpacking
    from translators.errors import BerthError

    work = Path(tempfile.mkdtemp(dir=scratch))
    root = work / "root"
    root.mkdir()
    start = time.perf_counter()
    try:
        unpacking.unpack_stream(io.BytesIO(data), root)
        kind, detail = "ok", ""
    except BerthError as exc:
        kind, detail = "refused", str(exc)[:200]
    except Exception as exc:
        kind, detail = "crash", "".join(traceback.format_exception_only(exc)).strip()[:300] + _where(exc)
    seconds = time.perf_counter() - start
    escaped = sorted(set(os.listdir(work)) - {"root"})
    if escaped:
        kind, detail = "crash", f"wrote outside the root: {escaped}"
    trees.remove(str(work))
    return Outcome(kind, seconds, detail)


DOCUMENTS: dict[str, st.SearchStrategy[Any]] = {
    "compose": COMPOSE,
    "kubernetes": KUBERNETES,
    "native": NATIVE,
}
COMPONENTS: dict[str, st.SearchStrategy[Any]] = {
    "compose": yaml_texts(COMPOSE),
    "kubernetes": yaml_texts(KUBERNETES),
    "native": yaml_texts(NATIVE),
    "tar": tar_archives(),
}
__all__ = [
    "COMPONENTS", "DOCUMENTS", "Outcome", "laughs", "mutate_tar", "mutate_text", "pax_record", "translate_text",
    "unpack_bytes",
]  # fmt: skip
