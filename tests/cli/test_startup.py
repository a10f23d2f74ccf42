"""What the read-only commands import: a CLI that starts like a Go binary imports only what it uses.

We test these aspects (whole processes, as a user starts them):
- ``berth --help`` imports no subcommand module, no translator, no store, no pydantic, no YAML,
  and its command list is the one click derives from the commands' own docstrings;
- ``berth translate`` of a native spec and of a compose file imports no Kubernetes translator or
  client, no registry client, no store, no requests and no rich, and builds only the validators of
  the models it validates (the spec and the project, never the CRD's);
- the modules defining spec models do not postpone their annotations (pydantic would evaluate each
  from its string at every start);
- ``berth container list`` on a store of several deployments (also ``-o json``) imports neither
  pydantic nor any spec model, nor YAML, the unpacker, requests or rich, and still lists them all;
  a listed record validates its spec when asked (``record.spec``), a broken config.json then
  raising the invalid-spec error that names the file;
- ``berth compose ps`` imports neither pydantic, the spec models, YAML nor the Engine (with ``-p``,
  or when the project's files load as remembered), and a changed input (the file's bytes, a
  variable the load looked up, a ``.env`` appearing) loads the project again.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from agent.cli import main as cli_main
from agent.store import deploying
from tests.support.layers import Entry, layer
from tests.support.storing import put_image
from translators.errors import InvalidSpec

# Runs the CLI in this interpreter and, at exit (click always exits), writes what was imported and
# which pydantic models have a built validator to the file named by argv[1].
PROBE = """\
import atexit, json, sys

def _report(path=sys.argv[1]):
    built = []
    if "pydantic" in sys.modules and hasattr(sys.modules["pydantic"], "BaseModel"):
        todo = list(sys.modules["pydantic"].BaseModel.__subclasses__())
        while todo:
            model = todo.pop()
            todo.extend(model.__subclasses__())
            if model.__dict__.get("__pydantic_complete__") and model.__module__.startswith("translators"):
                built.append(model.__name__)
    with open(path, "w") as out:
        json.dump({"modules": sorted(sys.modules), "built": sorted(set(built))}, out)

