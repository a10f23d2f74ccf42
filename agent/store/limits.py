"""How much a layer may ask of the store: path length, depth, entries and uncompressed size.

Every limit has an environment variable to change it (read when a layer is opened, so the agent
and the CLI obey the same settings). The defaults are far above what real images need and far
below what breaks the host:

- ``BERTH_MAX_PATH_BYTES`` (3,840): an entry's path inside the layer. Berth builds and walks trees
  with absolute paths, and the kernel refuses any path longer than ``PATH_MAX`` (4,096 bytes with
  its NUL); the store root and Berth's own prefix (``trash/<digest>.<tag>/diff/``, at most
  :data:`PREFIX_RESERVE` bytes) must fit too, so the limit is lowered further under a long root.
  Every name is also at most ``NAME_MAX`` (255 bytes), as the kernel requires.
- ``BERTH_MAX_DEPTH`` (1,024): directory levels of an entry. No image we know of goes past a few
  dozen; every walk of the store is iterative, so this bounds work, not Python's recursion.
- ``BERTH_MAX_LAYER_ENTRIES`` (1,000,000): tar entries in one layer (the largest public layers
  hold a few hundred thousand files); the unpacker keeps a few hundred bytes per entry.
- ``BERTH_MAX_LAYER_RATIO`` (100) and ``BERTH_MAX_LAYER_BYTES`` (64 GiB): a compressed layer may
  inflate to 100 times its compressed size (at least :data:`MIN_ALLOWANCE`, 64 MiB, so a small
  layer holding one zero-filled file still unpacks), and no layer to more than 64 GiB. Real layers
  compress 2 to 10 times; gzip cannot exceed about 1,032 times, so beyond 100 a layer is almost
  only zeros. A 1 MB layer inflating to 1 GiB (a decompression bomb) stops at 100 MB.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from translators.errors import BerthError

PATH_MAX = 4096
NAME_MAX = 255
PREFIX_RESERVE = 100
"""Bytes of the longest store path before a layer's own path (``/trash/<64 hex>.<8 hex>/diff/``)."""
MIN_ALLOWANCE = 64 << 20

_ENV = {
    "max_path": "BERTH_MAX_PATH_BYTES",
    "max_depth": "BERTH_MAX_DEPTH",
    "max_entries": "BERTH_MAX_LAYER_ENTRIES",
    "max_ratio": "BERTH_MAX_LAYER_RATIO",
    "max_bytes": "BERTH_MAX_LAYER_BYTES",
}


class LimitSettingError(BerthError):
    """A limit variable is not a positive integer."""


@dataclass(frozen=True)
class Limits:
    """The limits in force for one operation."""

    max_path: int = 3840
    max_depth: int = 1024
    max_entries: int = 1_000_000
    max_ratio: int = 100
    max_bytes: int = 64 << 30

    @classmethod
    def from_env(cls) -> Limits:
        values: dict[str, int] = {}
        for attr, var in _ENV.items():
            text = os.environ.get(var)
            if not text:
                continue
            try:
                value = int(text)
            except ValueError:
                value = 0
            if value <= 0:
                raise LimitSettingError(f"{var} must be a positive integer, got {text!r}")
            values[attr] = value
        return cls(**values)

    def path_limit(self, root: str) -> int:
        """Longest path (bytes) of an entry under store ``root``: the setting or the kernel's room."""
        room = PATH_MAX - 1 - len(os.fsencode(os.path.abspath(root))) - PREFIX_RESERVE
        return max(0, min(self.max_path, room))

    def layer_bytes(self, compressed: int, compression: str) -> int:
        """Uncompressed bytes allowed for a layer blob of ``compressed`` bytes."""
        if compression == "none":
            return min(self.max_bytes, compressed)
        return min(self.max_bytes, max(MIN_ALLOWANCE, compressed * self.max_ratio))
