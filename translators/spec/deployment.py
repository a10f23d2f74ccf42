"""The native deployment spec: one container to run, and everything it needs.

This module is the single source of truth for the spec's shape: the JSON Schema (``berth schema``)
and the ``ContainerDeployment`` CRD in ``crds/`` are generated from these models.
"""

import re
import shlex
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from translators.spec.base import (
    SpecModel,
    also_accepts,
    defaults_of,
    empty_dict,
    empty_list,
    item_error,
    key_values,
    mutually_exclusive,
)
from translators.spec.mounts import FileMount, Tmpfs, Volumes
from translators.spec.network import NetworkConfig
from translators.spec.ports import Ports
from translators.spec.probes import Probe, Seconds
from translators.spec.resources import Resources
from translators.spec.security import Security
from translators.spec.units import parse_signal

Transport = Literal["docker", "oci", "oci-archive", "docker-archive"]
TRANSPORTS: tuple[str, ...] = ("docker", "oci", "oci-archive", "docker-archive")
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$"
_ENV_KEY = re.compile(r"^[^=\s]+$")
# distribution/reference, simplified: [host[:port]/]path[:tag][@algo:hex]
_REFERENCE = re.compile(
    r"^(?:(?P<domain>[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
    r"(?::[0-9]+)?|\[[0-9a-fA-F:]+\](?::[0-9]+)?)/)?"
    r"(?P<path>[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?$"
)
# image strings may name their transport the way skopeo does: docker://x, oci:/dir:tag, ...
_TRANSPORT_PREFIX = re.compile(r"^(docker://|oci-archive:|docker-archive:|oci:)")


def _argv(value: Any) -> Any:
    """A command as a string is split the way a POSIX shell would, as docker compose does."""
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError as exc:
            raise ValueError(f"cannot split command {value!r}: {exc}") from exc
    if isinstance(value, list):
        return [str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v for v in value]
    return value


Argv = Annotated[list[str], BeforeValidator(_argv, json_schema_input_type=list[str] | str)]


def _env(value: Any) -> Any:
    """``{"K": "V"}`` or ``["K=V"]`` becomes ``["K=V"]``; a bare ``K`` passes the agent's value."""
    if isinstance(value, dict):
        items = []
        for k, v in value.items():
            if v is None:
                items.append(str(k))
            elif isinstance(v, bool):
                items.append(f"{k}={'true' if v else 'false'}")
            else:
                items.append(f"{k}={v}")
        value = items
    if isinstance(value, list):
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise item_error(i, f"expected a string KEY=VALUE, got {type(item).__name__}")
            key = item.split("=", 1)[0]
            if not _ENV_KEY.match(key):
                raise item_error(i, f"invalid environment variable name {key!r}")
    return value


Env = Annotated[
    list[str],
    BeforeValidator(_env, json_schema_input_type=list[str] | dict[str, str | int | float | bool | None]),
]


def _labels(value: Any) -> Any:
    if isinstance(value, list):
        return key_values(value)
    if isinstance(value, dict):
        return {str(k): "" if v is None else str(v) for k, v in value.items()}
    return value


Labels = Annotated[
    dict[str, str], BeforeValidator(_labels, json_schema_input_type=dict[str, str] | list[str])
]


class RestartPolicy(SpecModel):
    """When the supervisor restarts the container. ``"on-failure:3"`` is the short form."""

    policy: Literal["no", "always", "on-failure", "unless-stopped"] = "no"
    """no, always, on-failure, unless-stopped."""
    max_retries: int | None = Field(default=None, ge=0)
    """With on-failure: give up after this many restarts; null: never give up."""
    delay: Seconds | None = None
    """Seconds to wait before a restart."""

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value: Any) -> Any:
        if value is False:
            return {"policy": "no"}
        if isinstance(value, str):
            policy, _, retries = value.partition(":")
            out: dict[str, Any] = {"policy": policy}
            if retries:
                if policy != "on-failure":
                    raise ValueError("only on-failure takes a retry count")
                out["max_retries"] = retries
            return out
        return value


class Dependency(SpecModel):
    """Another spec that must be up (or done) before this one starts. A string is the short form."""

    name: str = Field(pattern=NAME_PATTERN)
    """Name of the spec depended on."""
    condition: Literal["started", "healthy", "completed_successfully"] = "started"
    """started, healthy (its healthcheck passes) or completed_successfully (it exited 0)."""
    required: bool = True
    """When false, a missing dependency is a warning, not an error."""
    restart: bool = False
    """Restart this container when the dependency is restarted."""


