"""Networking of a container: mode, attached networks, DNS, host names."""

import re
from typing import Annotated, Any

from pydantic import ConfigDict, Field, field_validator, model_validator
from pydantic.config import JsonDict

from translators.spec.base import SpecModel, also_accepts, defaults_of, empty_list
from translators.spec.ports import Ports

_MODE = re.compile(r"^(bridge|host|none|container:[A-Za-z0-9][A-Za-z0-9_.-]*)$")


class DnsConfig(SpecModel):
    """resolv.conf of the container; a list of servers is accepted as the short form."""

    servers: list[str] = Field(default_factory=empty_list)
    """Name servers."""
    search: list[str] = Field(default_factory=empty_list)
    """Search domains."""
    options: list[str] = Field(default_factory=empty_list)
    """resolv.conf options such as ndots:2."""

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"servers": [value]}
        if isinstance(value, list):
            return {"servers": value}
        return value


class NetworkAttachment(SpecModel):
    """Membership of a named network (compose ``networks:``)."""

    name: str
    """Network name, as the project declares it."""
    aliases: list[str] = Field(default_factory=empty_list)
    """Extra DNS names of this container on that network."""
    ipv4_address: str | None = None
    """Fixed IPv4 address."""
    ipv6_address: str | None = None
    """Fixed IPv6 address."""


_NETWORKS_NEED_BRIDGE: JsonDict = {
    "rule": "!has(self.networks) || size(self.networks) == 0 || !has(self.mode) || self.mode == 'bridge'",
    "message": "network.networks needs network.mode bridge",
}
"""The models' rule, also checked by the API server (CEL) for a ContainerDeployment."""


class NetworkConfig(SpecModel):
    """How the container is connected."""

    model_config = ConfigDict(
        **SpecModel.model_config, json_schema_extra={"x-kubernetes-validations": [_NETWORKS_NEED_BRIDGE]}
    )

    mode: str = "bridge"
    """bridge (own namespace on the Berth bridge), host, none, or container:NAME to share another's."""
    ports: Ports = Field(default_factory=empty_list, exclude=True)
    """Accepted here as well as in config.ports, where it is moved; the canonical place is config.ports."""
    dns: Annotated[DnsConfig, also_accepts(DnsConfig | list[str] | str)] = Field(
        default_factory=defaults_of(DnsConfig)
    )
    """DNS settings; a list is taken as the servers."""
    hostname: str | None = None
    """Host name inside the container."""
    domainname: str | None = None
    """NIS domain name inside the container."""
    extra_hosts: list[str] = Field(default_factory=empty_list)
    """Extra /etc/hosts entries, canonical "NAME:IP"."""
    networks: list[NetworkAttachment] = Field(default_factory=empty_list)
    """Named networks to attach (bridge mode); empty: the default network."""

    @field_validator("mode")
    @classmethod
    def _mode(cls, value: str) -> str:
        if not _MODE.match(value):
            raise ValueError(f"expected bridge, host, none or container:NAME, got {value!r}")
        return value

    @field_validator("extra_hosts", mode="before")
    @classmethod
    def _hosts(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return [f"{k}:{v}" for k, v in value.items()]
        if isinstance(value, list):
            return [v.replace("=", ":", 1) if isinstance(v, str) and "=" in v else v for v in value]
        return value

    @field_validator("networks", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"name": v} if isinstance(v, str) else v for v in value]
        return value
