"""``berth pull IMAGE``: fetch an image into the host store, then print what was recorded.

Thin over ``agent.registry.pulling.pull_image``. Progress goes to stderr (a rich bar on a
terminal, plain lines otherwise) so stdout stays parseable with ``-o json``. Exit codes: 0 pulled,
1 the pull failed (one ``error:`` line naming registry, blob and cause), 2 usage.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import click

from agent.oci import references
from agent.registry import errors, pulling
from agent.store import images
from agent.trust.errors import TrustError

DEFAULT_ROOT = Path("/var/lib/rpm-ostree/containers")


class PlainProgress:
    """One line per event on stderr: readable in logs and CI."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def _say(self, text: str) -> None:
        with self._lock:
            click.echo(text, err=True)

    def blob_started(self, digest: str, size: int, offset: int) -> None:
        resume = f" from byte {offset}" if offset else ""
        self._say(f"fetching {digest[:19]} ({size} bytes){resume}")

    def blob_advanced(self, digest: str, nbytes: int) -> None:
        pass

    def blob_finished(self, digest: str, *, skipped: bool) -> None:
        self._say(f"{'exists  ' if skipped else 'verified'} {digest[:19]}")

    def note(self, message: str) -> None:
        self._say(message)


class RichProgress:
    """A rich progress bar per blob; rich's Progress is thread-safe."""

    def __init__(self) -> None:
        from rich import console, progress

        self.bar = progress.Progress(
            progress.TextColumn("{task.description}"),
            progress.BarColumn(),
            progress.DownloadColumn(),
            progress.TransferSpeedColumn(),
            console=console.Console(stderr=True),
            transient=False,
        )
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> RichProgress:
        self.bar.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.bar.stop()

    def blob_started(self, digest: str, size: int, offset: int) -> None:
        if digest not in self.tasks:
            self.tasks[digest] = self.bar.add_task(digest[7:19], total=size)
        self.bar.update(self.tasks[digest], completed=offset)

    def blob_advanced(self, digest: str, nbytes: int) -> None:
        if digest in self.tasks:
            self.bar.advance(self.tasks[digest], nbytes)

    def blob_finished(self, digest: str, *, skipped: bool) -> None:
        if digest in self.tasks:
            task = self.tasks[digest]
            self.bar.update(task, completed=self.bar.tasks[task].total)
        elif skipped:
            self.bar.console.print(f"exists {digest[7:19]}")

    def note(self, message: str) -> None:
        self.bar.console.print(message)


def progress_sink(stack: contextlib.ExitStack) -> pulling.ProgressSink:
    """A progress bar on a terminal, plain lines otherwise (logs, CI), both on stderr."""
    return stack.enter_context(RichProgress()) if sys.stderr.isatty() else PlainProgress()


def record_json(record: images.ImageRecord) -> dict[str, Any]:
    """The pulled image, with the field names every command uses (README, "Output")."""
    return {
        "reference": record.reference,
        "registry": record.registry,
        "repository": record.repository,
        "tag": record.tag,
        "digest": record.digest,
        "config_digest": record.config_digest,
        "layers": len(record.layers),
        "size": sum(x.size for x in record.layers),
        "layer_blobs": [
            {"digest": x.digest, "media_type": x.media_type, "size": x.size} for x in record.layers
        ],
        "path": str(record.path),
    }