def _dependencies(value: Any) -> Any:
    if isinstance(value, dict):
        out = []
        for k, v in value.items():
            if v is not None and not isinstance(v, dict):
                raise ValueError(f"{k}: expected a mapping such as {{condition: service_healthy}}")
            out.append({"name": k, **(v or {})})
        return out
    if isinstance(value, list):
        return [{"name": v} if isinstance(v, str) else v for v in value]
    return value


class ContainerConfig(SpecModel):
    """How to run the image: process, files, network, limits and privileges."""

    entrypoint: Argv | None = None
    """Overrides the image ENTRYPOINT; a string is split like a shell would. Null: the image's."""
    cmd: Argv | None = None
    """Overrides the image CMD; a string is split like a shell would. Null: the image's CMD, unless
    entrypoint is set: then, as in docker and Kubernetes, the image's CMD is not used."""
    env: Env = Field(default_factory=empty_list)
    """Environment as KEY=VALUE; ${VAR} references are kept and resolved from the agent's
    environment at deploy time, $$ is a literal $; a bare KEY passes the agent's value of KEY."""
    secret_env: list[str] = Field(default_factory=empty_list)
    """Names of env entries that carry secrets: redacted in logs, status and listings."""
    working_dir: str | None = None
    """Working directory; null: the image's."""
    user: str | None = None
    """USER[:GROUP] as names or numbers; null: the image's."""
    group_add: list[str] = Field(default_factory=empty_list)
    """Supplementary groups."""
    volumes: Volumes = Field(default_factory=empty_list)
    """Bind mounts and named volumes; short form "/host:/ctr[:ro]" or "name:/ctr"."""
    tmpfs: Tmpfs = Field(default_factory=empty_list)
    """Memory-backed mounts; short form "/run:size=64m,mode=1777"."""
    files: list[FileMount] = Field(default_factory=empty_list)
    """Single files (secrets, configs, ConfigMap keys)."""
    ports: Ports = Field(default_factory=empty_list)
    """Ports; short forms "8080:80", "127.0.0.1:8080:80/udp", "9000-9001:9000-9001" or 80."""
    network: NetworkConfig = Field(default_factory=defaults_of(NetworkConfig))
    """Network mode, DNS and named networks."""
    resources: Resources = Field(default_factory=defaults_of(Resources))
    """Memory, CPU, pids, devices and ulimits."""
    security: Security = Field(default_factory=defaults_of(Security))
    """Privileges: docker's default capabilities, no-new-privileges and seccomp unless changed."""
    restart: Annotated[RestartPolicy, also_accepts(RestartPolicy | str | bool)] = Field(
        default_factory=defaults_of(RestartPolicy)
    )
    """Restart policy; short form "always" or "on-failure:3"."""
    healthcheck: Annotated[Probe, also_accepts(Probe | str | list[str])] | None = None
    """Liveness check (compose healthcheck, Kubernetes livenessProbe)."""
    readiness: Annotated[Probe, also_accepts(Probe | str | list[str])] | None = None
    """Readiness check (Kubernetes readinessProbe): ready for traffic."""
    startup: Annotated[Probe, also_accepts(Probe | str | list[str])] | None = None
    """Startup check (Kubernetes startupProbe): other checks wait until it passes."""
    depends_on: Annotated[
        list[Dependency],
        BeforeValidator(
            _dependencies, json_schema_input_type=list[Dependency | str] | dict[str, dict[str, Any] | None]
        ),
    ] = Field(default_factory=empty_list)
    """Specs to start first; short form: a list of names."""
    labels: Labels = Field(default_factory=empty_dict)
    """Labels; a list of "key=value" is accepted."""
    stop_signal: Annotated[str, BeforeValidator(parse_signal)] | None = None
    """Signal that asks the container to stop; null: the image's, or SIGTERM."""
    stop_grace_period: Seconds | None = None
    """Seconds between the stop signal and SIGKILL; null: 10."""
    group: str | None = Field(default=None, pattern=NAME_PATTERN)
    """Pod group: specs of one group share a network namespace (a Kubernetes Pod)."""
    role: Literal["service", "init", "job"] = "service"
    """service: kept running; init: runs to completion before the group's services; job: runs once."""
    replicas: int = Field(default=1, ge=0)
    """How many copies to run."""
    tty: bool = False
    """Allocate a terminal."""
    stdin_open: bool = False
    """Keep stdin open."""
    init: bool = False
    """Run a minimal init as PID 1 that reaps zombies and forwards signals."""
    pull_policy: Literal["always", "missing", "never"] = "missing"
    """always: pull on every deploy; missing: only when absent; never: use the local store only."""

    def argv(self, image_entrypoint: list[str] | None, image_cmd: list[str] | None) -> list[str]:
        """The process to run, by docker's rule: an entrypoint set here drops the image's CMD."""
        if self.entrypoint is not None:
            return [*self.entrypoint, *(self.cmd or [])]
        cmd = self.cmd if self.cmd is not None else (image_cmd or [])
        return [*(image_entrypoint or []), *cmd]

    @model_validator(mode="after")
    def _rules(self) -> "ContainerConfig":
        if self.network.ports:
            self.ports = [*self.ports, *(p for p in self.network.ports if p not in self.ports)]
            self.network.ports = []
        mode = self.network.mode
        published = [p for p in self.ports if p.host is not None]
        if mode in ("host", "none") or mode.startswith("container:"):
            if published:
                raise mutually_exclusive(f"network.mode={mode}", "published ports")
            if self.network.networks:
                raise mutually_exclusive(f"network.mode={mode}", "network.networks")
        for kind in ("readiness", "startup"):
            probe = getattr(self, kind)
            if probe is not None and probe.inherits_action:
                raise ValueError(
                    f"{kind} needs one of exec, http_get or tcp_socket (images define no {kind} check)"
                )
        if self.group is not None and mode != "bridge":
            raise mutually_exclusive("group", f"network.mode={mode}")
        unknown = [n for n in self.secret_env if n not in {e.split("=", 1)[0] for e in self.env}]
        if unknown:
            raise ValueError(f"secret_env names variables not in env: {', '.join(unknown)}")
        return self


