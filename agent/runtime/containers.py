"""The container lifecycle: create under conmon, start, state, kill, stop, reap and delete.

One :class:`Containers` per store (its :class:`RunPaths`). A container is named by its
deployment name, which is also its runc id (names are unique within a store, and each store has
its own runc root). Its run directory holds::

    bundle/            config.json (made by the bundle generator) and rootfs/ (the overlay mount)
    state.json         the Record (statuses.Record), written atomically at each transition
    lock               flock'ed around every transition, so a stop and conmon's exit command
                       (which runs a Berth subcommand applying the restart policy) never interleave
    pid, conmon.pid    written by conmon
    exits/<name>       the exit code, written by conmon when the container ends
    persist/, sock/    conmon's persist directory and attach sockets

Nothing here is a daemon: conmon watches each container, and every call reads the truth again
from the record, the exit file, /proc and the cgroup.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import signal as signals
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from agent.runtime import cgroups, conmon, overlays, runc
from agent.runtime.errors import ContainerNotFound, ContainerStateError, RuntimeFailure
from agent.runtime.recorded import Recorded, alive, pid_start, read_int
from agent.runtime.statuses import ContainerStatus, Record, State
from agent.store import atomic

POLL = 0.01
KILL_WAIT = 10.0
"""How long to wait for a container to go after SIGKILL (the kernel needs a moment, not more)."""


def signal_number(signal: int | str) -> int:
    """15, "15", "TERM", "SIGTERM", "sigterm" -> 15; anything else is a one-line error."""
    if isinstance(signal, int):
        return signal
    text = signal.strip().upper()
    if text.isdigit():
        return int(text)
    if not text.startswith("SIG"):
        text = "SIG" + text
    try:
        return int(signals.Signals[text])
    except KeyError:
        raise RuntimeFailure(f"unknown signal {signal!r}: expected a name like SIGTERM or a number") from None


def _children(pid: int) -> list[int]:
    """Every descendant of ``pid`` (from /proc/PID/task/*/children), parents before children."""
    found: list[int] = []
    queue = [pid]
    while queue:
        parent = queue.pop(0)
        try:
            tasks = list(Path(f"/proc/{parent}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                kids = [int(k) for k in (task / "children").read_text().split()]
            except (OSError, ValueError):
                continue
            found.extend(kids)
            queue.extend(kids)
    return found


class Containers(Recorded):
    """The containers of one store: their lifecycle, on top of what their records say (:class:`Recorded`)."""

    def _save(self, record: Record) -> None:
        atomic.write_json(self._record_path(record.name), record.to_json())

    @contextlib.contextmanager
    def _locked(self, name: str, *, create: bool = False) -> Iterator[None]:
        """Hold the container's lock; the run directory may vanish (delete) while we wait for it."""
        while True:
            directory = self.dir(name)
            if create:  # private: the bundle's spec can carry secrets in its environment
                directory.parent.mkdir(parents=True, exist_ok=True)
                directory.mkdir(mode=0o700, exist_ok=True)
                os.chmod(directory, 0o700)  # also when the bundle generator made it first
            try:
                fd = os.open(directory / "lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except FileNotFoundError:
                raise ContainerNotFound(
                    f"container {name}: no such container (never created, or removed)"
                ) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                try:
                    same = os.stat(directory / "lock").st_ino == os.fstat(fd).st_ino
                except FileNotFoundError:
                    same = False
                if same:
                    yield
                    return
            finally:
                os.close(fd)
            if not create:
                raise ContainerNotFound(f"container {name}: no such container (removed meanwhile)")

    # -- lifecycle ------------------------------------------------------------------------------

    def create(
        self,
        name: str,
        bundle: Path | None = None,
        *,
        log_path: Path,
        log_size_max: int | None = None,
        exit_command: Sequence[str] | None = None,
        tty: bool = False,
        stdin: bool = False,
        timeout: float = 30.0,
        restart: bool = False,
    ) -> int:
        """Create container ``name`` from ``bundle`` (default: its run directory's bundle) under conmon.

        Returns the container's pid; the container is *created*, not yet running (see start).
        A container that exited before is reaped and created again (a restart keeps its upper).
        ``restart`` is for the restart policy (conmon's exit command, after its backoff): it only
        re-creates a container that still exists and that nobody stopped or removed meanwhile
        (ContainerStateError / ContainerNotFound otherwise), decided under the container's lock.
        """
        bundle = Path(bundle) if bundle is not None else self.paths.bundle(name)
        config = self._bundle_config(name, bundle)
        terminal = bool(config.get("process", {}).get("terminal", False))
        if terminal != tty:
            raise RuntimeFailure(
                f"container {name}: bundle {bundle} has process.terminal={str(terminal).lower()} "
                f"but the container is created with tty={str(tty).lower()}"
            )
        with self._locked(name, create=not restart):
            if restart:
                previous = self._load(name)
                if previous.stop_requested:
                    raise ContainerStateError(f"container {name}: stopped by the user, not restarted")
            if self._record_path(name).exists():
                status = self._status(self._load(name))
                if status.alive:
                    raise ContainerStateError(f"container {name}: already {status.state.value}")
                self._reap_locked(name)
            if runc.exists(self.paths.runc_root, name):  # a leftover of a crash: runc must forget it first
                runc.run(self.paths.runc_root, name, ["delete", "--force", name])
            directory = self.dir(name)
            for stale in (
                self._exit_file(name),
                directory / "pid",
                directory / "conmon.pid",
                directory / "persist" / "oom",
            ):
                stale.unlink(missing_ok=True)
            linux = config.get("linux", {})
            record = Record(
                name=name,
                bundle=str(bundle),
                cgroup_path=linux.get("cgroupsPath") or None,
                log_path=str(log_path),
                tty=tty,
                created_at=time.time(),
            )
            self._save(record)
            launch = conmon.Launch(
                name=name,
                bundle=bundle,
                runc_root=self.paths.runc_root,
                pid_file=directory / "pid",
                conmon_pid_file=directory / "conmon.pid",
                exit_dir=directory / "exits",
                socket_dir=directory / "sock",
                persist_dir=directory / "persist",
                log_path=Path(log_path),
                log_size_max=log_size_max,
                exit_command=exit_command,
                tty=tty,
                stdin=stdin,
            )
            try:
                pid = conmon.launch(launch, timeout=timeout)
            except RuntimeFailure as exc:
                record.error = str(exc)
                record.conmon_pid = read_int(directory / "conmon.pid")
                record.conmon_start = pid_start(record.conmon_pid) if record.conmon_pid else None
                record.finished_at = time.time()
                self._save(record)
                if record.cgroup_path:
                    cgroups.remove(record.cgroup_path)
                raise
            record.pid = pid
            record.pid_start = pid_start(pid)
            record.conmon_pid = read_int(directory / "conmon.pid")
            record.conmon_start = pid_start(record.conmon_pid) if record.conmon_pid else None
            self._save(record)
            return pid

    def start(self, name: str) -> ContainerStatus:
        """Run a created container (what ``runc start`` does: :func:`agent.runtime.runc.start`)."""
        with self._locked(name):
            record = self._load(name)
            status = self._status(record)
            if status.state is not State.CREATED:
                raise ContainerStateError(
                    f"container {name}: cannot start a container that is {status.state.value}"
                )
            began = time.time()  # a short process can exit before runc start returns
            try:
                runc.start(self.paths.runc_root, name, lambda: alive(record.pid, record.pid_start))
            except RuntimeFailure as exc:
                record.error = str(exc)
                self._save(record)
                raise
            record.started_at = began
            self._save(record)
            return self._status(record)

    def kill(self, name: str, signal: int | str = "SIGKILL", *, stop: bool = True) -> None:
        """Send ``signal`` to the container's init; ``stop`` marks it as stopped by the user (no restart)."""
        number = signal_number(signal)
        with self._locked(name):
            record = self._load(name)
            if not self._status(record).alive:
                raise ContainerStateError(f"container {name}: not running, nothing to signal")
            if stop and not record.stop_requested:
                record.stop_requested = True
                self._save(record)
            try:
                runc.run(self.paths.runc_root, name, ["kill", name, str(number)])
            except RuntimeFailure as exc:
                if "not running" in str(exc):  # it ended between our look and runc's
                    raise ContainerStateError(f"container {name}: not running, nothing to signal") from None
                raise

    def pause(self, name: str) -> ContainerStatus:
        """Freeze every process of the container (``runc pause``, the cgroup freezer)."""
        with self._locked(name):
            status = self._status(self._load(name))
            if status.state is not State.RUNNING:
                raise ContainerStateError(
                    f"container {name}: cannot pause a container that is {status.state.value}"
                )
            runc.run(self.paths.runc_root, name, ["pause", name])
            return self._status(self._load(name))

    def resume(self, name: str) -> ContainerStatus:
        with self._locked(name):
            status = self._status(self._load(name))
            if status.state is not State.PAUSED:
                raise ContainerStateError(
                    f"container {name}: cannot resume a container that is {status.state.value}"
                )
            runc.run(self.paths.runc_root, name, ["resume", name])
            return self._status(self._load(name))

    def wait(self, name: str, timeout: float | None = None) -> ContainerStatus:
        """Wait until the container has exited (conmon wrote its exit file); its status either way."""
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = POLL
        while True:
            record = self._load(name)
            status = self._status(record)
            if not status.alive:
                return status
            if deadline is not None and time.monotonic() >= deadline:
                return status
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def stop(self, name: str, signal: int | str = "SIGTERM", grace: float = 10.0) -> ContainerStatus:
        """Send the stop signal, SIGKILL after ``grace`` seconds, wait for the exit, then reap."""
        status = self.state(name)
        if status.alive:
            if status.state is State.PAUSED:
                runc.run(self.paths.runc_root, name, ["resume", name])
            try:
                number = signal_number(signal)
                self.kill(name, number)
                status = self.wait(name, grace)
                if status.alive and number != signals.SIGKILL:
                    self.kill(name, signals.SIGKILL)
            except ContainerStateError:
                pass  # it ended on its own between our look and the signal
            status = self.wait(name, KILL_WAIT)
            if status.alive:
                raise RuntimeFailure(
                    f"container {name}: still {status.state.value} {KILL_WAIT:g} s after SIGKILL"
                )
        else:
            with self._locked(name):
                record = self._load(name)
                if not record.stop_requested:
                    record.stop_requested = True
                    self._save(record)
        return self.reap(name)

    def reap(self, name: str) -> ContainerStatus:
        """After the container exited: record exit code, OOM and end time, and make runc forget it.

        Idempotent; conmon's exit command calls it (through Berth) as well as stop. The run
        directory stays, so the container can be created again (restart; the Engine mounts its
        root again for that).
        """
        with self._locked(name):
            return self._reap_locked(name)

    def _reap_locked(self, name: str) -> ContainerStatus:
        record = self._load(name)
        status = self._status(record)
        if status.alive:
            raise ContainerStateError(f"container {name}: still {status.state.value}, stop it first")
        changed = False
        if record.exit_code is None and status.exit_code is not None:
            record.exit_code = status.exit_code
            changed = True
        if record.finished_at is None:
            record.finished_at = self._finished_at(record) or time.time()
            changed = True
        if not record.oom_killed and status.oom_killed:
            record.oom_killed = True
            changed = True
        if changed:
            self._save(record)
        if runc.exists(self.paths.runc_root, name):
            runc.run(self.paths.runc_root, name, ["delete", "--force", name])
        if record.cgroup_path:
            cgroups.remove(record.cgroup_path)
        return self._status(record)

    def delete(self, name: str, *, force: bool = False, timeout: float = 10.0) -> None:
        """Remove every trace of the container but its logs: process, runc state, cgroup, mount, run dir.

        A container still alive is refused unless ``force`` (then killed, as ``docker rm -f``).
        """
        status = self.state(name)
        if status.alive:
            if not force:
                raise ContainerStateError(
                    f"container {name}: still {status.state.value}, stop it first (or force)"
                )
            self.stop(name, signals.SIGKILL, 0)
        else:
            with self._locked(name):  # a restart waiting in the exit command must not bring it back
                record = self._load(name)
                if not record.stop_requested:
                    record.stop_requested = True
                    self._save(record)
        self.reap(name)
        record = self._load(name)
        # conmon waits for its exit command (the restart policy, maybe sleeping its backoff), which
        # sees stop_requested and ends; whatever is still there after ``timeout`` is killed.
        # Outside the lock: the exit command needs it.
        self._end_conmon(record, timeout)
        with self._locked(name):
            record = self._load(name)
            rootfs = self._rootfs(Path(record.bundle))
            if rootfs is not None:
                overlays.unmount(rootfs)
            if record.cgroup_path:
                left = cgroups.remove(record.cgroup_path)
                if left:
                    raise RuntimeFailure(
                        f"container {name}: cgroup {left[0]} cannot be removed (still in use)"
                    )
            shutil.rmtree(self.dir(name), onerror=_ignore_missing)

    # -- reading the truth ----------------------------------------------------------------------

    def _bundle_config(self, name: str, bundle: Path) -> dict[str, Any]:
        try:
            value = json.loads((bundle / "config.json").read_bytes())
        except FileNotFoundError:
            raise RuntimeFailure(f"container {name}: no runtime spec at {bundle / 'config.json'}") from None
        except ValueError as exc:
            raise RuntimeFailure(f"container {name}: {bundle / 'config.json'} is not JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise RuntimeFailure(f"container {name}: {bundle / 'config.json'} is not a runtime spec object")
        return value

    def _rootfs(self, bundle: Path) -> Path | None:
        try:
            value = json.loads((bundle / "config.json").read_bytes())
            root = Path(value["root"]["path"])
        except (OSError, ValueError, KeyError, TypeError):
            root = Path("rootfs")
        return root if root.is_absolute() else bundle / root

    def _end_conmon(self, record: Record, timeout: float) -> None:
        pid, start = record.conmon_pid, record.conmon_start
        if not pid:
            return
        deadline = time.monotonic() + timeout
        while alive(pid, start) and time.monotonic() < deadline:
            time.sleep(POLL)
        if not alive(pid, start):
            return
        for child in _children(pid):  # the exit command, then conmon itself
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signals.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signals.SIGKILL)
        deadline = time.monotonic() + KILL_WAIT
        while pid_start(pid) is not None and time.monotonic() < deadline:
            time.sleep(POLL)


def _ignore_missing(function: object, path: str, excinfo: object) -> None:
    error = excinfo[1] if isinstance(excinfo, tuple) else excinfo
    if isinstance(error, OSError) and error.errno == errno.ENOENT:
        return
    raise RuntimeFailure(f"removing {path}: {error}")
