"""``berth container verify [--key FILE ...] [--policy FILE] IMAGE``: is this image signed?

With ``--key``, the image needs a valid signature by one of the keys (an OpenPGP key: simple
signing; a PEM public key: cosign); with ``--policy`` (or without ``--key``: ``$BERTH_POLICY``,
else /etc/containers/policy.json) the policy's scope for the image decides. Prints who signed
which digest; exit 0 only when the image is accepted, else one ``error:`` line with the reason
and exit 1. Nothing is written to the store.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import click

from agent.cli.store_output import emit
from agent.registry import errors
from agent.trust.errors import SignatureRejected, TrustError


@click.command()
@click.argument("image")
@click.option(
    "--key", "keys", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
    help="Trusted public key (OpenPGP, or a cosign PEM key); repeatable: any one may have signed.",
)  # fmt: skip
@click.option(
    "--policy", type=click.Path(dir_okay=False, path_type=Path), help="containers-policy.json to apply."
)
@click.option(
    "--registries.d", "registries_d", type=click.Path(file_okay=False, path_type=Path),
    help="registries.d directory with lookaside stores (default $BERTH_REGISTRIES_D, /etc/containers/registries.d).",
)  # fmt: skip
@click.option("--creds", help="USER:PASSWORD for the registry.")
@click.option("--insecure-registry", multiple=True, help="host[:port] allowed over plain HTTP (repeatable).")
@click.option(
    "-o",
    "--output",
    type=click.Choice(["table", "json", "yaml"]),
    default="table",
    show_default=True,
    help="table: lines for people; json or yaml: the verdict for scripts.",
)
def verify(
    *,
    image: str,
    keys: tuple[Path, ...],
    policy: Path | None,
    registries_d: Path | None,
    creds: str | None,
    insecure_registry: tuple[str, ...],
    output: str,
) -> None:
    """Verify the signatures of IMAGE's manifest (exit 0 signed and accepted, 1 refused)."""
    # here, not at import: the registry client (requests) would cost every `berth container ...`
    from agent.trust import enforcing

    try:
        require = [enforcing.key_requirement(key) for key in keys]
        if len(require) > 1:  # any one of the keys: one requirement holding them all
            kinds = {r.kind for r in require}
            if len(kinds) > 1:
                raise click.UsageError("--key: give OpenPGP keys or cosign keys, not both")
            first = require[0]
            require = [
                dataclasses.replace(first, keys=tuple(k for r in require for k in r.keys), origin="--key")
            ]
        verdict = enforcing.check(
            image,
            policy=policy,
            use_policy=policy is not None or not keys,
            require=require,
            registries_d=registries_d,
            creds=creds,
            insecure=list(insecure_registry),
        )
    except errors.InvalidReference as exc:
        raise click.UsageError(str(exc)) from exc
    except (TrustError, errors.RegistryError) as exc:
        reason = exc.reason if isinstance(exc, SignatureRejected) else "error"
        if output != "table":
            emit(output, {"image": image, "verified": False, "reason": reason, "error": str(exc)})
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    signatures = [
        {"kind": a.kind, "signer": a.signer, "digest": a.digest, "reference": a.reference, "source": a.where}
        for a in verdict.accepted
    ]
    if output != "table":
        data = {
            "image": verdict.reference,
            "verified": True,
            "digest": verdict.digest,
            "scope": verdict.scope,
        }
        emit(output, {**data, "signatures": signatures})
        return
    if not signatures:
        click.echo(f"{verdict.reference}: accepted without a signature by {verdict.scope}")
    for sig in signatures:
        click.echo(f"{sig['digest']} signed by {sig['signer']} ({sig['kind']}) as {sig['reference']}")