atexit.register(_report)
sys.argv = ["berth", *sys.argv[2:]]
from agent.cli.main import main
main()
"""

ALWAYS_HEAVY = ("kubernetes", "requests", "rich", "agent.registry.pulling", "agent.registry.client")


def _run(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], set[str], set[str]]:
    report = tmp_path / "imports.json"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(report), *args], capture_output=True, text=True, check=False
    )
    data = json.loads(report.read_text())
    return done, set(data["modules"]), set(data["built"])


def _imported(modules: set[str], *prefixes: str) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes))


def test_help_imports_no_subcommand(tmp_path: Path) -> None:
    done, modules, built = _run(tmp_path, "--help")
    assert done.returncode == 0, done.stderr
    assert "translate" in done.stdout and "container" in done.stdout
    assert _imported(modules, *ALWAYS_HEAVY, "agent.store", "translators", "pydantic", "yaml") == []
    assert not _imported(modules, *(target.split(":")[0] for target in cli_main.COMMANDS.values()))
    assert built == set()


def test_help_lists_what_the_commands_say() -> None:
    """The stand-in help of each lazy command is the command's own short help, so the list cannot
    drift from the docstrings; and the whole ``--help`` text is what click prints eagerly."""
    ctx = click.Context(cli_main.cli)
    eager = click.Group(
        name="berth",
        help=cli_main.cli.help,
        params=cli_main.cli.params,
        context_settings=cli_main.cli.context_settings,
    )
    for name in cli_main.COMMANDS:
        command = cli_main.cli.get_command(ctx, name)
        assert command is not None
        assert cli_main.SHORT_HELP[name] == command.get_short_help_str(limit=10_000), name
        eager.add_command(command, name)
    assert set(cli_main.SHORT_HELP) == set(cli_main.COMMANDS)
    lazy_text = CliRunner().invoke(cli_main.cli, ["--help"], prog_name="berth").output
    eager_text = CliRunner().invoke(eager, ["--help"], prog_name="berth").output
    assert lazy_text == eager_text


def test_translate_imports_only_the_translator_it_needs(tmp_path: Path) -> None:
    spec = tmp_path / "web.yaml"
    spec.write_text("name: web\nimage: busybox:1.36\nconfig: {cmd: httpd -f}\n")
    compose = tmp_path / "compose.yaml"
    compose.write_text("services:\n  web:\n    image: busybox:1.36\n    ports: ['8080:80']\n")
    for path in (spec, compose):
        done, modules, built = _run(tmp_path, "translate", "-f", str(path))
        assert done.returncode == 0, done.stderr
        assert "name: " in done.stdout
        heavy = _imported(modules, *ALWAYS_HEAVY, "translators.kubernetes", "translators.crd", "agent.store")
        assert heavy == [], (path.name, heavy)
        # pydantic's plugin loader (importlib.metadata) and importlib.resources are not needed
        assert _imported(modules, "importlib.metadata", "importlib.resources", "zipfile") == []
        assert "DeploymentSpec" in built
        assert not {"ContainerDeployment", "ContainerDeploymentSpec"} & built, built
        # the spec's nested models (network, resources, security, restart ...) are validated inside
        # DeploymentSpec's validator, their defaults too: none builds a validator of its own (a
        # compose project binds each of its networks on its own, so that an error names its key)
        expected = {"DeploymentSpec", "Project"} | ({"NetworkDef"} if path == compose else set())
        assert built == expected, (path.name, built)


def test_spec_models_are_defined_with_evaluated_annotations() -> None:
    import importlib
    import pkgutil
    import typing

    import translators.crd
    import translators.spec

    found = []
    for package in (translators.spec, translators.crd):
        for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            module = importlib.import_module(info.name)
            defines = [
                v
                for v in vars(module).values()
                if isinstance(v, type) and v.__module__ == info.name and hasattr(v, "model_fields")
            ]
            if any(vars(v).get("__annotations__") for v in defines):
                found.append(info.name)
                feature = getattr(module, "annotations", None)
                assert not (feature is not None and feature.__class__.__name__ == "_Feature"), (
                    f"{info.name}: from __future__ import annotations makes pydantic eval every field's annotation"
                )
                for cls in defines:
                    for name, hint in vars(cls).get("__annotations__", {}).items():
                        assert not isinstance(hint, str | typing.ForwardRef), (cls, name)
    assert "translators.spec.deployment" in found and "translators.crd.models" in found


@pytest.fixture
def listed_store() -> Iterator[Path]:
    """A store of three deployments on tmpfs, removed afterwards."""
    store_root = Path(tempfile.mkdtemp(prefix="berth-startup-", dir="/dev/shm"))
    image = "localhost:5000/startup/web:1"
    put_image(store_root, image, [layer([Entry("etc/version", data=b"1")])])
    for i in range(3):
        deploying.deploy(
            store_root, deploying.build_spec({"name": f"web{i}", "image": image, "config": {"cmd": "true"}})
        )
    yield store_root
    shutil.rmtree(store_root, ignore_errors=True)


def test_container_list_validates_no_spec(tmp_path: Path, listed_store: Path) -> None:
    for fmt in ("table", "json"):
        args = ["container", "list", "--root", str(listed_store)] + (["-o", "json"] if fmt == "json" else [])
        done, modules, built = _run(tmp_path, *args)
        assert done.returncode == 0, done.stderr
        if fmt == "json":
            assert [row["name"] for row in json.loads(done.stdout)] == ["web0", "web1", "web2"]
        else:
            assert [line.split("\t")[0] for line in done.stdout.splitlines()[1:]] == ["web0", "web1", "web2"]
        heavy = _imported(
            modules,
            *ALWAYS_HEAVY,
            "pydantic",
            "translators.spec",
            "yaml",
            "agent.store.unpacking",
            "agent.runtime.containers",
            "ctypes",
            "subprocess",
        )
        assert heavy == [], (fmt, heavy)
        assert built == set()


def test_listed_records_resolve_their_trees_as_the_links_say(listed_store: Path, tmp_path: Path) -> None:
    """Store.list resolves each version's rootfs link once per merged tree; the result is the
    link's own resolution, also when the store is reached through a symlink."""
    linked = tmp_path / "linked-store"
    linked.symlink_to(listed_store)
    for root in (listed_store, linked):
        store = deploying.Store.open(root, create=False)
        records = store.list()
        assert [r.name for r in records] == ["web0", "web1", "web2"]
        for record in records:
            assert record.rootfs == (record.path / "rootfs").resolve()
            assert record.rootfs.is_dir() and not record.rootfs.is_symlink()
        assert records[0].image_config is records[2].image_config  # one image, one parse


def test_a_listed_record_validates_its_spec_on_use(listed_store: Path) -> None:
    store = deploying.Store.open(listed_store, create=False)
    record = store.get("web1")
    assert record.spec.name == "web1" and record.spec.config.cmd == ["true"]
    assert record.spec is record.spec  # validated once
    config = record.path / "config.json"
    config.chmod(0o644)
    config.write_text(json.dumps({"name": "web1", "image": "x", "config": {"surprise": 1}}))
    broken = store.get("web1")  # reading the record does not validate ...
    assert broken.state.name == "web1"
    with pytest.raises(InvalidSpec) as caught:  # ... using its spec does, naming the file
        _ = broken.spec
    assert str(config) in str(caught.value) and "config.surprise" in str(caught.value)


