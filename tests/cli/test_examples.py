"""Every file under ``examples/`` does what it is there to show, through the CLI a user runs.

We test these aspects:
- the compose project (with its ``.env``, found beside the file wherever the command runs), the
  Kubernetes manifests, the ContainerDeployment and the native spec each translate without error
  into the specs their comments name;
- each translated spec deploys into a store holding the demo image, and the native spec deploys with
  ``berth container deploy --config``, as the README shows;
- no example is left untested (a new file under examples/ must be added here).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agent.demo import image as demo_image
from agent.registry import pulling
from agent.store import deploying
from tests.support.paths import ROOT

BERTH = [sys.executable, "-c", "from agent.cli.main import main; main()"]
EXAMPLES = ROOT / "examples"
IMAGE = "localhost/berth-demo:latest"

# example file -> the spec names it translates to
EXPECTED = {
    "compose/compose.yaml": ["hello-web", "hello-page"],
    "kubernetes/web.yaml": ["web-httpd"],
    "crd/web.yaml": ["demo-web"],
    "specs/web.yaml": ["demo-web"],
}


def berth(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*BERTH, *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding the image every example names (the demo image, built offline)."""
    base = tmp_path_factory.mktemp("examples")
    layout = base / "berth-demo"
    demo_image.build_demo_layout(layout)
    root = base / "store"
    record = pulling.pull_image(f"oci:{layout}:{demo_image.TAG}", root)
    assert record.reference == IMAGE
    return root


def _translate(example: str, tmp_path: Path) -> list[dict[str, Any]]:
    done = berth("translate", "-f", str(EXAMPLES / example), "-o", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "error" not in done.stderr
    data = json.loads(done.stdout)
    return data if isinstance(data, list) else [data]


def test_every_example_is_covered() -> None:
    files = {str(p.relative_to(EXAMPLES)) for p in EXAMPLES.rglob("*.yaml")}
    assert files == set(EXPECTED)


@pytest.mark.parametrize("example", sorted(EXPECTED))
def test_example_translates_and_deploys(example: str, store: Path, tmp_path: Path) -> None:
    specs = _translate(example, tmp_path)
    assert [s["name"] for s in specs] == EXPECTED[example]
    for data in specs:
        assert data["image"] == IMAGE
        if example.startswith("kubernetes/"):  # Kubernetes pulls :latest always; ours is in the store
            assert data["config"]["pull_policy"] == "always"
            data["config"]["pull_policy"] = "missing"
        version = deploying.deploy(store, deploying.build_spec(data), keep_previous=True)
        assert (version.rootfs / "bin" / "busybox").is_file()


def test_compose_example_reads_its_env_file(tmp_path: Path) -> None:
    """Run from another directory: the .env beside compose.yaml still applies."""
    web, page = _translate("compose/compose.yaml", tmp_path)
    assert page["config"]["env"] == ["GREETING=hello from a compose project"]
    assert web["config"]["ports"] == [
        {"container": 8080, "host": 18083, "host_ip": "127.0.0.1", "protocol": "tcp"}
    ]
    [dependency] = web["config"]["depends_on"]
    assert (dependency["name"], dependency["condition"]) == ("hello-page", "completed_successfully")


def test_native_spec_deploys_with_config(store: Path, tmp_path: Path) -> None:
    spec = EXAMPLES / "specs" / "web.yaml"
    done = berth(
        "container",
        "deploy",
        "--root",
        str(store),
        "--config",
        str(spec),
        IMAGE,
        "--no-start",
        "-o",
        "json",
        cwd=tmp_path,  # staged only: the examples' images are not started here
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["name"] == "demo-web"
    stored = json.loads((store / "deployments" / "demo-web" / "config.json").read_text())
    assert stored["config"]["ports"] == [
        {"container": 8080, "host": 18082, "host_ip": "127.0.0.1", "protocol": "tcp"}
    ]
