"""The ``container``, ``image`` and ``store`` commands through click's CliRunner, on real stores.

We test these aspects:
- deploy with ``--config`` (a native YAML spec) stores the validated spec; an invalid one exits 2
  naming the file, line and path; ``-o json`` output parses everywhere;
- ``--root`` and ``$BERTH_ROOT`` choose the store;
- deploy --rollback, update (unchanged and changed), rollback, rollback without a previous version
  (exit 1 with the reason), info, list; a plain redeploy keeps the previous version too, and
  ``container rollback`` goes back to it;
- ``config set|get|list`` edits the stored spec, and an invalid value is refused (exit 2) leaving
  the spec unchanged;
- images, image prune, remove --cleanup, store check (exit 0 listing interrupted work), store recover.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from agent.cli.main import cli
from tests.support.layers import Entry, layer
from tests.support.storing import put_image

IMG = "localhost:5000/cli/web:1"


@pytest.fixture
def root(store_root: Path) -> Path:
    put_image(store_root, IMG, [layer([Entry("etc/version", data=b"1")])])
    return store_root


def run(root: Path, *args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(cli, [*args, "--root", str(root)], catch_exceptions=False)
    assert result.exit_code == code, (result.output, result.stderr)
    return result


def as_json(result: Result) -> object:
    return json.loads(result.stdout)


def test_deploy_with_a_native_spec(root: Path, shm: Path) -> None:
    spec = shm / "web.yaml"
    spec.write_text("name: web\nimage: ignored\nconfig:\n  env: {A: '1'}\n  restart: always\n")
    out = as_json(run(root, "container", "deploy", "--no-start", IMG, "--config", str(spec), "-o", "json"))
    assert isinstance(out, dict) and out["name"] == "web" and out["version"] == 1
    info = as_json(run(root, "container", "info", "web", "-o", "json"))
    assert isinstance(info, dict)
    assert info["spec"]["image"] == IMG
    assert info["spec"]["config"]["env"] == ["A=1"]
    assert info["spec"]["config"]["restart"]["policy"] == "always"


def test_invalid_spec_names_file_line_and_path(root: Path, shm: Path) -> None:
    spec = shm / "bad.yaml"
    spec.write_text("name: web\nconfig:\n  replicas: -1\n  bogus: 1\n")
    result = run(root, "container", "deploy", "--no-start", IMG, "--config", str(spec), code=2)
    assert f"{spec}:3: config.replicas:" in result.stderr
    assert f"{spec}:4: config.bogus: unknown key" in result.stderr
    assert as_json(run(root, "container", "list", "-o", "json")) == []


def test_root_from_the_environment(root: Path) -> None:
    result = CliRunner(env={"BERTH_ROOT": str(root)}).invoke(
        cli, ["container", "deploy", "--no-start", IMG, "-o", "json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["name"] == "web"  # the repository's last component


def test_update_rollback_and_listing(root: Path) -> None:
    run(root, "container", "deploy", "--no-start", IMG, "--name", "web")
    unchanged = as_json(run(root, "container", "update", "web", "--no-pull", "-o", "json"))
    assert isinstance(unchanged, dict) and unchanged["changed"] is False
    run(root, "container", "rollback", "web", code=1)
    put_image(root, IMG, [layer([Entry("etc/version", data=b"2")])])
    changed = as_json(run(root, "container", "update", "web", "--no-pull", "-o", "json"))
    assert isinstance(changed, dict) and (changed["changed"], changed["version"], changed["rollback"]) == (
        True,
        2,
        1,
    )
    back = as_json(run(root, "container", "update", "web", "--rollback", "-o", "json"))
    assert isinstance(back, dict) and (back["version"], back["rollback"]) == (1, 2)
    rows = as_json(run(root, "container", "list", "--verbose", "-o", "json"))
    assert isinstance(rows, list) and len(rows) == 1
    assert (Path(rows[0]["rootfs"]) / "etc" / "version").read_bytes() == b"1"
    table = run(root, "container", "list").stdout
    assert table.splitlines()[0].split() == ["NAME", "IMAGE", "DIGEST", "VERSION", "ROLLBACK", "CREATED"]


def test_deploy_rollback_keeps_the_previous(root: Path) -> None:
    run(root, "container", "deploy", "--no-start", IMG, "--name", "web")
    put_image(root, "localhost:5000/cli/web:2", [layer([Entry("etc/version", data=b"2")])])
    out = as_json(
        run(
            root,
            "container",
            "deploy",
            "--no-start",
            "localhost:5000/cli/web:2",
            "--name",
            "web",
            "--rollback",
            "-o",
            "json",
        )
    )
    assert isinstance(out, dict) and out["rollback"] == 1
    # without --rollback the previous version is kept all the same (ostree keeps its rollback)
    replaced = as_json(run(root, "container", "deploy", "--no-start", IMG, "--name", "web", "-o", "json"))
    assert isinstance(replaced, dict) and (replaced["version"], replaced["rollback"]) == (3, 2)
    assert sorted(p.name for p in (root / "deployments" / ".versions" / "web").iterdir()) == ["2", "3"]
    back = as_json(run(root, "container", "rollback", "web", "-o", "json"))
    assert isinstance(back, dict) and (back["version"], back["rollback"]) == (2, 3)
    assert (root / "deployments" / "web" / "rootfs" / "etc" / "version").read_bytes() == b"2"


def test_config_edits_are_validated(root: Path) -> None:
    run(root, "container", "deploy", "--no-start", IMG, "--name", "web")
    run(root, "container", "config", "web", "set", "config.working_dir", "/srv")
    assert run(root, "container", "config", "web", "get", "config.working_dir").stdout.strip() == '"/srv"'
    result = run(root, "container", "config", "web", "set", "config.replicas", "many", code=2)
    assert "config.replicas" in result.stderr
    flat = as_json(run(root, "container", "config", "web", "list", "-o", "json"))
    assert isinstance(flat, dict) and flat["config.replicas"] == 1 and flat["config.working_dir"] == "/srv"


def test_images_prune_remove_check_and_recover(root: Path) -> None:
    run(root, "container", "deploy", "--no-start", IMG, "--name", "web")
    images = as_json(run(root, "container", "images", "-o", "json"))
    assert isinstance(images, list) and images[0]["used_by"] == ["web"]
    assert as_json(run(root, "image", "prune", "-o", "json")) == {"removed": []}
    assert run(root, "store", "check").stdout.strip() == "store is consistent"
    (root / "metadata" / "containers.json").write_text("{}")
    stale = run(root, "store", "check")  # a stale index is what an interrupted write leaves: exit 0
    assert "interrupted: metadata/containers.json does not match" in stale.stderr
    done = as_json(run(root, "store", "recover", "-o", "json"))
    assert done == {"done": ["rewrote metadata indexes"]}
    removed = as_json(run(root, "container", "remove", "web", "--cleanup", "-o", "json"))
    assert isinstance(removed, dict) and f"image {IMG}" in removed["collected"]
    assert as_json(run(root, "container", "images", "-o", "json")) == []
    assert as_json(run(root, "store", "check", "-o", "json")) == {
        "ok": True,
        "problems": [],
        "interrupted": [],
    }


SECRET_SPEC = """\
name: vault
image: ignored
config:
  env: {PUBLIC: visible, TOKEN: s3cr3t-t0ken}
  secret_env: [TOKEN]
  files:
    - {target: /run/secrets/key, content: pr1vate-key, secret: true, mode: "0400"}
    - {target: /etc/app.conf, content: plain-config}
