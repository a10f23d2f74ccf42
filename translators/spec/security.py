"""Privileges of a container. The defaults are docker's least-privilege defaults.

Capabilities are relative to docker's default set (:data:`DEFAULT_CAPABILITIES`): ``add`` grants
more, ``drop`` removes some (``ALL`` removes every one). ``no_new_privileges`` is on unless turned
off, and the default seccomp profile applies unless ``unconfined``.
"""

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from translators.spec.base import (
    SpecModel,
    also_accepts,
    defaults_of,
    empty_dict,
    empty_list,
    key_values,
)

DEFAULT_CAPABILITIES = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
)  # fmt: skip


ALL_CAPABILITIES = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
    "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
)  # fmt: skip
"""Every Linux capability (capability.h, 5.9+): what ``add: [ALL]`` grants."""


def normalise_capability(name: str) -> str:
    """``net_admin``, ``NET_ADMIN`` and ``CAP_NET_ADMIN`` are all ``CAP_NET_ADMIN``; ``ALL`` stays."""
    upper = name.strip().upper()
    if upper == "ALL":
        return upper
    return upper if upper.startswith("CAP_") else "CAP_" + upper


class Capabilities(SpecModel):
    """Changes to docker's default capability set. A list is the short form of ``add``
    (``["CAP_NET_ADMIN"]``: that capability on top of the default set, prefix optional)."""

    add: list[str] = Field(default_factory=empty_list)
    """Capabilities to grant beyond the default set (NET_ADMIN, CAP_SYS_TIME, ALL)."""
    drop: list[str] = Field(default_factory=empty_list)
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
        """The capability set the container gets: drops apply after adds, even after add ALL (moby)."""
        added = set(ALL_CAPABILITIES) if "ALL" in self.add else set(self.add)
        base = set() if "ALL" in self.drop else set(DEFAULT_CAPABILITIES)
        dropped = set(ALL_CAPABILITIES) if "ALL" in self.drop else set(self.drop)
        if "ALL" in self.drop:
            return sorted(added - {"ALL"})
        return sorted((base | added) - dropped)


class Verify(SpecModel):
    """A signature this deployment's image must carry, on top of the host's trust policy."""

    key: str
    """Path of the public key on the host: an OpenPGP key (armored or binary) or a cosign PEM key."""
    type: Literal["gpg", "cosign"] = "gpg"
    """gpg: simple signing (skopeo/podman --sign-by, lookaside from registries.d); cosign: a
    ``cosign sign --key`` signature stored in the registry."""


class Security(SpecModel):
    """Least privilege by default."""

    readonly: bool = False
    """Mount the root filesystem read-only."""
    no_new_privileges: bool = True
    """Forbid gaining privileges through setuid binaries (on by default)."""
    privileged: bool = False
    """Give the container every capability and access to all devices. Avoid."""
    capabilities: Annotated[Capabilities, also_accepts(Capabilities | list[str])] = Field(
        default_factory=defaults_of(Capabilities)
    )
    """Changes to the default capability set."""
    seccomp: str = "default"
    """default (docker's profile), unconfined, or the absolute path of a profile in JSON on the host
    (/etc/containers/seccomp.json, the product document's form)."""
    apparmor: str | None = None
    """AppArmor profile: a name loaded on the host (""/null: the runtime's default), or the absolute
    path of a profile file on the host (/etc/containers/apparmor.json, the product document's form),
    loaded under its own name. Not enforceable on hosts without AppArmor (reported)."""
    selinux_options: list[str] = Field(default_factory=empty_list)
    """SELinux label options such as type:spc_t or level:s0:c100,c200."""
    sysctls: dict[str, str] = Field(default_factory=empty_dict)
    """Namespaced kernel parameters."""
    masked_paths: list[str] | None = None
    """Override of the paths hidden from the container; null: the runtime's defaults."""
    verify: Verify | None = None
    """Refuse the image unless it is signed with this key (checked before anything is stored)."""

    @field_validator("sysctls", mode="before")
    @classmethod
    def _sysctls(cls, value: Any) -> Any:
        if isinstance(value, list):
            return key_values(value)
        if isinstance(value, dict):
            return {str(k): str(v) for k, v in value.items()}
        return value
