"""One error hierarchy and one handler for the store commands.

We test these aspects:
- every error the agent raises on purpose derives from BerthError (store, registry, runtime);
- the handler turns a BerthError into one ``error:`` line, exit 1; an invalid spec into every
  diagnostic, exit 2; click's usage errors stay click's (exit 2);
- anything else is one ``error: internal error: <type>: <message> (please report this)`` line,
  exit 1, never a traceback, unless ``BERTH_DEBUG=1``;
- a damaged store file reached by a real command is a one-line error naming the version.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from agent.cli.main import cli
from agent.cli.store_output import handle_errors
from agent.registry import errors as registry_errors
from agent.runtime import errors as runtime_errors
from agent.store import blobs, deploying, images, streams, tarreading, unpacking, volumes
from agent.store.deployments import DeploymentError
from agent.store.errors import StoreNotFound
from tests.support.layers import Entry, layer
from tests.support.storing import put_image
from translators.errors import BerthError, Diagnostic, InvalidSpec

RAISED_ON_PURPOSE = [
    DeploymentError,
    deploying.PullUnavailable,
    StoreNotFound,
    images.ImageNotFound,
    images.InvalidImageRecord,
    blobs.InvalidDigest,
    blobs.DigestMismatch,
    blobs.SizeMismatch,
    unpacking.LayerError,
    streams.LayerTooLarge,
    tarreading.TarFormatError,
    volumes.VolumeError,
    volumes.VolumeInUse,
    registry_errors.RegistryError,
    registry_errors.StoreError,
    registry_errors.NotFound,
    runtime_errors.RuntimeFailure,
    runtime_errors.ContainerNotFound,
]


@pytest.mark.parametrize("cls", RAISED_ON_PURPOSE, ids=lambda c: c.__name__)
def test_every_error_is_a_berth_error(cls: type[Exception]) -> None:
    assert issubclass(cls, BerthError)


def _command(exc: BaseException) -> click.Command:
    @click.command()
    @handle_errors
    def failing() -> None:
        raise exc

    return failing


def test_berth_errors_are_one_line() -> None:
    result = CliRunner().invoke(_command(DeploymentError("no deployment named 'x'")))
    assert (result.exit_code, result.stderr) == (1, "error: no deployment named 'x'\n")


def test_invalid_specs_list_every_diagnostic() -> None:
    exc = InvalidSpec(
        [Diagnostic("bad", "config.a", "s.yaml", 3), Diagnostic("worse", "config.b", "s.yaml", 4)]
    )
    result = CliRunner().invoke(_command(exc))
    assert result.exit_code == 2
    assert result.stderr == "error: s.yaml:3: config.a: bad\nerror: s.yaml:4: config.b: worse\n"


def test_usage_errors_stay_clicks() -> None:
    result = CliRunner().invoke(_command(click.UsageError("config get needs a KEY")))
    assert result.exit_code == 2 and "config get needs a KEY" in result.stderr


def test_anything_else_is_an_internal_error_without_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BERTH_DEBUG", raising=False)
    result = CliRunner().invoke(_command(KeyError("layers")))
    assert result.exit_code == 1
    assert result.stderr == "error: internal error: KeyError: 'layers' (please report this)\n"
    assert "Traceback" not in result.output


def test_berth_debug_shows_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BERTH_DEBUG", "1")
    result = CliRunner().invoke(_command(KeyError("layers")))
    assert isinstance(result.exception, KeyError)


def test_a_damaged_state_file_is_named(store_root: Path) -> None:
    put_image(store_root, "localhost:5000/e/web:1", [layer([Entry("v", data=b"1")])])
    deploying.deploy(store_root, deploying.build_spec({"name": "web", "image": "localhost:5000/e/web:1"}))
    state = store_root / "deployments" / "web" / "state.json"
    state.write_text("{not json")
    runner = CliRunner()
    result = runner.invoke(cli, ["container", "info", "web", "--root", str(store_root)])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: deployment 'web': version 1: state.json is not JSON:")
    state.write_text(json.dumps({"name": "web"}))
    result = runner.invoke(cli, ["container", "list", "--root", str(store_root)])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: deployment 'web' version 1: state.json is malformed (KeyError:")
