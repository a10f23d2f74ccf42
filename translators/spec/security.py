"""Privileges of a container. The defaults are docker's least-privilege defaults.

Capabilities are relative to docker's default set (:data:`DEFAULT_CAPABILITIES`): ``add`` grants
more, ``drop`` removes some (``ALL`` removes every one). ``no_new_privileges`` is on unless turned
off, and the default seccomp profile applies unless ``unconfined``.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator

from translators.spec.base import SpecModel, also_accepts, key_values

DEFAULT_CAPABILITIES = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
)  # fmt: skip


def normalise_capability(name: str) -> str:
    """``net_admin``, ``NET_ADMIN`` and ``CAP_NET_ADMIN`` are all ``CAP_NET_ADMIN``; ``ALL`` stays."""
    upper = name.strip().upper()
    if upper == "ALL":
        return upper
    return upper if upper.startswith("CAP_") else "CAP_" + upper


class Capabilities(SpecModel):
    """Changes to docker's default capability set. A list is the short form of ``add``."""

    add: list[str] = Field(default_factory=list)
    """Capabilities to grant beyond the default set (NET_ADMIN, CAP_SYS_TIME, ALL)."""
    drop: list[str] = Field(default_factory=list)
    """Capabilities to remove from the default set (ALL removes every one)."""

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value: Any) -> Any:
        return {"add": value} if isinstance(value, list) else value

    @field_validator("add", "drop")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        return sorted(dict.fromkeys(normalise_capability(v) for v in value))

    def effective(self) -> list[str]:
        """The capability set the container gets."""
        base = set() if "ALL" in self.drop else set(DEFAULT_CAPABILITIES) - set(self.drop)
        if "ALL" in self.add:
            return ["ALL"]
        return sorted(base | set(self.add))


class Security(SpecModel):
    """Least privilege by default."""

    readonly: bool = False
    """Mount the root filesystem read-only."""
    no_new_privileges: bool = True
    """Forbid gaining privileges through setuid binaries (on by default)."""
    privileged: bool = False
    """Give the container every capability and access to all devices. Avoid."""
    capabilities: Annotated[Capabilities, also_accepts(Capabilities | list[str])] = Field(
        default_factory=Capabilities
    )
    """Changes to the default capability set."""
    seccomp: str = "default"
    """default (docker's profile), unconfined, or the path of a profile in JSON."""
    apparmor: str | None = None
    """AppArmor profile name; reported as not enforceable on hosts without AppArmor."""
    selinux_options: list[str] = Field(default_factory=list)
    """SELinux label options such as type:spc_t or level:s0:c100,c200."""
    sysctls: dict[str, str] = Field(default_factory=dict)
    """Namespaced kernel parameters."""
    masked_paths: list[str] | None = None
    """Override of the paths hidden from the container; null: the runtime's defaults."""

    @field_validator("sysctls", mode="before")
    @classmethod
    def _sysctls(cls, value: Any) -> Any:
        if isinstance(value, list):
            return key_values(value)
        if isinstance(value, dict):
            return {str(k): str(v) for k, v in value.items()}
        return value