"""


def test_secrets_are_stored_0600_and_never_shown(root: Path, shm: Path) -> None:
    spec = shm / "vault.yaml"
    spec.write_text(SECRET_SPEC)
    shown = [run(root, "container", "deploy", "--no-start", IMG, "--config", str(spec), "-o", "json")]
    stored = root / "deployments" / "vault" / "config.json"
    assert stored.stat().st_mode & 0o777 == 0o600
    assert "s3cr3t-t0ken" in stored.read_text() and "pr1vate-key" in stored.read_text()
    shown.append(run(root, "container", "info", "vault", "-o", "json"))
    shown.append(run(root, "container", "info", "vault"))
    shown.append(run(root, "container", "config", "vault", "list", "-o", "json"))
    shown.append(run(root, "container", "config", "vault", "get", "config.env"))
    shown.append(
        run(root, "container", "config", "vault", "set", "config.env", "{PUBLIC: changed, TOKEN: n3w}")
    )
    for result in shown:
        assert "s3cr3t-t0ken" not in result.output + result.stderr
        assert "pr1vate-key" not in result.output + result.stderr
        assert "n3w" not in result.output + result.stderr
    info = as_json(run(root, "container", "info", "vault", "-o", "json"))
    assert isinstance(info, dict)
    assert info["spec"]["config"]["env"] == ["PUBLIC=changed", "TOKEN=<redacted>"]
    assert [f["content"] for f in info["spec"]["config"]["files"]] == ["<redacted>", "plain-config"]
    assert "n3w" in stored.read_text()  # the edit kept the real value
    assert stored.stat().st_mode & 0o777 == 0o600


READERS = [
    ["container", "list"],
    ["container", "list", "-o", "json"],
    ["container", "info", "web"],
    ["container", "images"],
    ["container", "images", "--prune"],
    ["image", "list"],
    ["image", "prune"],
    ["container", "config", "web", "get", "config.cmd"],
    ["container", "config", "web", "list"],
    ["container", "config", "web", "set", "config.working_dir", "/srv"],
    ["container", "rollback", "web"],
    ["container", "update", "web", "--no-pull"],
    ["container", "remove", "web"],
    ["store", "check"],
    ["store", "check", "-o", "json"],
    ["store", "gc"],
    ["store", "recover"],
]


@pytest.mark.parametrize("args", READERS, ids=[" ".join(a) for a in READERS])
def test_a_missing_store_is_reported_and_never_created(args: list[str], shm: Path) -> None:
    """A mistyped --root: one line saying so, exit 1, and nothing created (not even the root)."""
    absent = shm / "typo" / "store"
    result = run(absent, *args, code=1)
    assert result.stderr == f"error: no store at {absent}: deploy something first, or give --root\n"
    assert result.stdout == ""
    assert not (shm / "typo").exists()
    empty = shm / "empty"  # an existing directory that holds no store is no store either
    empty.mkdir()
    assert run(empty, *args, code=1).stderr.startswith(f"error: no store at {empty}:")
    assert list(empty.iterdir()) == []


def test_deploying_creates_the_store(shm: Path) -> None:
    root = shm / "new" / "store"
    oci = shm / "oci"
    from tests.support.ocilayouts import write_layout

    write_layout(oci, "1", [layer([Entry("etc/", "dir"), Entry("etc/motd", data=b"hi\n")])])
    out = as_json(
        run(root, "container", "deploy", "--no-start", f"oci:{oci}:1", "--name", "motd", "-o", "json")
    )
    assert isinstance(out, dict) and out["name"] == "motd"
    assert (root / "deployments" / "motd" / "rootfs" / "etc" / "motd").read_bytes() == b"hi\n"
    assert run(root, "store", "check").stdout.strip() == "store is consistent"
