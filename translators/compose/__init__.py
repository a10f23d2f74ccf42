"""The Compose translator: a Compose Specification loader whose phases are listed in PHASES.md.

``load(files, env=...)`` returns a :class:`ComposeProject`: ``.model`` equals what
``docker compose config --format json`` prints, ``.translation`` holds one spec per service.

The loader (and the spec models it binds to) is imported on first use of ``load`` or
``ComposeProject``, so that importing a light module of this package (``inputs``, ``template``)
does not build them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from translators.compose.inputs import ComposeFile

if TYPE_CHECKING:
    from translators.compose.load import ComposeProject, load

__all__ = ["ComposeFile", "ComposeProject", "load"]


def __getattr__(name: str) -> Any:
    """``load`` and ``ComposeProject`` on first use. Importing the submodule ``load`` binds the
    package's ``load`` to the module; the function is bound over it here (so nothing else may
    import ``translators.compose.load`` by its module name)."""
    if name in ("ComposeProject", "load"):
        import importlib

        module = importlib.import_module("translators.compose.load")
        globals().update(ComposeProject=module.ComposeProject, load=module.load)
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
