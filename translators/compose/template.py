"""Variable substitution in one string, as the Compose Specification defines it.

``$VAR``, ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``, ``${VAR:?error}``, ``${VAR?error}``,
``${VAR:+alternative}``, ``${VAR+alternative}``; defaults nest (``${A:-${B:-x}}``) and ``$$`` is a
literal dollar. A ``$`` followed by anything else stays as it is, as compose-go's pattern does. The
caller chooses what an unset plain variable means (compose: a warning and a blank string), so the
same engine serves compose files and ``.env`` files. Defaults nest at most :data:`MAX_NESTING`
levels: substitution recurses once per level, and 500 levels exhausted Python's stack.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = (":-", ":?", ":+", "-", "?", "+")
MAX_NESTING = 50

Lookup = Callable[[str], "str | None"]
OnUnset = Callable[[str], None]


class TemplateError(ValueError):
    """A template that cannot be substituted: malformed, or a required variable is missing."""


def _closing_brace(text: str, start: int) -> int:
    """Index of the ``}`` closing the ``${`` whose body starts at ``start``.

    Every ``{`` nests, as in compose-go: ``${A:-{x}}`` has the default ``{x}``.
    """
    depth = 1
    i = start
    while i < len(text):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _braced(body: str, lookup: Lookup, on_unset: OnUnset, depth: int) -> str:
    if depth > MAX_NESTING:
        raise TemplateError(f"variables nested more than {MAX_NESTING} levels deep")
    m = _NAME.match(body)
    if not m:
        raise TemplateError(f"Invalid template: ${{{body}}}")
    name, rest = m.group(0), body[m.end() :]
    if not rest:
        value = lookup(name)
        if value is None:
            on_unset(name)
            return ""
        return value
    op = next((o for o in _OPERATORS if rest.startswith(o)), None)
    if op is None:
        raise TemplateError(f"Invalid template: ${{{body}}}")
    word = rest[len(op) :]
    value = lookup(name)
    colon = op.startswith(":")
    missing = value is None or (colon and value == "")
    kind = op[-1]
    if kind == "-":
        return _substitute(word, lookup, on_unset, depth) if missing else str(value)
    if kind == "+":
        return "" if missing else _substitute(word, lookup, on_unset, depth)
    if missing:  # "?"
        message = _substitute(word, lookup, on_unset, depth)
        raise TemplateError(
            f"required variable {name} is missing a value" + (f": {message}" if message else "")
        )
    return str(value)


def substitute(text: str, lookup: Lookup, on_unset: OnUnset) -> str:
    """``text`` with every variable reference replaced; raises :class:`TemplateError`."""
    return _substitute(text, lookup, on_unset, 0)


def _substitute(text: str, lookup: Lookup, on_unset: OnUnset, depth: int) -> str:
    if "$" not in text:
        return text
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        j = text.find("$", i)
        if j < 0 or j == n - 1:
            out.append(text[i:])
            break
        out.append(text[i:j])
        nxt = text[j + 1]
        if nxt == "$":
            out.append("$")
            i = j + 2
        elif nxt == "{":
            end = _closing_brace(text, j + 2)
            if end < 0:
                raise TemplateError(f"Invalid template: {text!r}")
            out.append(_braced(text[j + 2 : end], lookup, on_unset, depth + 1))
            i = end + 1
        else:
            m = _NAME.match(text, j + 1)
            if m:
                value = lookup(m.group(0))
                if value is None:
                    on_unset(m.group(0))
                    value = ""
                out.append(value)
                i = m.end()
            else:
                out.append("$")
                i = j + 1
    return "".join(out)