class Origin(SpecModel):
    """The object a spec was translated from, so that the CLI and the agent can tell specs apart.

    Kubernetes-derived specs are named ``<namespace>.<name>`` outside the default namespace, so two
    objects of one name in two namespaces never share a store entry; this records the original.
    """

    kind: str
    """Kind of the source object: Deployment, Pod, ..., or ContainerDeployment."""
    namespace: str | None = None
    """Its namespace (Kubernetes); null where the input has none."""
    name: str
    """Its own name (metadata.name), before the namespace is prefixed."""
    uid: str | None = None
    """Its metadata.uid where known (objects read from an API server); null in files."""


def namespaced(namespace: str | None, name: str) -> str:
    """The store name of a Kubernetes-derived spec: ``<namespace>.<name>``, short in ``default``."""
    return name if namespace in (None, "", "default") else f"{namespace}.{name}"


class DeploymentSpec(SpecModel):
    """One deployment: a named container from an image, applied atomically by the agent."""

    name: str = Field(pattern=NAME_PATTERN)
    """Deployment name: letters, digits, '_', '.', '-'; it names the store directory."""
    image: str = Field(min_length=1)
    """Image reference (registry/repo:tag or @sha256:digest), or a path for oci/archive transports."""
    transport: Transport = "docker"
    """docker (a registry), oci (an OCI layout directory), oci-archive or docker-archive (tarballs)."""
    config: ContainerConfig = Field(default_factory=defaults_of(ContainerConfig))
    """How to run it."""
    origin: Origin | None = None
    """Where the spec came from (kind, namespace, name, uid), set by the translators; null: written as
    a native spec."""

    @model_validator(mode="before")
    @classmethod
    def _transport_prefix(cls, value: Any) -> Any:
        if isinstance(value, dict) and isinstance(value.get("image"), str):
            m = _TRANSPORT_PREFIX.match(value["image"])
            if m:
                prefix = m.group(1)
                transport = prefix.rstrip(":/").rstrip(":")
                given = value.get("transport")
                if given is not None and given != transport:
                    raise ValueError(f"image names transport {transport!r} but transport is {given!r}")
                value = {**value, "transport": transport, "image": value["image"][len(prefix) :]}
        return value

    @field_validator("image")
    @classmethod
    def _no_space(cls, value: str) -> str:
        if any(c.isspace() for c in value):
            raise ValueError(f"an image reference has no spaces, got {value!r}")
        return value

    @model_validator(mode="after")
    def _reference(self) -> "DeploymentSpec":
        if self.transport == "docker" and not _REFERENCE.match(self.image):
            raise ValueError(
                f"invalid image reference {self.image!r}: expected "
                "[registry/]repository[:tag][@sha256:digest]"
                " with a lowercase repository"
            )
        return self


class ConfigFragment(SpecModel):
    """A configuration without name and image (the product document's fragments, ``{"config": ...}``):
    what ``berth container deploy --config FILE`` takes, the name and image coming from the command line."""

    transport: Transport | None = None
    """Transport of the image given on the command line; null: from the image string, else docker."""
    config: ContainerConfig = Field(default_factory=defaults_of(ContainerConfig))
    """How to run the image."""

    def spec(self, name: str, image: str) -> DeploymentSpec:
        """The complete spec once the command line names the deployment and its image."""
        data: dict[str, Any] = {"name": name, "image": image, "config": self.config}
        if self.transport is not None:
            data["transport"] = self.transport
        return DeploymentSpec.model_validate(data)
