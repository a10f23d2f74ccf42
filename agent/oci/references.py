"""Image references and Docker Hub's naming rules.

``nginx`` means ``docker.io/library/nginx:latest``; ``user/app`` means ``docker.io/user/app``;
``index.docker.io`` is an old alias of ``docker.io``, whose API is served by
``registry-1.docker.io``. A first component is a registry host when it contains ``.`` or ``:``
or is ``localhost`` (distribution/reference's rule). With both a tag and a digest the digest
wins: the tag is kept only for display.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from translators.errors import BerthError

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_HOST = re.compile(r"^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)?$")


class InvalidReference(BerthError, ValueError):
    """An image reference (or a transport, platform or credential string) that cannot be parsed.

    It lives here, below the registry client, because the store parses references too (its images
    are keyed by them); ``agent.registry.errors`` re-exports it. ``source`` names where the text
    came from ("" when it is the user's own argument).
    """

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}" if source else message)
        self.source = source
        self.message = message


@dataclass(frozen=True)
class Reference:
    """A fully qualified reference: registry host, repository path, tag and/or digest."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def api_host(self) -> str:
        """The host that serves ``/v2/`` for this registry."""
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    @property
    def manifest_ref(self) -> str:
        """What goes after ``/manifests/``: the digest when there is one, else the tag."""
        return self.digest or self.tag or "latest"

    def __str__(self) -> str:
        text = f"{self.registry}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def split_domain(name: str) -> tuple[str | None, str]:
    """Split ``host[:port]/path`` into the host (None when the name has none) and the path."""
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        return first, rest
    return None, name


def parse(text: str, default_registry: str = DOCKER_HUB) -> Reference:
    """Parse and normalise ``[host[:port]/]path[:tag][@sha256:hex]``."""
    original = text
    name, _, digest = text.partition("@")
    if digest and not _DIGEST.match(digest):
        raise InvalidReference("", f"{original!r}: unsupported digest {digest!r} (want sha256:<64 hex>)")
    tag: str | None = None
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
        if not _TAG.match(tag):
            raise InvalidReference("", f"{original!r}: invalid tag {tag!r}")
    domain, path = split_domain(name)
    registry = domain or default_registry
    if registry in _HUB_ALIASES:
        registry = DOCKER_HUB
    if not _HOST.match(registry):
        raise InvalidReference("", f"{original!r}: invalid registry host {registry!r}")
    if registry == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    if not _REPOSITORY.match(path):
        raise InvalidReference(
            "", f"{original!r}: invalid repository {path!r} (lowercase letters, digits, '.', '_', '-', '/')"
        )
    if tag is None and not digest:
        tag = "latest"
    return Reference(registry=registry, repository=path, tag=tag, digest=digest or None)


LOCAL_REGISTRY = "localhost"


def local_name(ref_name: str | None, fallback_repository: str) -> Reference:
    """Where an image from ``oci:``/``oci-archive:``/``docker-archive:`` is recorded.

    Such images land under the registry ``localhost`` (as podman names loaded images), so they
    never pose as pulled from a real registry:

    - no ref name: ``localhost/<fallback>:latest`` (fallback: the directory or file name);
    - a bare tag (no ``:`` and no ``/``, as umoci writes them): ``localhost/<fallback>:<tag>``;
    - a name (``app:1.0``, ``quay.io/team/app:1.0``): ``localhost/<path>:<tag>``, dropping any
      registry host of the name (``localhost/team/app:1.0``).
    """
    fallback = re.sub(r"[^a-z0-9._-]+", "-", fallback_repository.lower()).strip("._-") or "image"
    if not ref_name:
        return Reference(LOCAL_REGISTRY, fallback, "latest")
    if ":" not in ref_name and "/" not in ref_name:
        if not _TAG.match(ref_name):
            raise InvalidReference("", f"image ref name {ref_name!r} is neither a tag nor a name")
        return Reference(LOCAL_REGISTRY, fallback, ref_name)
    parsed = parse(ref_name, default_registry=LOCAL_REGISTRY)
    return Reference(LOCAL_REGISTRY, parsed.repository, parsed.tag, parsed.digest)
