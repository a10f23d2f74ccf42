"""Health checks: compose's ``healthcheck`` and Kubernetes' liveness, readiness and startup probes.

One :class:`Probe` holds any of the three Kubernetes actions (exec, HTTP GET, TCP connect) and the
timing fields of both worlds, so nothing is lost when a Kubernetes probe becomes a spec.
"""

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from translators.spec.base import SpecModel, empty_dict
from translators.spec.units import parse_duration

Seconds = Annotated[float, BeforeValidator(parse_duration, json_schema_input_type=float | str)]
SHELL = ("/bin/sh", "-c")


class HttpGetAction(SpecModel):
    """Healthy when an HTTP GET answers with a status from 200 to 399."""

    port: int | str
    """Container port number, or the name of a declared port."""
    path: str = "/"
    """Request path."""
    host: str | None = None
    """Host to connect to; null: the container's own address."""
    scheme: Literal["http", "https"] = "http"
    """http or https (certificates are not verified, as Kubernetes does)."""
    headers: dict[str, str] = Field(default_factory=empty_dict)
    """Extra request headers."""


class TcpSocketAction(SpecModel):
    """Healthy when a TCP connection opens."""

    port: int | str
    """Container port number, or the name of a declared port."""
    host: str | None = None
    """Host to connect to; null: the container's own address."""


class Probe(SpecModel):
    """How and how often to check a container: at most one action, or ``disable``.

    A healthcheck without an action keeps the image's HEALTHCHECK command and changes only the
    timings, as docker does. Timing fields left null take the runtime's defaults (docker: every
    30 s, 30 s timeout, 3 retries).
    """

    exec: list[str] | None = None
    """Command run inside the container; healthy when it exits 0 (argv form, no shell)."""
    http_get: HttpGetAction | None = None
    """HTTP GET check."""
    tcp_socket: TcpSocketAction | None = None
    """TCP connect check."""
    interval: Seconds | None = None
    """Seconds between checks (accepts 30s, 1m30s)."""
    timeout: Seconds | None = None
    """Seconds before one check counts as failed."""
    start_period: Seconds | None = None
    """Seconds after start during which failures do not count."""
    start_interval: Seconds | None = None
    """Seconds between checks during the start period."""
    retries: int | None = Field(default=None, ge=0)
    """Consecutive failures before the container is unhealthy."""
    success_threshold: int | None = Field(default=None, ge=1)
    """Consecutive successes before it is healthy again (Kubernetes successThreshold)."""
    disable: bool = False
    """Turn off a check the image defines."""
    test: list[str] | str | None = Field(default=None, exclude=True)
    """Docker's form, read and turned into exec or disable: ["CMD", ...], ["CMD-SHELL", "..."], ["NONE"]
    or a shell string."""

    @model_validator(mode="before")
    @classmethod
    def _short_forms(cls, value: Any) -> Any:
        """Accept docker's ``test`` forms: ``["CMD", ...]``, ``["CMD-SHELL", "..."]``, ``["NONE"]``."""
        if isinstance(value, str | list):
            value = {"test": value}
        if isinstance(value, dict) and "test" in value:
            value = dict(value)
            test = value.pop("test")
            if isinstance(test, str):
                value["exec"] = [*SHELL, test]
            elif isinstance(test, list) and not test:
                pass  # docker: an empty test keeps the image's HEALTHCHECK command
            elif isinstance(test, list):
                head, rest = test[0], [str(t) for t in test[1:]]
                if head == "NONE":
                    value["disable"] = True
                elif head == "CMD":
                    value["exec"] = rest
                elif head == "CMD-SHELL":
                    value["exec"] = [*SHELL, " ".join(rest)]
                else:
                    raise ValueError('test must start with "CMD", "CMD-SHELL" or "NONE"')
            elif test is not None:
                raise ValueError('test must be a string or a list starting with "CMD", "CMD-SHELL" or "NONE"')
        return value

    @model_validator(mode="after")
    def _one_action(self) -> "Probe":
        actions = [a for a in (self.exec, self.http_get, self.tcp_socket) if a is not None]
        if self.disable:
            return self
        if len(actions) > 1:
            raise ValueError("a probe takes at most one of exec, http_get or tcp_socket")
        if self.exec is not None and not self.exec:
            raise ValueError("exec needs a command")
        return self

    @property
    def inherits_action(self) -> bool:
        """No action given: the image's HEALTHCHECK command runs, with these timings (docker)."""
        return not self.disable and self.exec is None and self.http_get is None and self.tcp_socket is None
