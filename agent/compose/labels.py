"""docker compose's names and labels for a project's containers, and the compose error.

Kept apart from :mod:`agent.compose.projects` (which builds services from the spec models) so that
the commands that only read the store (``ps``, ``ls``, a no-op ``up``) import no pydantic model.
"""

from __future__ import annotations

from agent.store.records import Deployment
from translators.errors import BerthError

LABEL = "com.docker.compose"
PROJECT = f"{LABEL}.project"
SERVICE = f"{LABEL}.service"
NUMBER = f"{LABEL}.container-number"
HASH = f"{LABEL}.config-hash"
CONFIG_FILES = f"{LABEL}.project.config_files"
WORKING_DIR = f"{LABEL}.project.working_dir"
ONEOFF = f"{LABEL}.oneoff"
DEPENDS_ON = f"{LABEL}.depends_on"
VERSION = f"{LABEL}.version"
COMPOSE_VERSION = "2.29.0"
"""The docker compose version whose behaviour Berth follows (``com.docker.compose.version``)."""


class ComposeError(BerthError):
    """A compose command cannot do what was asked (no such service, a dependency failed...)."""


def container_name(project: str, service: str, number: int) -> str:
    """docker compose's container name."""
    return f"{project}-{service}-{number}"


def number_of(deployment: Deployment) -> int:
    """The replica number of a compose deployment (from its label, else its name)."""
    label = deployment.state.owner.labels.get(NUMBER)
    if label and label.isdigit():
        return int(label)
    tail = deployment.name.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 1