@click.command()
@click.argument("image")
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="BERTH_ROOT",
    default=DEFAULT_ROOT,
    show_default=True,
    help="Host store root (env BERTH_ROOT).",
)
@click.option(
    "--platform", help="OS/ARCH[/VARIANT] to pick from a multi-platform image (default linux/amd64)."
)
@click.option(
    "--creds", help="USER:PASSWORD for the registry (else $REGISTRY_AUTH_FILE, ~/.docker/config.json)."
)
@click.option(
    "--tls-verify/--insecure",
    default=True,
    help="--insecure: skip TLS verification and allow plain HTTP for this image's registry.",
)
@click.option(
    "--insecure-registry", multiple=True, help="Another host[:port] to treat as insecure (repeatable)."
)
@click.option(
    "--ca-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="PEM CA bundle to trust."
)
@click.option(
    "--cert-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Directory of PEM CA certificates (*.crt) to trust, as in containers' certs.d.",
)
@click.option(
    "--policy",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Trust policy (containers-policy.json; default $BERTH_POLICY, /etc/containers/policy.json).",
)
@click.option(
    "-o",
    "--output",
    type=click.Choice(["table", "json", "yaml"]),
    default="table",
    show_default=True,
    help="table: lines for people; json or yaml: the image record for scripts.",
)
def pull(
    *,
    image: str,
    root: Path,
    platform: str | None,
    creds: str | None,
    tls_verify: bool,
    insecure_registry: tuple[str, ...],
    ca_file: Path | None,
    cert_dir: Path | None,
    policy: Path | None,
    output: str,
) -> None:
    """Pull IMAGE (a registry reference, or oci:DIR[:REF], oci-archive:FILE[:REF],
    docker-archive:FILE[:NAME:TAG]) into the host store."""
    insecure = list(insecure_registry)
    if ca_file and cert_dir:
        raise click.UsageError("--ca-file and --cert-dir are mutually exclusive")
    with contextlib.ExitStack() as stack:
        if cert_dir is not None:
            ca_file = stack.enter_context(_bundle(cert_dir))
        record = _run(
            image,
            root=root,
            platform=platform,
            creds=creds,
            tls_verify=tls_verify,
            insecure=insecure,
            ca_file=ca_file,
            policy=policy,
        )
    if output != "table":
        from agent.cli.store_output import emit

        emit(output, record_json(record))
    else:
        click.echo(f"Pulled {record.reference}\nDigest: {record.digest}\nStored: {record.path}")


@contextlib.contextmanager
def _bundle(cert_dir: Path) -> Iterator[Path]:
    """The ``*.crt`` files of ``cert_dir`` as one temporary PEM bundle (what requests takes)."""
    certs = sorted(cert_dir.glob("*.crt"))
    if not certs:
        raise click.UsageError(f"--cert-dir {cert_dir}: no *.crt files")
    with tempfile.NamedTemporaryFile(suffix=".pem", prefix="berth-ca-") as bundle:
        for cert in certs:
            bundle.write(cert.read_bytes().rstrip(b"\n") + b"\n")
        bundle.flush()
        yield Path(bundle.name)


def _run(
    image: str,
    *,
    root: Path,
    platform: str | None,
    creds: str | None,
    tls_verify: bool,
    insecure: list[str],
    ca_file: Path | None,
    policy: Path | None = None,
) -> images.ImageRecord:
    """Pull with progress on stderr; InvalidReference is a usage error (2); a RegistryError (the
    store's own failures included, as StoreError) or an OSError (disk full, permissions while
    writing blobs) exits 1 with one line. Other exceptions are bugs and keep their traceback."""
    try:
        transport, text = pulling.split_transport(image)
        if not tls_verify and transport == "docker":
            insecure.append(references.parse(text).api_host)
        from agent.trust import enforcing

        verdict = enforcing.check(image, policy=policy, creds=creds, insecure=insecure, ca_file=ca_file)
        with contextlib.ExitStack() as stack:
            sink = progress_sink(stack)
            return pulling.pull_image(
                image, root, platform=platform, creds=creds, insecure=insecure, ca_file=ca_file, progress=sink,
                digest=verdict.digest or None,
            )  # fmt: skip
    except errors.InvalidReference as exc:
        raise click.UsageError(str(exc)) from exc
    except (errors.RegistryError, OSError, TrustError) as exc:
        click.echo(f"error: pull of {image} failed: {exc}", err=True)
        sys.exit(1)
