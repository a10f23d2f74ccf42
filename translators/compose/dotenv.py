"""``.env`` and ``env_file`` parsing, compatible with compose-go's dotenv package.

Supported: ``KEY=VALUE``, ``KEY: VALUE``, ``export KEY=VALUE``, comment lines, inline comments
(a space then ``#`` in an unquoted value; ``A=#x`` is the value ``#x``), single quotes (literal,
``\\'`` escapes a quote), double quotes (``\\n``, ``\\t``, ``\\"`` escapes; may span lines),
``${VAR}`` expansion in unquoted and double-quoted values (from the lookup first, then earlier
keys of the file), and a bare ``KEY`` that takes the lookup's value or is left out. Keys may
contain letters, digits, ``_ . - [ ]``. Checked against the oracle by a differential test.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from translators.compose import template

Lookup = Callable[[str], "str | None"]


def chained(*maps: Mapping[str, str]) -> Lookup:
    """A lookup in several mappings, the first that has the key wins."""

    def lookup(key: str) -> str | None:
        for m in maps:
            if key in m:
                return m[key]
        return None

    return lookup


class DotenvError(ValueError):
    """A line that is not ``KEY=VALUE``; the message starts with ``line N:``."""


_KEY_CHARS = set("_.-[]")


def _split_key(src: str, line: int) -> tuple[str, str, bool]:
    """The key, the text after the separator, and whether the line had no value (inherited)."""
    for i, ch in enumerate(src):
        if ch in "=:\n":
            key = src[:i].rstrip()
            if " " in key or "\t" in key:
                raise DotenvError(f"line {line}: key cannot contain a space")
            return key, src[i + 1 :].lstrip(" \t"), ch == "\n"
        if ch in " \t" or ch in _KEY_CHARS or ch.isalnum():
            continue
        first = src.split("\n", 1)[0]
        raise DotenvError(f"line {line}: unexpected character {ch!r} in variable name {first!r}")
    key = src.rstrip()
    if " " in key or "\t" in key:
        raise DotenvError(f"line {line}: key cannot contain a space")
    return key, "", True


def _closing_quote(src: str, quote: str) -> int:
    i = 1
    while i < len(src):
        if src[i] == "\\" and i + 1 < len(src):
            i += 2
            continue
        if src[i] == quote:
            return i
        i += 1
    return -1


def _unescape_double(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append({"n": "\n", "r": "\r", "t": "\t", "$": "$$"}.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def parse(text: str, lookup: Lookup, on_unset: Callable[[str], None] | None = None) -> dict[str, str]:
    """Parse dotenv text; ``lookup`` resolves bare keys and ``${VAR}`` (before the file's own keys)."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    values: dict[str, str] = {}

    def resolve(name: str) -> str | None:
        found = lookup(name)
        return found if found is not None else values.get(name)

    def unset(name: str) -> None:
        if on_unset is not None:
            on_unset(name)

    line = 1
    rest = text
    while rest:
        stripped = rest.lstrip(" \t")
        if stripped.startswith("\n"):
            rest = stripped[1:]
            line += 1
            continue
        if not stripped:
            break
        if stripped.startswith("#"):
            nl = stripped.find("\n")
            rest = "" if nl < 0 else stripped[nl + 1 :]
            line += 1
            continue
        if stripped.startswith("export ") or stripped.startswith("export\t"):
            stripped = stripped[7:].lstrip(" \t")
        key, after, inherited = _split_key(stripped, line)
        if not key:
            raise DotenvError(f"line {line}: zero length key")
        if inherited:
            found = lookup(key)
            if found is not None:
                values[key] = found
            rest = after if "\n" in stripped else ""
            line += 1
            continue
        if after[:1] in ("'", '"'):
            quote = after[0]
            end = _closing_quote(after, quote)
            if end < 0:
                raise DotenvError(f"line {line}: unterminated quoted value")
            raw = after[1:end]
            tail = after[end + 1 :]
            nl = tail.find("\n")
            rest = "" if nl < 0 else tail[nl + 1 :]
            line += raw.count("\n") + 1
            if quote == "'":
                value = raw.replace("\\'", "'")
            else:
                value = template.substitute(_unescape_double(raw), resolve, unset)
        else:
            nl = after.find("\n")
            raw, rest = (after, "") if nl < 0 else (after[:nl], after[nl + 1 :])
            line += 1
            comment = raw.find(" #")  # compose-go: only a space before # starts a comment
            if comment >= 0:
                raw = raw[:comment]
            value = template.substitute(raw.strip(), resolve, unset)
        values[key] = value
    return values
