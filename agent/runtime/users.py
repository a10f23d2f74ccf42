"""The container's user: ``USER[:GROUP]`` resolved against the image's /etc/passwd and /etc/group.

The rules are runc's and docker's (``GetExecUser`` in moby/sys/user): a name must exist in the
image; a number need not (then the group is 0 and HOME is /); a user found by name or number takes
its primary group from passwd and its supplementary groups from the groups listing it as a member,
unless a group is given explicitly; ``group_add`` entries add groups by name or number (listed
first, as podman lists them). The files
are read from the image root through :mod:`agent.runtime.rootpaths`, so a hostile symlink cannot
make Berth read a host file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agent.runtime import rootpaths
from agent.runtime.configerrors import BundleError

MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class PasswdEntry:
    name: str
    uid: int
    gid: int
    home: str


@dataclass(frozen=True)
class GroupEntry:
    name: str
    gid: int
    members: tuple[str, ...]


@dataclass(frozen=True)
class ExecUser:
    """What the process runs as."""

    uid: int = 0
    gid: int = 0
    additional_gids: tuple[int, ...] = ()
    home: str = "/"
    name: str | None = None
    """The passwd name when the user was found there."""


def _number(text: str) -> int | None:
    if text.isascii() and text.isdigit():
        return int(text)
    return None


def parse_passwd(data: bytes) -> list[PasswdEntry]:
    """passwd lines; malformed ones are skipped as libc skips them."""
    out = []
    for line in data.decode("utf-8", "replace").splitlines():
        fields = line.split(":")
        if len(fields) < 4 or line.startswith(("#", "+", "-")):
            continue
        uid, gid = _number(fields[2]), _number(fields[3])
        if uid is None or gid is None:
            continue
        out.append(PasswdEntry(fields[0], uid, gid, fields[5] if len(fields) > 5 else ""))
    return out


def parse_group(data: bytes) -> list[GroupEntry]:
    out = []
    for line in data.decode("utf-8", "replace").splitlines():
        fields = line.split(":")
        if len(fields) < 3 or line.startswith(("#", "+", "-")):
            continue
        gid = _number(fields[2])
        if gid is None:
            continue
        members = tuple(m for m in (fields[3].split(",") if len(fields) > 3 else []) if m)
        out.append(GroupEntry(fields[0], gid, members))
    return out


@dataclass(frozen=True)
class Accounts:
    """The image's user and group database."""

    users: tuple[PasswdEntry, ...] = ()
    groups: tuple[GroupEntry, ...] = ()

    @classmethod
    def of_root(cls, root: Path) -> Accounts:
        passwd = rootpaths.read_file(root, "/etc/passwd")
        group = rootpaths.read_file(root, "/etc/group")
        return cls(
            tuple(parse_passwd(passwd)) if passwd is not None else (),
            tuple(parse_group(group)) if group is not None else (),
        )

    def group_id(self, text: str, *, what: str) -> int:
        """A group given by name or number; a name must exist in /etc/group."""
        found = next((g for g in self.groups if g.name == text), None)
        number = _number(text)
        if number is not None:
            found = next((g for g in self.groups if g.gid == number), None) or GroupEntry(text, number, ())
        if found is None:
            raise BundleError(f"{what}: no group {text!r} in the image's /etc/group")
        if found.gid > MAX_ID:
            raise BundleError(f"{what}: group id {found.gid} is out of range")
        return found.gid

    def resolve(
        self, spec: str, group_add: list[str] | tuple[str, ...] = (), *, what: str = "user"
    ) -> ExecUser:
        """``USER[:GROUP]`` (names or numbers; empty: root) and extra groups, by runc's rules."""
        user_arg, _, group_arg = spec.partition(":")
        uid_arg = _number(user_arg)
        if user_arg == "":
            match = next((u for u in self.users if u.uid == 0), None)
        elif uid_arg is not None:
            match = next((u for u in self.users if u.uid == uid_arg), None)
        else:
            match = next((u for u in self.users if u.name == user_arg), None)
        uid, gid, home, name = 0, 0, "/", None
        if match is not None:
            uid, gid, home, name = match.uid, match.gid, match.home or "/", match.name
        elif uid_arg is not None:
            uid = uid_arg
        elif user_arg:
            raise BundleError(f"{what} {spec!r}: no user {user_arg!r} in the image's /etc/passwd")
        if uid > MAX_ID:
            raise BundleError(f"{what} {spec!r}: user id {uid} is out of range")
        extra = [self.group_id(text, what="group_add") for text in group_add]
        if group_arg:
            gid = self.group_id(group_arg, what=f"{what} {spec!r}")
        elif name is not None:
            extra.extend(g.gid for g in self.groups if name in g.members)
        return ExecUser(uid, gid, tuple(dict.fromkeys(extra)), home, name)
