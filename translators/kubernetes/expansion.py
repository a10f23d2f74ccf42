"""``$(VAR)`` references, expanded exactly as the kubelet expands them.

The rules (Kubernetes' ``third_party/forked/golang/expansion``): ``$(NAME)`` is replaced by the
value of NAME when it is defined, and kept literally when it is not; ``$$`` is an escaped ``$``;
a ``$`` followed by anything else (``$HOME``, ``${HOME}``, ``$?``) is kept as it is; an unterminated
``$(`` is kept. Only variables defined in the container's own ``env``/``envFrom`` count, never the
image's ENV: the kubelet does not know it either.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping


def expand(text: str, lookup: Callable[[str], str | None]) -> str:
    """Expand ``$(NAME)`` references in ``text``; ``lookup`` returns None for undefined names."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char != "$" or i + 1 == n:
            out.append(char)
            i += 1
            continue
        follower = text[i + 1]
        if follower == "$":
            out.append("$")
            i += 2
        elif follower == "(":
            close = text.find(")", i + 2)
            if close == -1:
                out.append("$(")
                i += 2
                continue
            name = text[i + 2 : close]
            value = lookup(name)
            out.append(f"$({name})" if value is None else value)
            i = close + 1
        else:
            out.append("$" + follower)
            i += 2
    return "".join(out)


def references(text: str) -> list[str]:
    """The names that :func:`expand` would look up in ``text``, in order."""
    seen: list[str] = []

    def record(name: str) -> None:
        seen.append(name)

    expand(text, record)
    return seen


def expand_with(text: str, env: Mapping[str, str]) -> str:
    """Expand against a mapping of defined variables."""
    return expand(text, env.get)
