"""``berth pull`` through the real CLI entry (lazy group) against a real registry.

We test these aspects:
- ``-o json`` prints the record (digests checked against the builder's), the store root comes
  from ``--root`` or ``$BERTH_ROOT``;
- without a terminal, progress is plain lines on stderr and stdout holds only the result;
- exit 1 with a message naming the registry for a failed pull; exit 2 for usage errors
  (unparsable reference, bad ``--platform``);
- the store's failures are one ``error:`` line and exit 1, not a traceback: a ``--root`` that
  cannot be created, and a config blob removed from the store while the layers download;
- ``--cert-dir`` trusts the ``*.crt`` files of a directory (TLS registry with the test CA), and
  is exclusive with ``--ca-file``;
- ``--insecure`` allows plain HTTP for the image's registry (``0.0.0.0:PORT``, not loopback by
  name), which fails without it.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from agent.cli import main
from agent.store import blobs, images
from tests.agent.registry.conftest import SecureRegistry
from tests.support import faults
from tests.support import images as images_mod
from tests.support import registry as registry_mod


def _run(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main.cli, ["pull", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def _run_failing(args: list[str]) -> str:
    """Stderr of a pull that must fail with exit 1 through the CLI's own handling: the runner
    turns an escaped exception into exit 1 too, so the exception itself is checked."""
    result = CliRunner().invoke(main.cli, ["pull", *args])
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1
    assert result.stdout == ""
    return result.stderr


def test_json_output_and_plain_progress(
    plain_registry: registry_mod.Registry, test_images: images_mod.TestImages, tmp_path: Path
) -> None:
    code, out, err = _run([f"{plain_registry.host}/test/simple", "--root", str(tmp_path), "-o", "json"])
    assert code == 0, err
    record = json.loads(out)
    assert record["digest"] == test_images.simple.digest
    assert record["config_digest"] == test_images.simple.config_digest
    assert [layer["digest"] for layer in record["layer_blobs"]] == list(test_images.simple.layer_digests)
    assert record["layers"] == len(test_images.simple.layer_digests)
    assert Path(record["path"]).is_relative_to(tmp_path)
    for digest in test_images.simple.layer_digests:
        assert f"verified {digest[:19]}" in err


def test_root_from_environment(plain_registry: registry_mod.Registry, tmp_path: Path) -> None:
    code, out, err = _run([f"{plain_registry.host}/test/zstd"], env={"BERTH_ROOT": str(tmp_path)})
    assert code == 0, err
    assert out.startswith(f"Pulled {plain_registry.host}/test/zstd:latest\n")
    assert (tmp_path / "images" / plain_registry.host / "test" / "zstd" / "latest" / "image.json").is_file()


def test_failed_pull_exits_1(plain_registry: registry_mod.Registry, tmp_path: Path) -> None:
    code, out, err = _run([f"{plain_registry.host}/test/foreign", "--root", str(tmp_path)])
    assert code == 1
    assert out == ""
    assert f"{plain_registry.host}: no image for platform linux/amd64" in err


@pytest.mark.parametrize(
    "args",
    [["Bad/Name"], ["busybox", "--platform", "linux"], ["busybox", "-o", "xml"]],
    ids=["bad-reference", "bad-platform", "bad-output"],
)
def test_usage_errors_exit_2(tmp_path: Path, args: list[str]) -> None:
    code, _, err = _run([*args, "--root", str(tmp_path)])
    assert code == 2, err


def test_insecure_flag(plain_registry: registry_mod.Registry, tmp_path: Path) -> None:
    image = f"0.0.0.0:{plain_registry.host.rsplit(':', 1)[1]}/test/simple"
    code, _, err = _run([image, "--root", str(tmp_path)])
    assert code == 1 and "plain HTTP is allowed only" in err
    code, _, err = _run([image, "--root", str(tmp_path), "--insecure"])
    assert code == 0, err


def test_cert_dir(tls_registry: SecureRegistry, test_images: images_mod.TestImages, tmp_path: Path) -> None:
    certs = tmp_path / "certs.d"
    certs.mkdir()
    (certs / "other.crt").write_bytes(tls_registry.other_ca_file.read_bytes())
    args = [f"{tls_registry.registry.host}/test/simple", "--root", str(tmp_path / "store"), "-o", "json"]
    args += ["--creds", "alice:wonderland", "--cert-dir", str(certs)]
    code, _, err = _run(args)
    assert code == 1 and "not trusted" in err
    (certs / "ca.crt").write_bytes(tls_registry.ca_file.read_bytes())
    code, out, err = _run(args)
    assert code == 0, err
    assert json.loads(out)["digest"] == test_images.simple.digest
    code, _, err = _run([*args, "--ca-file", str(tls_registry.ca_file)])
    assert code == 2 and "mutually exclusive" in err


def test_root_that_cannot_be_created(plain_registry: registry_mod.Registry, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    image = f"{plain_registry.host}/test/simple"
    err = _run_failing([image, "--root", str(blocker / "store")])
    assert err.startswith(f"error: pull of {image} failed: {blocker / 'store'}: cannot open the store: ")
    assert "Not a directory" in err
    assert err.count("\n") == 1


def test_config_blob_removed_during_the_pull(
    plain_registry: registry_mod.Registry, test_images: images_mod.TestImages, tmp_path: Path
) -> None:
    """What a concurrent ``berth store gc`` (or an admin) removing an unrecorded blob does."""
    proxy = faults.FaultProxy(plain_registry.host)
    layer = test_images.simple.layer_digests[0]
    proxy.faults.append(faults.Fault(layer, "delay", delay=1.5))
    config = blobs.BlobStore(tmp_path).path(test_images.simple.config_digest)
    removed = threading.Event()

    def remove_config() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(FileNotFoundError):
                config.unlink()
                removed.set()
                return
            time.sleep(0.01)

    remover = threading.Thread(target=remove_config, daemon=True)
    remover.start()
    try:
        image = f"{proxy.host}/test/simple"
        err = _run_failing([image, "--root", str(tmp_path)])
    finally:
        remover.join()
        proxy.close()
    assert removed.is_set()
    *progress_lines, last = err.splitlines()
    assert last.startswith(f"error: pull of {image} failed: {tmp_path / 'blobs'}: ")
    assert f"cannot read config blob {test_images.simple.config_digest}" in last
    assert not any(line.startswith(("error", "Traceback")) for line in progress_lines)
    assert images.ImageStore(tmp_path).list() == []
