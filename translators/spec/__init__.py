"""The native deployment spec: pydantic models, the single source of truth for its shape."""

from translators.spec.deployment import (
    TRANSPORTS,
    ConfigFragment,
    ContainerConfig,
    Dependency,
    DeploymentSpec,
    Origin,
    RestartPolicy,
    Transport,
)
from translators.spec.mounts import DeviceMapping, FileMount, TmpfsMount, VolumeMount
from translators.spec.network import DnsConfig, NetworkAttachment, NetworkConfig
from translators.spec.ports import PortMapping
from translators.spec.probes import HttpGetAction, Probe, TcpSocketAction
from translators.spec.resources import Resources, Ulimit
from translators.spec.security import DEFAULT_CAPABILITIES, Capabilities, Security, Verify

__all__ = [
    "DEFAULT_CAPABILITIES",
    "TRANSPORTS",
    "Capabilities",
    "ConfigFragment",
    "ContainerConfig",
    "Dependency",
    "DeploymentSpec",
    "DeviceMapping",
    "DnsConfig",
    "FileMount",
    "HttpGetAction",
    "NetworkAttachment",
    "NetworkConfig",
    "Origin",
    "PortMapping",
    "Probe",
    "Resources",
    "RestartPolicy",
    "Security",
    "TcpSocketAction",
    "TmpfsMount",
    "Transport",
    "Ulimit",
    "Verify",
    "VolumeMount",
]
