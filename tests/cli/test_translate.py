"""``berth translate`` and ``berth schema`` as a user runs them.

We test these aspects:
- a native spec file and stdin (``-f -``) translate, as JSON and YAML, to the canonical spec;
- ``--to crd`` writes ContainerDeployment manifests that read back to the same spec;
- invalid input exits 2 and lists every error with file, line and path on stderr;
- malformed YAML and missing files are errors naming the file;
- mixing kinds of input is refused, naming the files;
- the whole process (subprocess) gives the same exit codes and never imports the kubernetes client;
- the YAML printed (libyaml's emitter) is the text PyYAML's Python emitter writes, for the examples
  and for values with line breaks, quotes, unicode and control characters, and reads back as the
  documents dumped.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from agent.cli.main import cli

SPEC = """\
name: web
image: busybox:1.36
config:
  cmd: httpd -f -p 8080
  ports: ["127.0.0.1:8080:8080"]
  resources: {memory: 64M}
"""

BAD = """\
name: web
image: busybox
config:
  ports:
    - 80
    - nope
  resources:
    cpu: lots
  surprise: true
"""


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_native_spec_from_file_as_json(tmp_path: Path) -> None:
    (tmp_path / "web.yaml").write_text(SPEC)
    code, out, err = run("translate", "-f", str(tmp_path / "web.yaml"), "-o", "json")
    assert (code, err) == (0, "")
    spec = json.loads(out)
    assert spec["config"]["cmd"] == ["httpd", "-f", "-p", "8080"]
    assert spec["config"]["ports"] == [
        {"container": 8080, "host": 8080, "host_ip": "127.0.0.1", "protocol": "tcp"}
    ]
    assert spec["config"]["resources"]["memory"] == 64 * 2**20


def test_stdin_and_yaml() -> None:
    code, out, _ = run("translate", "-f", "-", stdin=SPEC)
    assert code == 0
    assert yaml.safe_load(out)["name"] == "web"


def test_to_crd_reads_back(tmp_path: Path) -> None:
    (tmp_path / "web.yaml").write_text(SPEC)
    code, out, _ = run("translate", "-f", str(tmp_path / "web.yaml"), "--to", "crd", "-n", "apps")
    assert code == 0
    resource = yaml.safe_load(out)
    assert (resource["apiVersion"], resource["kind"]) == ("berth.io/v1alpha1", "ContainerDeployment")
    assert resource["metadata"] == {"name": "web", "namespace": "apps"}
    (tmp_path / "cd.yaml").write_text(out)
    code, again, _ = run("translate", "-f", str(tmp_path / "cd.yaml"), "-o", "json")
    assert code == 0
    code, direct, _ = run("translate", "-f", str(tmp_path / "web.yaml"), "-o", "json")
    read_back = json.loads(again)
    assert read_back.pop("name") == "apps.web"  # the namespace keeps one name in two namespaces apart
    assert read_back.pop("origin") == {
        "kind": "ContainerDeployment",
        "namespace": "apps",
        "name": "web",
        "uid": None,
    }
    expected = json.loads(direct)
    del expected["name"], expected["origin"]
    assert read_back == expected


def test_invalid_input_lists_every_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD)
    code, out, err = run("translate", "-f", str(path))
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert any(x.startswith(f"error: {path}:6: config.ports[1]: expected") for x in lines)
    assert any(f"{path}:8: config.resources.cpu: expected" in x for x in lines)
    assert any(f"{path}:9: config.surprise: unknown key" in x for x in lines)
    assert len(lines) == 3


def test_malformed_yaml_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: [web\nimage: x\n")
    code, _, err = run("translate", "-f", str(path), "-f", str(tmp_path / "absent.yaml"))
    assert code == 2
    assert f"{path}:2: malformed YAML" in err
    assert f"{tmp_path / 'absent.yaml'}: file not found" in err


def test_mixed_kinds_are_refused(tmp_path: Path) -> None:
    (tmp_path / "web.yaml").write_text(SPEC)
    (tmp_path / "compose.yaml").write_text("services:\n  a:\n    image: busybox\n")
    code, _, err = run("translate", "-f", str(tmp_path / "web.yaml"), "-f", str(tmp_path / "compose.yaml"))
    assert code == 2
    assert "different kinds" in err and "compose.yaml" in err and "web.yaml" in err


def test_schema_commands() -> None:
    code, out, _ = run("schema")
    assert code == 0
    assert json.loads(out)["title"] == "DeploymentSpec"
    code, out, _ = run("schema", "--crd")
    assert code == 0
    assert yaml.safe_load(out)["kind"] == "CustomResourceDefinition"


def test_whole_process_exit_codes_and_light_imports(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(BAD)
    (tmp_path / "web.yaml").write_text(SPEC)
    probe = (
        "import sys, runpy; sys.argv = ['berth', 'translate', '-f', sys.argv[1]];"
        "\ntry:\n    from agent.cli.main import main; main()\nexcept SystemExit as e:\n"
        "    heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('kubernetes', 'requests', 'rich'))\n"
        "    print('HEAVY', heavy, file=sys.stderr); raise"
    )
    ok = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path / "web.yaml")], capture_output=True, text=True, check=False
    )
    assert ok.returncode == 0, ok.stderr
    assert "HEAVY []" in ok.stderr
    bad = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path / "bad.yaml")], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 2
    assert "config.surprise: unknown key" in bad.stderr


def test_env_file_is_relative_to_the_working_directory(tmp_path: Path, monkeypatch: Any) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "compose.yaml").write_text("services:\n  app:\n    image: busybox:${TAG}\n")
    (tmp_path / "myenv").write_text("TAG=fromfile\n")
    monkeypatch.chdir(tmp_path)
    code, out, err = run("translate", "-f", "project/compose.yaml", "--env-file", "myenv", "-o", "json")
    assert code == 0, err
    assert json.loads(out)["image"] == "busybox:fromfile"


TRICKY = ["", " ", "yes", "080", "1e3", "a: b", "#c", "a\n", "a\nb", "a\n\n", " a\nb", "a \nb", "a\tb",
          "a\r\nb", "'q'", '"q"', "é😀\u2028\x85\ufeff", "\x00\x7f", "x" * 1200, ("word " * 300).strip()]  # fmt: skip


def test_yaml_output_is_pythons_text_and_reads_back(tmp_path: Path) -> None:
    from agent.cli import output
    from tests.support.paths import ROOT

    class PythonDumper(yaml.SafeDumper):
        pass

    PythonDumper.add_representer(str, output._str)
    docs: list[Any] = []
    for example in ("examples/specs/web.yaml", "examples/compose/compose.yaml"):
        code, out, err = run("translate", "-f", str(ROOT / example))
        assert code == 0, err
        docs.extend(yaml.safe_load_all(out))
    docs.append(
        {"config": {"env": [f"V={v}" for v in TRICKY], "labels": {f"k{i}": v for i, v in enumerate(TRICKY)}}}
    )
    docs.append({"cmd": TRICKY})
    python_text = yaml.dump_all(
        docs, Dumper=PythonDumper, sort_keys=False, default_flow_style=False, width=1000
    )
    assert output.dump_all(docs, "yaml") == python_text
    assert output.dump(docs[-1], "yaml") == yaml.dump(
        docs[-1], Dumper=PythonDumper, sort_keys=False, default_flow_style=False, width=1000
    )
    assert list(yaml.safe_load_all(output.dump_all(docs, "yaml"))) == docs
    # keys with line breaks are written in another (equally valid) form by libyaml: same data
    odd = {"labels": {"": "empty", "a\nb": "broken", "c": "\x85"}}
    assert yaml.safe_load(output.dump(odd, "yaml")) == odd
