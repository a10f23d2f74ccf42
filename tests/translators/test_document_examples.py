"""Every JSON example of the product document, through the command the document uses it with.

We test these aspects:
- each complete spec is valid for ``berth translate -f`` and for ``berth container deploy --config``
  (the document's "Deploy with configuration"), and both give the same spec;
- each configuration fragment (``{"config": ...}``) is what ``container deploy --config FILE``
  takes, with name and image from the command line, and ``berth translate`` validates it as a
  fragment;
- the meaning of every example, read from the spec the store recorded: bind mount or named volume,
  read-only or not, device permissions, capabilities added to the default set, profile paths,
  ports moved from ``network.ports``, ``${VAR}`` kept for deploy time.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from agent.cli.main import cli
from tests.support.layers import Entry, layer
from tests.support.paths import ROOT, SEED
from tests.support.storing import put_image
from translators.spec import DEFAULT_CAPABILITIES, Capabilities, DeploymentSpec

EXAMPLES = SEED / "examples"  # $BERTH_SEED; tests reading it carry the seed mark
IMAGE = "localhost:5000/doc/app:1"
MIB = 1024 * 1024


def _bind(source: str, target: str, readonly: bool) -> dict[str, Any]:
    return {"type": "bind", "source": source, "target": target, "readonly": readonly}


def _mounts(config: dict[str, Any]) -> list[dict[str, Any]]:
    keys = ("type", "source", "target", "readonly")
    return [{k: v[k] for k in keys} for v in config["volumes"]]


def _ports(config: dict[str, Any]) -> list[tuple[int | None, int, str]]:
    return [(p["host"], p["container"], p["protocol"]) for p in config["ports"]]


def _seed01(c: dict[str, Any]) -> None:
    assert c["entrypoint"] == ["/usr/bin/myapp"] and c["cmd"] == ["--config=/etc/myapp/config.yaml"]
    assert c["env"] == ["APP_ENV=production", "LOG_LEVEL=info"]
    assert _mounts(c) == [
        _bind("/host/data", "/container/data", False),
        _bind("/host/config", "/container/config", False),
    ]
    assert _ports(c) == [(8080, 8080, "tcp"), (9090, 9090, "tcp")]


def _seed02(c: dict[str, Any]) -> None:
    assert c["entrypoint"] is None and c["cmd"] is None and c["volumes"] == [] and c["ports"] == []
    assert c["security"]["no_new_privileges"] is True and c["security"]["seccomp"] == "default"


def _effective(c: dict[str, Any]) -> list[str]:
    return Capabilities.model_validate(c["security"]["capabilities"]).effective()


def _seed03(c: dict[str, Any]) -> None:
    assert _mounts(c) == [
        _bind("/host/data", "/container/data", False),
        _bind("/host/config", "/container/config", True),
    ]
    assert _ports(c) == [(8080, 8080, "tcp")]
    assert c["resources"]["memory"] == 512 * MIB and c["resources"]["cpu"] == 0.5
    assert c["security"]["readonly"] is False and c["security"]["no_new_privileges"] is True
    assert _effective(c) == sorted({*DEFAULT_CAPABILITIES, "CAP_NET_ADMIN"})
    assert "DATABASE_URL=postgresql://user:pass@localhost/db" in c["env"]


def _seed04(c: dict[str, Any]) -> None:
    assert c["env"][-1] == "API_KEY=${API_KEY}"  # resolved by the agent at deploy time
    assert len(c["env"]) == 5


def _seed05(c: dict[str, Any]) -> None:
    assert _mounts(c) == [
        _bind("/host/data", "/container/data", False),
        _bind("/host/config", "/container/config", True),
        {"type": "volume", "source": "myapp-data", "target": "/container/data", "readonly": False},
    ]


def _seed06(c: dict[str, Any]) -> None:
    assert _ports(c) == [(8080, 8080, "tcp"), (9090, 9090, "tcp")]
    assert c["network"]["mode"] == "bridge"
    assert c["network"]["dns"]["servers"] == ["8.8.8.8", "8.8.4.4"]


def _seed07(c: dict[str, Any]) -> None:
    sec = c["security"]
    assert sec["readonly"] is True and sec["no_new_privileges"] is True
    assert sec["seccomp"] == "/etc/containers/seccomp.json"
    assert sec["apparmor"] == "/etc/containers/apparmor.json"
    assert _effective(c) == sorted({*DEFAULT_CAPABILITIES, "CAP_NET_ADMIN"})


def _seed08(c: dict[str, Any]) -> None:
    res = c["resources"]
    assert (res["memory"], res["cpu"], res["pids"]) == (512 * MIB, 0.5, 100)
    assert res["devices"] == [{"host": "/dev/null", "container": None, "permissions": "rwm"}]


def _seed09(c: dict[str, Any]) -> None:
    assert c["entrypoint"] == ["nginx"] and c["cmd"] == ["-g", "daemon off;"]
    assert _mounts(c) == [
        _bind("/host/webroot", "/usr/share/nginx/html", True),
        _bind("/host/nginx.conf", "/etc/nginx/nginx.conf", True),
    ]
    assert _ports(c) == [(80, 80, "tcp")]


def _seed10(c: dict[str, Any]) -> None:
    assert _mounts(c) == [_bind("/host/db-data", "/var/lib/postgresql/data", False)]
    assert _ports(c) == [(5432, 5432, "tcp")]
    assert c["resources"]["memory"] == 1024 * MIB and c["resources"]["cpu"] == 1.0
    assert "POSTGRES_PASSWORD=${DB_PASSWORD}" in c["env"]


def _seed11(c: dict[str, Any]) -> None:
    assert _mounts(c) == [
        _bind("/host/prometheus.yml", "/etc/prometheus/prometheus.yml", True),
        _bind("/host/prometheus-data", "/prometheus", False),
    ]
    assert _ports(c) == [(9090, 9090, "tcp")]
    assert len(c["cmd"]) == 4


MEANINGS: dict[str, Callable[[dict[str, Any]], None]] = {
    "seed01-L66": _seed01,
    "seed02-L130": _seed02,
    "seed03-L136": _seed03,
    "seed04-L179": _seed04,
    "seed05-L191": _seed05,
    "seed06-L216": _seed06,
    "seed07-L264": _seed07,
    "seed08-L276": _seed08,
    "seed09-L300": _seed09,
    "seed10-L333": _seed10,
    "seed11-L365": _seed11,
}


@pytest.mark.seed
def test_every_example_has_its_meaning_checked() -> None:
    assert sorted(p.stem for p in EXAMPLES.glob("*.json")) == sorted(MEANINGS)


@pytest.fixture
def root() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="berth-doc-", dir="/dev/shm"))
    put_image(path, IMAGE, [layer([Entry("etc/version", data=b"1")])])
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _run(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, (result.output, result.stderr)
    return result


@pytest.mark.seed
@pytest.mark.parametrize("stem", sorted(MEANINGS))
def test_example_deploys_with_its_meaning(stem: str, root: Path) -> None:
    path = EXAMPLES / f"{stem}.json"
    data = json.loads(path.read_text())
    complete = "name" in data and "image" in data
    translated = json.loads(_run("translate", "-f", str(path), "-o", "json").stdout)
    args = ["container", "deploy", "--no-start", IMAGE, "--config", str(path), "--root", str(root)]
    if not complete:
        args += ["--name", "fragment"]
        assert set(translated) == {"transport", "config"}  # validated as a fragment, not a spec
    _run(*args)
    name = data["name"] if complete else "fragment"
    info = json.loads(_run("container", "info", name, "--root", str(root), "-o", "json").stdout)
    stored = info["spec"]
    assert stored["image"] == IMAGE and stored["name"] == name
    if complete:
        assert {**translated, "image": IMAGE} == stored
    else:
        assert translated["config"] == stored["config"]
    MEANINGS[stem](stored["config"])


@pytest.mark.seed
def test_a_fragment_is_not_a_container_deployment() -> None:
    result = CliRunner().invoke(cli, ["translate", "-f", str(EXAMPLES / "seed05-L191.json"), "--to", "crd"])
    assert result.exit_code == 2
    assert "a configuration fragment has no name and image" in result.output + result.stderr


def test_the_readme_shows_the_documents_forms_validly() -> None:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("The product document's own forms", 1)[1].split("```json\n", 1)[1].split("```", 1)[0]
    spec = DeploymentSpec.model_validate(json.loads(block))
    assert [(v.type, v.source) for v in spec.config.volumes] == [
        ("bind", "/host/webroot"),
        ("volume", "myapp-data"),
        ("bind", "/host/config"),
    ]
    assert [(p.host, p.container) for p in spec.config.ports] == [(80, 80), (9090, 9090)]
    assert spec.config.resources.devices[0].host == "/dev/null"


@pytest.mark.seed
def test_the_json_schema_admits_every_complete_example() -> None:
    """`berth schema` must describe the document's forms: editors validate specs with it."""
    import jsonschema

    from translators.crd import schema

    validator = jsonschema.Draft202012Validator(schema.json_schema())
    for path in sorted(EXAMPLES.glob("*.json")):
        data = json.loads(path.read_text())
        if "name" not in data:
            data = {"name": "fragment", "image": IMAGE, **data}
        errors = [f"{path.stem}: {list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]
        assert errors == []
