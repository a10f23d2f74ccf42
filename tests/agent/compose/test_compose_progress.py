"""``berth compose --progress``: on a terminal (a real pty) the ``[+] Running 2/2`` block redrawn in
place, with pull bytes per image; plain lines off a terminal; nothing with ``quiet``."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

from agent.compose import progress
from tests.agent.compose.conftest import IMAGE, REPO, Host
from tests.agent.registry.conftest import plain_registry, test_images  # noqa: F401 - fixtures
from tests.support import registry as registry_mod

PROJECT = """
name: {project}
services:
  db:
    image: {image}
    command: httpd -f -p 5432 -h /
    stop_signal: SIGKILL
  web:
    image: {image}
    command: httpd -f -p 80 -h /
    stop_signal: SIGKILL
    depends_on: [db]
"""
COLUMNS = 100


def _on_pty(host: Host, *args: str) -> tuple[int, str]:
    """Run berth with stdout and stderr on a pty of COLUMNS columns: (exit code, raw output)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, COLUMNS, 0, 0))
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "BERTH_ROOT": str(host.root),
        "BERTH_RUN_ROOT": str(host.run_root),
        "TERM": "xterm",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent", *args],
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=host.base,
    )
    os.close(slave)
    chunks = []
    try:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the pty
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
        code = proc.wait(timeout=240)
    return code, b"".join(chunks).decode()


def _screen(raw: str) -> list[str]:
    """What a terminal shows after ``raw``: cursor up, carriage return, erase line and newlines
    interpreted (the pty turns each \\n into \\r\\n)."""
    rows: list[str] = [""]
    row = col = 0
    for token in re.findall(r"\x1b\[(\d*)([A-Za-z])|(\r)|(\n)|([^\x1b\r\n]+)", raw):
        count, command, cr, nl, text = token
        if command == "A":
            row = max(0, row - int(count or 1))
        elif command == "K":
            rows[row] = ""
        elif cr:
            col = 0
        elif nl:
            row += 1
            if row == len(rows):
                rows.append("")
        elif text:
            line = rows[row].ljust(col)
            rows[row] = line[:col] + text + line[col + len(text) :]
            col += len(text)
    return [r.rstrip() for r in rows if r.strip()]


def test_tty_block_redrawn_in_place(host: Host) -> None:
    p = host.project
    f = str(host.write("compose.yaml", PROJECT.format(project=p, image=IMAGE)))
    code, raw = _on_pty(host, "compose", "-f", f, "up", "-d")
    assert code == 0, raw
    screen = _screen(raw)
    assert screen[0] == "[+] Running 3/3", screen
    body = screen[1:]
    idents = [f"Network {p}_default", f"Container {p}-db-1", f"Container {p}-web-1"]
    width = max(len(i) for i in idents)
    assert [re.sub(r"\s+\d+\.\ds$", "", line) for line in body] == [
        f" ✔ {idents[0].ljust(width)}  Created",
        f" ✔ {idents[1].ljust(width)}  Started",
        f" ✔ {idents[2].ljust(width)}  Started",
    ]
    for line in body:
        assert len(line) == COLUMNS - 1 and re.search(r" \d+\.\ds$", line), line  # timer at the right
    # the block was drawn over itself: in-progress frames with a spinner came first
    assert "\x1b[" in raw and "A" in raw
    assert re.search(rf"[{progress.SPINNER}] Container {p}-db-1 +Creating", raw)
    assert raw.count("[+] Running") > 1

    # a no-op up shows the containers as running; down is its own block
    code, raw = _on_pty(host, "compose", "-f", f, "up", "-d")
    assert code == 0, raw
    assert _screen(raw)[0] == "[+] Running 2/2"
    assert all("Running" in line for line in _screen(raw)[1:])
    code, raw = _on_pty(host, "compose", "-f", f, "down")
    assert code == 0, raw
    screen = _screen(raw)
    assert screen[0] == "[+] Running 3/3"
    assert {re.sub(r"\s+\d+\.\ds$", "", line).split("  ")[-1].strip() for line in screen[1:]} == {"Removed"}


def test_plain_auto_and_quiet_off_a_terminal(host: Host) -> None:
    p = host.project
    f = str(host.write("compose.yaml", PROJECT.format(project=p, image=IMAGE)))
    up = host.berth("compose", "-f", f, "up", "-d")  # auto, stderr a pipe: plain lines
    assert up.returncode == 0, up.stderr
    assert up.stderr.splitlines() == [
        f" Network {p}_default  Creating",
        f" Network {p}_default  Created",
        f" Container {p}-db-1  Creating",
        f" Container {p}-db-1  Created",
        f" Container {p}-db-1  Started",
        f" Container {p}-web-1  Creating",
        f" Container {p}-web-1  Created",
        f" Container {p}-web-1  Started",
    ]
    code, raw = _on_pty(host, "compose", "--progress", "plain", "-f", f, "stop")
    assert code == 0, raw
    assert raw.split("\r\n") == [  # plain even on a terminal: no escape sequences
        f" Container {p}-web-1  Stopping",
        f" Container {p}-web-1  Stopped",
        f" Container {p}-db-1  Stopping",
        f" Container {p}-db-1  Stopped",
        "",
    ]
    code, raw = _on_pty(host, "compose", "--progress", "quiet", "-f", f, "down")
    assert code == 0 and raw == ""
    assert host.engine.store().list() == []


def test_pull_progress_per_image(
    host: Host,
    plain_registry: registry_mod.Registry,  # noqa: F811 - the fixture imported above
    test_images: object,  # noqa: F811
) -> None:
    p = host.project
    image = f"{plain_registry.host}/test/simple:latest"
    text = f"name: {p}\nservices:\n  a: {{image: {image}}}\n  b: {{image: {image}}}\n"
    f = str(host.write("compose.yaml", text))
    code, raw = _on_pty(host, "compose", "-f", f, "pull")
    assert code == 0, raw
    screen = _screen(raw)
    assert screen[0] == "[+] Pulling 1/1"
    assert re.fullmatch(rf" ✔ Image {re.escape(image)}  Pulled +\d+\.\ds", screen[1]), screen
    assert re.search(rf"[{progress.SPINNER}] Image {re.escape(image)}  Pulling", raw)
    assert any(i.reference == image for i in host.engine.store().images.list())


def test_display_pull_bytes_and_states(tmp_path: Path) -> None:
    """The pull sink's bytes appear on the image's line; warnings and errors get their marks."""
    with open(tmp_path / "out", "w+", newline="") as out:
        shown = progress.Display("tty", out)
        shown("Image", "x", "Pulling")
        sink = progress.PullProgress(shown, "x")
        sink.blob_started("sha256:a", 2_500_000, 0)
        sink.blob_advanced("sha256:a", 1_200_000)
        shown._draw()
        shown("Image", "y", "Resource is still in use")
        shown("Image", "z", "Error")
        shown.close()
        out.seek(0)
        screen = _screen(out.read())
    assert screen[0] == "[+] Running 2/3"
    assert re.match(r" . Image x  Pulling 1\.2MB/2\.5MB +\d", screen[1]), screen
    assert screen[2].startswith(" ! Image y  Resource is still in use")
    assert screen[3].startswith(" ✘ Image z  Error")
