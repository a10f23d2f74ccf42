"""The Compose translator: a Compose Specification loader whose phases are listed in PHASES.md.

``load(files, env=...)`` returns a :class:`ComposeProject`: ``.model`` equals what
``docker compose config --format json`` prints, ``.translation`` holds one spec per service.
"""

from translators.compose.load import ComposeFile, ComposeProject, load

__all__ = ["ComposeFile", "ComposeProject", "load"]
