"""netavark's port forwarding rules as iptables shows them: finding and removing stale ones.

netavark (1.4, iptables backend) forwards a published host port with a jump in the nat table's
``NETAVARK-HOSTPORT-DNAT`` chain, ``-p tcp -m tcp --dport 8080 -m comment --comment "dnat name:
NET id: CONTAINER_ID" -j NETAVARK-DN-XXXX``, and the DNAT itself (and a SETMARK for hairpin
traffic) in that per-network ``NETAVARK-DN-XXXX`` chain, matched by the same port. Only
``netavark teardown`` removes them; when a Berth store directory is deleted while its containers
run, nothing ever tears them down, and the stale DNAT keeps answering the port before any newer
rule. Berth's host-port registry remembers such a container's id, so a new publish of the port
is refused while the rule is there (:func:`forwarded`), and ``berth network prune`` removes the
rules (:func:`remove`).
"""

from __future__ import annotations

import re
import shlex
import subprocess
from dataclasses import dataclass

CHAIN = "NETAVARK-HOSTPORT-DNAT"
TOOLS = ("iptables", "ip6tables")
_JUMP = re.compile(r'id: (?P<id>[0-9a-f]{64})"?')


@dataclass(frozen=True)
class Rule:
    """One rule of the nat table, as ``iptables -S`` prints it (``-A CHAIN ...``)."""

    tool: str
    text: str

    @property
    def words(self) -> list[str]:
        return shlex.split(self.text)

    def option(self, name: str) -> str | None:
        words = self.words
        return words[words.index(name) + 1] if name in words and words.index(name) + 1 < len(words) else None

    def matches(self, port: int, protocol: str) -> bool:
        """The rule is for ``port`` (alone or in its range) and ``protocol``."""
        if self.option("-p") != protocol:
            return False
        dport = self.option("--dport") or self.option("--dports")
        if dport is None:
            return False
        for part in dport.split(","):
            low, _, high = part.partition(":")
            if low.isdigit() and int(low) <= port <= int(high or low):
                return True
        return False

    @property
    def container(self) -> str | None:
        found = _JUMP.search(self.text)
        return found.group("id") if found else None


def _rules(tool: str, chain: str) -> list[Rule]:
    try:
        done = subprocess.run(
            [tool, "-w", "-t", "nat", "-S", chain], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    if done.returncode != 0:
        return []  # no such chain: netavark never published a port here
    return [Rule(tool, line) for line in done.stdout.splitlines() if line.startswith("-A ")]


def jumps(container: str) -> list[Rule]:
    """The jumps netavark made for ``container`` (its id) in the host-port chain, IPv4 and IPv6."""
    return [r for tool in TOOLS for r in _rules(tool, CHAIN) if r.container == container]


def forwarded(container: str, port: int, protocol: str) -> bool:
    """Whether netavark still forwards ``port`` to ``container``."""
    return any(r.matches(port, protocol) for r in jumps(container))


def remove(container: str, ports: list[tuple[int, str]]) -> list[str]:
    """Delete ``container``'s jumps and, in the chains they lead to, the DNAT and SETMARK rules of
    its ``ports`` (nothing else can hold those: the registry gives a host port to one container).
    Returns the rules removed, as iptables printed them."""
    removed = []
    for jump in jumps(container):
        target = jump.option("-j")
        mine = [(p, proto) for p, proto in ports if jump.matches(p, proto)]
        doomed = [jump]
        if target and target.startswith("NETAVARK-DN-"):
            doomed += [r for r in _rules(jump.tool, target) if any(r.matches(p, proto) for p, proto in mine)]
        for rule in doomed:
            words = rule.words
            args = [rule.tool, "-w", "-t", "nat", "-D", *words[1:]]
            if subprocess.run(args, capture_output=True, timeout=30, check=False).returncode == 0:
                removed.append(rule.text)
    return removed
