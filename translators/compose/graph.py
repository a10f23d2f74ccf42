"""Dependency order of services: cycles found, then a stable topological order.

Cycles are reported the way compose-go does (``dependency cycle detected: a -> b -> a``), starting
from the first service by name; the order lists dependencies first and breaks ties by name, so the
output is deterministic.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence


def find_cycle(deps: Mapping[str, Sequence[str]]) -> list[str] | None:
    """One cycle as ``[a, b, ..., a]``, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(deps.get(node, ())):
            if nxt not in deps:
                continue
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(deps):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def order(deps: Mapping[str, Sequence[str]]) -> list[str]:
    """Nodes with their dependencies first, ties broken by name (Kahn's algorithm with a heap)."""
    waiting = {n: {d for d in ds if d in deps and d != n} for n, ds in deps.items()}
    users: dict[str, list[str]] = {n: [] for n in deps}
    for n, ds in waiting.items():
        for d in ds:
            users[d].append(n)
    ready = [n for n, ds in waiting.items() if not ds]
    heapq.heapify(ready)
    out: list[str] = []
    while ready:
        n = heapq.heappop(ready)
        out.append(n)
        for u in users[n]:
            waiting[u].discard(n)
            if not waiting[u]:
                heapq.heappush(ready, u)
    out.extend(sorted(n for n in deps if n not in out))
    return out
