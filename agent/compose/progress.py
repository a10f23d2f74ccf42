"""``--progress auto|tty|plain|quiet``: how ``berth compose`` shows what it does, as docker compose v2.

- ``plain`` (and ``auto`` off a terminal): one line per state change on stderr,
  `` Container p-web-1  Started``.
- ``tty`` (and ``auto`` on one): a block redrawn in place, a ``[+] Running 2/3`` header and one line
  per network, volume, container or image with its spinner (done ✔, failed ✘, warning !), its state
  and how long it took; an image being pulled shows the bytes received.
- ``quiet``: nothing (errors are printed by the commands themselves).

Anything else written to the terminal first calls :meth:`Display.close`, which ends the block; an
event after that opens a new one (Ctrl-C in an attached ``up`` shows its stops as a new block, as
docker compose does). Only the standard library is imported here: ``ps`` and a no-op ``up`` stay fast.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import TextIO

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
DONE, FAILED, WARNED = "✔", "✘", "!"
WARNINGS = {"Resource is still in use", "No resource found to remove"}
"""States docker compose shows as warnings, not failures."""
WORKING = {
    "Creating", "Recreate", "Starting", "Stopping", "Removing", "Restarting", "Killing", "Pulling", "Waiting",
}  # fmt: skip
"""States still in progress (spinner and running timer); ``Running`` and the rest are done."""
TICK = 0.1
"""Seconds between redraws while a line is in progress (spinner and timer)."""


def _kind(status: str) -> str:
    """working, done, error or warning: what the spinner column shows."""
    if status.startswith("Error"):
        return "error"
    if status in WARNINGS:
        return "warning"
    words = status.split()
    return "working" if words and words[0] in WORKING else "done"


@dataclass
class Line:
    """One thing in the block: ``Container p-web-1``, its status and when it started and ended."""

    ident: str
    status: str
    started: float
    ended: float | None = None
    detail: str = ""
    """Extra text after the status (bytes of a pull)."""

    @property
    def state(self) -> str:
        return _kind(self.status)


@dataclass
class Display:
    """Receives ``say(kind, name, status)`` events (:data:`agent.compose.upping.Say`)."""

    mode: str
    """tty, plain or quiet."""
    out: TextIO = field(default_factory=lambda: sys.stderr)
    title: str = "Running"
    lines: list[Line] = field(default_factory=list)
    _drawn: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ticker: threading.Thread | None = None

    def __call__(self, kind: str, name: str, status: str) -> None:
        if self.mode == "quiet":
            return
        if self.mode == "plain":
            with self._lock:
                self.out.write(f" {kind} {name}  {status}\n")
                self.out.flush()
            return
        ident = f"{kind} {name}"
        now = time.monotonic()
        with self._lock:
            line = next((x for x in self.lines if x.ident == ident), None)
            if line is None:
                line = Line(ident, status, now)
                self.lines.append(line)
            else:
                line.status, line.detail = status, ""
            if line.state == "working":
                line.ended = None
            elif line.ended is None:
                line.ended = now
            self._draw()
        self._tick()

    def detail(self, kind: str, name: str, text: str) -> None:
        """Extra text on a line in progress (``2.1MB/5.3MB`` of a pull): the terminal only."""
        if self.mode != "tty":
            return
        with self._lock:
            line = next((x for x in self.lines if x.ident == f"{kind} {name}"), None)
            if line is not None:
                line.detail = text  # drawn by the next tick: a pull reports every chunk

    def close(self) -> None:
        """End the block: what is printed next goes below it, and a new event opens a new block."""
        with self._lock:
            if self.mode == "tty" and self.lines:
                self._draw()
            self.lines = []
            self._drawn = 0

    # -- the terminal block ----------------------------------------------------------------------
    def _tick(self) -> None:
        if self._ticker is not None and self._ticker.is_alive():
            return
        self._ticker = threading.Thread(target=self._run_ticker, name="progress", daemon=True)
        self._ticker.start()

    def _run_ticker(self) -> None:
        while True:
            time.sleep(TICK)
            with self._lock:
                if not any(x.state == "working" for x in self.lines):
                    return
                try:
                    self._draw()
                except (OSError, ValueError):  # the terminal went away
                    return

    def _draw(self) -> None:
        """Redraw the block over the previous frame (caller holds the lock)."""
        width = _width(self.out)
        now = time.monotonic()
        done = sum(1 for x in self.lines if x.state != "working")
        frame = [f"[+] {self.title} {done}/{len(self.lines)}"]
        pad = max(len(x.ident) for x in self.lines)
        spin = SPINNER[int(now / TICK) % len(SPINNER)]
        for line in self.lines:
            icon = {"working": spin, "done": DONE, "error": FAILED, "warning": WARNED}[line.state]
            text = f" {icon} {line.ident.ljust(pad)}  {line.status}"
            if line.detail:
                text += f" {line.detail}"
            timer = f"{(line.ended or now) - line.started:.1f}s"
            gap = max(1, width - len(text) - len(timer) - 1)
            frame.append(text + " " * gap + timer)
        up = f"\x1b[{self._drawn}A" if self._drawn else ""
        self.out.write(up + "".join(f"\r\x1b[2K{row[: width - 1]}\n" for row in frame))
        self.out.flush()
        self._drawn = len(frame)


def _width(out: TextIO) -> int:
    try:
        return os.get_terminal_size(out.fileno()).columns or 80
    except (OSError, ValueError, AttributeError):
        return 80


def mode_for(progress: str, out: TextIO) -> str:
    """``auto`` is ``tty`` on a terminal (not a dumb one) and ``plain`` elsewhere."""
    if progress != "auto":
        return progress
    try:
        terminal = out.isatty()
    except (AttributeError, ValueError):
        terminal = False
    return "tty" if terminal and os.environ.get("TERM", "") != "dumb" else "plain"


def display(progress: str, out: TextIO | None = None, *, title: str = "Running") -> Display:
    """The display ``--progress`` asks for, writing to ``out`` (stderr)."""
    stream = out if out is not None else sys.stderr
    return Display(mode_for(progress, stream), stream, title)


def human(nbytes: float) -> str:
    """Sizes as docker prints them: 1.2MB, 532kB, 17B (powers of 1000)."""
    for unit in ("B", "kB", "MB", "GB"):
        if nbytes < 1000 or unit == "GB":
            return f"{nbytes:.0f}{unit}" if unit == "B" else f"{nbytes:.1f}{unit}"
        nbytes /= 1000
    return f"{nbytes:.1f}GB"  # pragma: no cover - the loop returns


@dataclass
class PullProgress:
    """A registry-client progress sink (:class:`agent.registry.progress.ProgressSink`) showing the
    bytes of one image's pull on its line."""

    display: Display
    image: str
    sizes: dict[str, int] = field(default_factory=dict)
    received: dict[str, int] = field(default_factory=dict)

    def _show(self) -> None:
        total = sum(self.sizes.values())
        got = sum(self.received.values())
        self.display.detail("Image", self.image, f"{human(got)}/{human(total)}")

    def blob_started(self, digest: str, size: int, offset: int) -> None:
        self.sizes[digest] = size
        self.received[digest] = offset
        self._show()

    def blob_advanced(self, digest: str, nbytes: int) -> None:
        self.received[digest] = self.received.get(digest, 0) + nbytes
        self._show()

    def blob_finished(self, digest: str, *, skipped: bool) -> None:
        if digest in self.sizes:
            self.received[digest] = self.sizes[digest]
            self._show()

    def note(self, message: str) -> None:
        pass