COMPOSE = """\
name: ${PNAME:-staged}
services:
  web:
    image: localhost:5000/startup/web:1
    command: ["httpd", "-f"]
    ports: ["8080"]
  db:
    image: localhost:5000/startup/web:1
    environment: {MODE: "${MODE:-one}"}
"""


@pytest.fixture
def staged_project() -> Iterator[tuple[Path, Path, Path]]:
    """A compose project of two services staged in a store on tmpfs (deployed, not started):
    (store root, run root, compose file), removed afterwards."""
    from agent.compose import projects

    base = Path(tempfile.mkdtemp(prefix="berth-startup-compose-", dir="/dev/shm"))
    store_root, run_root, compose = base / "store", base / "run", base / "compose.yaml"
    compose.write_text(COMPOSE)
    put_image(store_root, "localhost:5000/startup/web:1", [layer([Entry("etc/version", data=b"1")])])
    loaded = projects.load([compose], env={})
    for name, service in loaded.services.items():
        deploying.deploy(store_root, service.replica(loaded.name, 1), owner=loaded.owner(name, 1))
    yield store_root, run_root, compose
    shutil.rmtree(base, ignore_errors=True)


def _compose(tmp_path: Path, env: dict[str, str], *args: str) -> tuple[str, set[str]]:
    report = tmp_path / "imports.json"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(report), "compose", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **env},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout, set(json.loads(report.read_text())["modules"])


def _rows(text: str) -> list[dict[str, object]]:
    """ps --format json rows without the one field that moves with the clock."""
    return [{k: v for k, v in json.loads(line).items() if k != "RunningFor"} for line in text.splitlines()]


SPEC_MODELS = ("pydantic", "translators.spec", "translators.compose.load", "yaml")
# ctypes.util: its find_library spawns ``ldconfig -p`` (overlays and netns used it); the container
# lifecycle (runc, conmon, mounts, namespaces, subprocess, ctypes): statuses are read from records
NOT_FOR_PS = (
    *ALWAYS_HEAVY,
    "agent.runtime.engine",
    "agent.runtime.containers",
    "agent.runtime.runc",
    "agent.runtime.conmon",
    "agent.runtime.overlays",
    "agent.network",
    "agent.store.unpacking",
    "ctypes",
    "subprocess",
)


def test_compose_ps_reads_the_store_and_a_remembered_project(
    tmp_path: Path, staged_project: tuple[Path, Path, Path]
) -> None:
    """``compose ps`` builds no spec model: the rows come from the store; the project name from
    ``-p``, or from the files' summary remembered by the last load of exactly the same inputs
    (same bytes, same values of the variables the load looked up), otherwise from a load."""
    store_root, run_root, compose = staged_project
    where = ["--root", str(store_root), "--run-root", str(run_root)]
    ps = [*where, "-f", str(compose), "ps", "-a", "--format", "json"]
    env = {"PNAME": "", "MODE": "one", "UNRELATED": "1"}

    first, modules = _compose(tmp_path, env, *ps)  # nothing remembered yet: loaded
    rows = [json.loads(line) for line in first.splitlines()]
    assert sorted(r["Name"] for r in rows) == ["staged-db-1", "staged-web-1"]
    web = next(r for r in rows if r["Service"] == "web")
    assert web["Command"] == '"httpd -f"' and web["Ports"] == "8080/tcp"
    assert web["Networks"] == "staged_default" and web["Project"] == "staged"
    assert _imported(modules, "pydantic", "translators.compose.load")

    again, modules = _compose(tmp_path, {**env, "UNRELATED": "2"}, *ps)  # remembered
    assert _rows(again) == _rows(first)
    assert _imported(modules, *SPEC_MODELS, *NOT_FOR_PS) == []

    named, modules = _compose(tmp_path, env, *where, "-p", "staged", "ps", "-a", "--format", "json")
    assert _rows(named) == _rows(first)
    assert _imported(modules, *SPEC_MODELS, *NOT_FOR_PS) == []

    # a variable the load looked up changed: loaded again (here the name changes with it)
    other, modules = _compose(tmp_path, {**env, "PNAME": "other"}, *ps)
    assert other == "" and _imported(modules, "pydantic")
    # looked up, unset before: a change too
    _, modules = _compose(tmp_path, {k: v for k, v in env.items() if k != "MODE"}, *ps)
    assert _imported(modules, "pydantic")
    # the file's bytes changed: loaded again
    compose.write_text(COMPOSE + "# a comment\n")
    _, modules = _compose(tmp_path, env, *ps)
    assert _imported(modules, "pydantic")
    _, modules = _compose(tmp_path, env, *ps)
    assert _imported(modules, *SPEC_MODELS) == []
    # a default .env file appearing beside it is an input too
    (compose.parent / ".env").write_text("MODE=one\n")
    _, modules = _compose(tmp_path, env, *ps)
    assert _imported(modules, "pydantic")
