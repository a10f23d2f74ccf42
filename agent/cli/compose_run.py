"""``berth compose up|down|ps|logs|exec|...``: projects run on the Engine, as docker compose runs them.

Progress lines go to stderr as ``docker compose --progress plain`` prints them
(`` Container demo-web-1  Started``); data (``ps``, ``ls``, ``images``, ``port``) to stdout. Exit
codes follow docker compose: 0 on success, 1 when a service did not come up (its name and why on
stderr), the command's own code for ``exec`` and ``run``.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from agent.cli.compose_cmd import Globals, _files
from agent.cli.store_output import handle_errors, root_of
from agent.compose.labels import ComposeError, container_name
from agent.store.records import Deployment

if TYPE_CHECKING:  # the spec models: imported by the commands that load a project, not by ps
    from agent.compose.projects import ComposeProject
    from agent.compose.remembering import Remembered
    from agent.runtime.observing import Observer
    from agent.store.deploying import Store
    from translators.compose.inputs import ComposeFile

ANY = "0.0.0.0"  # noqa: S104 - how docker prints an address published on every interface
COLOURS = (36, 33, 32, 35, 34, 96, 93, 92, 95, 94)
"""ANSI colours docker compose cycles through for service prefixes (cyan, yellow, green...)."""


# -- shared plumbing ----------------------------------------------------------------------------
def _engine(g: Globals) -> Any:
    from agent.runtime.engine import Engine

    root = root_of(g.root)
    from agent.store.layout import Layout

    Layout(root)  # a first `up` on a fresh root makes the store
    return Engine(root, g.run_root)


def _load(g: Globals, *, scale: dict[str, int] | None = None, required: bool = True) -> ComposeProject | None:
    """The project from its files; None when there is none and ``required`` is False (the
    caller works from the store and ``-p``)."""
    try:
        compose_files = _files(g.files, g.project_directory)
    except click.UsageError:
        if required or not g.project_name:
            raise
        return None
    from agent.compose import projects as compose_projects
    from agent.compose import remembering
    from translators.compose import inputs

    texts = {f.path: f.text for f in compose_files if f.text is not None}
    with inputs.recording() as read:
        project = compose_projects.load(
            [f.path for f in compose_files],
            env=dict(os.environ),
            env_files=[Path.cwd() / p for p in g.env_files],
            profiles=g.profiles,
            project_name=g.project_name,
            project_dir=g.project_directory,
            scale=scale,
            texts=texts,
        )
    for warning in project.warnings:
        click.echo(str(warning), err=True)
    memo = _memory_key(g, compose_files, scale)
    if memo is not None:
        remembering.remember(_run_dir(g), memo, read, project)
    return project


# -- the remembered project (agent.compose.remembering): ps and a no-op up without loading it ---
def _run_dir(g: Globals) -> Path:
    from agent.runtime.paths import RunPaths

    return RunPaths.for_store(root_of(g.root), g.run_root).run


def _memory_key(g: Globals, compose_files: list[ComposeFile], scale: dict[str, int] | None) -> str | None:
    """The key the project of these files and options is remembered under (None: stdin)."""
    from agent.compose import remembering

    if any(f.text is not None for f in compose_files):
        return None
    return remembering.key(
        files=[f.path for f in compose_files],
        project_name=g.project_name,
        env_files=[Path.cwd() / p for p in g.env_files],
        profiles=g.profiles,
        project_dir=g.project_directory,
        scale=scale,
    )


def _recall(g: Globals, scale: dict[str, int] | None = None) -> Remembered | None:
    """The project as remembered from a load of exactly the same inputs; None: load it."""
    from agent.compose import remembering

    try:
        compose_files = _files(g.files, g.project_directory)
    except click.UsageError:
        return None
    memo = _memory_key(g, compose_files, scale)
    if memo is None:
        return None
    recalled = remembering.recall(_run_dir(g), memo, os.environ)
    if recalled is not None:
        for warning in recalled.warnings:
            click.echo(warning, err=True)
    return recalled


def _reader(g: Globals) -> tuple[Store, Observer]:
    """The store and the container statuses, for commands that only look (no Engine, no runc)."""
    from agent.runtime.observing import Observer
    from agent.runtime.paths import RunPaths
    from agent.store.deploying import Store
    from agent.store.layout import Layout

    root = root_of(g.root)
    Layout(root)  # as _engine: a first command on a fresh root makes the store
    store = Store.open(root, create=False)
    return store, Observer(store.layout, RunPaths.for_store(store.layout.root, g.run_root))


def _unchanged_up(g: Globals, scale: dict[str, int], reporter: Callable[[], Any]) -> bool:
    """``up -d`` of a remembered project whose containers all run as remembered: report them
    as the full path would (through ``reporter()``, made only then: the full path makes its
    own), and do nothing else."""
    from agent.compose import remembering

    recalled = _recall(g, scale or None)
    if recalled is None:
        return False
    store, observer = _reader(g)
    names = remembering.settled(store, observer, recalled)
    if names is None:
        return False
    say = reporter()
    for name in names:
        say("Container", name, "Running")
    return True


def _require(g: Globals, *, scale: dict[str, int] | None = None) -> ComposeProject:
    project = _load(g, scale=scale)
    if project is None:  # pragma: no cover - _load raises when a project is required
        raise click.UsageError("no configuration file provided: not found (use -f)")
    return project


def _name(g: Globals, project: ComposeProject | None) -> str:
    if project is not None:
        return project.name
    if g.project_name:
        return g.project_name
    raise click.UsageError("no configuration file provided: not found (use -f or -p)")


def _say(g: Globals) -> Any:
    """The ``--progress`` display (:mod:`agent.compose.progress`), its block ended with the command."""
    from agent.compose import progress

    display = progress.display(g.progress)
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.call_on_close(display.close)
    return display


def _deployments(engine: Any, name: str, services: tuple[str, ...] = ()) -> list[Deployment]:
    return _stored(engine.store(), name, services)


def _stored(store: Store, name: str, services: tuple[str, ...] = ()) -> list[Deployment]:
    from agent.compose.listing import project_deployments, sort_key

    found = sorted(project_deployments(store, name), key=sort_key)
    if services:
        known = {d.state.owner.service for d in found}
        missing = [s for s in services if s not in known]
        if missing:
            raise ComposeError(f"no such service: {missing[0]}")
        found = [d for d in found if d.state.owner.service in services]
    return found


def _scale(values: tuple[str, ...]) -> dict[str, int]:
    out = {}
    for value in values:
        service, sep, count = value.partition("=")
        if not sep or not count.isdigit():
            raise click.BadParameter(f"{value!r}: expected SERVICE=NUM", param_hint="--scale")
        out[service] = int(count)
    return out


_pass = click.pass_obj


# -- up -----------------------------------------------------------------------------------------
@click.command()
@click.option("-d", "--detach", is_flag=True, help="Detached mode: start and leave them running.")
@click.option("--wait", is_flag=True, help="Wait for services to be running and healthy (implies -d).")
@click.option("--wait-timeout", type=float, default=None, help="Seconds --wait waits at most.")
@click.option("--no-start", is_flag=True, help="Create the services, do not start them.")
@click.option("--force-recreate", is_flag=True, help="Recreate containers even if unchanged.")
@click.option("--no-recreate", is_flag=True, help="Leave existing containers as they are.")
@click.option("--remove-orphans", is_flag=True, help="Remove containers of services no longer in the file.")
@click.option("--no-deps", is_flag=True, help="Do not start linked services.")
@click.option("--scale", "scales", multiple=True, help="SERVICE=NUM; overrides scale in the file.")
@click.option("--abort-on-container-exit", is_flag=True, help="Stop all containers if any stops (attached).")
@click.option("--exit-code-from", default=None, help="Exit with this service's exit code (attached).")
@click.option("--no-log-prefix", is_flag=True, help="Attached: no prefix on log lines.")
@click.option("-t", "--timeout", type=float, default=None, help="Seconds to wait when stopping.")
@click.argument("services", nargs=-1)
@_pass
@handle_errors
def up(
    g: Globals,
    detach: bool,
    wait: bool,
    wait_timeout: float | None,
    no_start: bool,
    force_recreate: bool,
    no_recreate: bool,
    remove_orphans: bool,
    no_deps: bool,
    scales: tuple[str, ...],
    abort_on_container_exit: bool,
    exit_code_from: str | None,
    no_log_prefix: bool,
    timeout: float | None,
    services: tuple[str, ...],
) -> None:
    """Create and start the project's services (unchanged ones are left running)."""
    if force_recreate and no_recreate:
        raise click.UsageError("--force-recreate and --no-recreate are incompatible")
    if exit_code_from:
        abort_on_container_exit = True
    if (detach or wait) and abort_on_container_exit:
        raise click.UsageError("--abort-on-container-exit and --exit-code-from cannot be combined with -d")
    plain = detach and not (wait or no_start or force_recreate or no_recreate or no_deps or services)
    if plain and _unchanged_up(g, _scale(scales), lambda: _say(g)):
        return
    from agent.compose.upping import UpOptions
    from agent.compose.upping import up as run_up

    project = _require(g, scale=_scale(scales))
    if exit_code_from and exit_code_from not in project.services:
        raise ComposeError(f"no such service: {exit_code_from}")
    engine = _engine(g)
    say = _say(g)
    options = UpOptions(
        services=services,
        start=not no_start,
        force_recreate=force_recreate,
        no_recreate=no_recreate,
        remove_orphans=remove_orphans,
        wait=wait,
        wait_timeout=wait_timeout,
        no_deps=no_deps,
        attached=not (detach or wait or no_start),
    )
    with _deferred_interrupt(options.attached) as interrupted:
        if _pull_missing(engine, project, services, say):
            sys.exit(1)
        result = run_up(engine, project, options, say)
    say.close()  # warnings and attached logs go below the block
    if interrupted:  # Ctrl-C while starting: what was logged so far, then the project stops
        from agent.compose.upping import stop_all
        from agent.runtime import logs as logfiles

        names = [d.name for d in _deployments(engine, project.name, tuple(project.closure(services)))]
        width = max((len(n) for n in names), default=0)
        for name in names:
            for line in logfiles.read(engine.layout.log_dir(name) / "ctr.log"):
                prefix = b"" if no_log_prefix else f"{name:<{width}}  | ".encode()
                sys.stdout.buffer.write(prefix + line.render())
        sys.stdout.buffer.flush()
        click.echo("Gracefully stopping... (press Ctrl+C again to force)", err=True)
        stop_all(engine, list(reversed(names)), timeout, say)
        sys.exit(130)
    if result.orphans and not remove_orphans:
        click.echo(
            f"WARN[0000] Found orphan containers ({', '.join(result.orphans)}) for this project. If you "
            "removed or renamed this service in your compose file, you can run this command with the "
            "--remove-orphans flag to clean it up.",
            err=True,
        )
    for service, why in result.failed.items():
        click.echo(f"error: service {service}: {why}", err=True)
    if result.failed:
        sys.exit(1)
    if detach or wait or no_start:
        return
    names = [d.name for d in _deployments(engine, project.name, tuple(project.closure(services)))]
    sys.exit(
        _attach(engine, project, names, abort_on_container_exit, exit_code_from, no_log_prefix, timeout, say)
    )


@contextlib.contextmanager
def _deferred_interrupt(enabled: bool) -> Iterator[list[bool]]:
    """An attached ``up`` interrupted while it starts the project finishes starting (no deploy is
    cut in half, its worker threads could not be stopped anyway) and then stops it; a second
    Ctrl-C interrupts at once. The yielded list is true once Ctrl-C was pressed."""
    pressed: list[bool] = []
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield pressed
        return

    def note(signum: int, frame: Any) -> None:
        if pressed:
            raise KeyboardInterrupt
        pressed.append(True)

    previous = signal.signal(signal.SIGINT, note)
    try:
        yield pressed
    finally:
        signal.signal(signal.SIGINT, previous)


def _pull_missing(
    engine: Any, project: ComposeProject, services: tuple[str, ...], say: Any
) -> dict[str, str]:
    """Pull the images the store lacks first, as docker compose does; failures printed, by service."""
    from agent.compose import pulling

    failed = pulling.pull(engine.root, project, project.closure(services), say, missing_only=True)
    for image, why in failed.items():
        names = [s for s, svc in project.services.items() if svc.spec.image == image]
        click.echo(f"error: service {names[0] if names else image}: {why}", err=True)
    return failed


def _attach(
    engine: Any,
    project: ComposeProject,
    names: list[str],
    abort: bool,
    exit_code_from: str | None,
    no_prefix: bool,
    timeout: float | None,
    say: Any,
) -> int:
    """Print every container's log lines prefixed by its name until all have exited (or one has,
    with ``abort``); Ctrl-C stops the project."""
    from agent.compose.upping import stop_all

    lines: queue.Queue[tuple[str, bytes | None]] = queue.Queue()
    stop = threading.Event()
    width = max((len(n) for n in names), default=0)
    tty = sys.stdout.isatty()

    def pump(name: str) -> None:
        from agent.runtime import logs as logfiles

        def done() -> bool:
            return stop.is_set() or engine.status(name).state not in (
                "running",
                "created",
                "restarting",
                "paused",
            )

        path = engine.layout.log_dir(name) / "ctr.log"
        try:
            for line in logfiles.follow(path, done=done, poll=0.1):
                lines.put((name, line.render()))
        finally:
            lines.put((name, None))

    for name in names:
        threading.Thread(target=pump, args=(name,), daemon=True).start()
    colours = {n: COLOURS[i % len(COLOURS)] for i, n in enumerate(names)}
    running = set(names)
    first_exit: str | None = None
    interrupted = False

    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        if names:
            click.echo("Attaching to " + ", ".join(names))
        while running:
            name, data = lines.get()
            if data is None:
                running.discard(name)
                status = engine.status(name)
                if not stop.is_set():
                    code = status.exit_code if status.exit_code is not None else 0
                    click.echo(f"{name} exited with code {code}")
                    if first_exit is None:
                        first_exit = name
                    if abort:
                        click.echo("Aborting on container exit...", err=True)
                        stop.set()
                        stop_all(engine, [n for n in reversed(names) if n != name], timeout, say)
                continue
            prefix = f"{name:<{width}}  | "
            if tty:
                prefix = f"\x1b[{colours[name]}m{prefix}\x1b[0m"
            sys.stdout.buffer.write((b"" if no_prefix else prefix.encode()) + data)
            sys.stdout.buffer.flush()
    except KeyboardInterrupt:
        interrupted = True
        click.echo("Gracefully stopping... (press Ctrl+C again to force)", err=True)
        stop.set()
        stop_all(engine, list(reversed(names)), timeout, say)
    finally:
        signal.signal(signal.SIGTERM, previous)
    if interrupted:
        return 130
    if exit_code_from:
        wanted = [n for n in names if n.startswith(f"{project.name}-{exit_code_from}-")]
        codes = [engine.status(n).exit_code for n in wanted]
        return next((c for c in codes if c), 0) or 0
    if abort and first_exit is not None:
        return int(engine.status(first_exit).exit_code or 0)
    return 0


# -- down ---------------------------------------------------------------------------------------
@click.command()
@click.option(
    "-v", "--volumes", is_flag=True, help="Remove named volumes declared in the file and anonymous ones."
)
@click.option("--remove-orphans", is_flag=True, help="Remove containers of services no longer in the file.")
@click.option("-t", "--timeout", type=float, default=None, help="Seconds to wait for a stop before killing.")
@click.option(
    "--rmi",
    type=click.Choice(["local", "all"]),
    default=None,
    help="Remove images used by services: all, or local (those without a custom tag: built ones).",
)
@_pass
@handle_errors
def down(g: Globals, volumes: bool, remove_orphans: bool, timeout: float | None, rmi: str | None) -> None:
    """Stop and remove the project's containers and networks (and volumes with -v)."""
    from agent.compose.downing import down as run_down

    project = _load(g, required=False)
    engine = _engine(g)
    result = run_down(
        engine,
        _name(g, project),
        project,
        volumes=volumes,
        remove_orphans=remove_orphans,
        timeout=timeout,
        rmi=rmi,
        say=_say(g),
    )
    if result.orphans and not remove_orphans:
        click.echo(
            f"WARN[0000] Found orphan containers ({', '.join(result.orphans)}) for this project.", err=True
        )


# -- ps, ls, images, port, top, version ---------------------------------------------------------
@click.command()
@click.option("-a", "--all", "show_all", is_flag=True, help="Show stopped containers too.")
@click.option("--format", "fmt", default="table", help="table or json.")
@click.option("--services", "only_services", is_flag=True, help="Print the services, one a line.")
@click.option("-q", "--quiet", is_flag=True, help="Only names.")
@click.option("--status", "statuses", multiple=True, help="Filter by state (running, exited...).")
@click.argument("services", nargs=-1)
@_pass
@handle_errors
def ps(
    g: Globals,
    show_all: bool,
    fmt: str,
    only_services: bool,
    quiet: bool,
    statuses: tuple[str, ...],
    services: tuple[str, ...],
) -> None:
    """List the project's containers (running ones unless -a), as docker compose ps does."""
    from agent.compose.listing import ps_row

    name = _quick_name(g)
    store, observer = _reader(g)
    rows = [ps_row(observer, d) for d in _stored(store, name, services)]
    if not show_all and not statuses:
        rows = [r for r in rows if r["State"] in ("running", "restarting", "paused")]
    if statuses:
        rows = [r for r in rows if r["State"] in statuses]
    if only_services:
        for service in dict.fromkeys(r["Service"] for r in rows):
            click.echo(service)
        return
    if quiet:
        for row in rows:
            click.echo(row["Name"])
        return
    if fmt == "json":
        for row in rows:
            click.echo(json.dumps(row))
        return
    _table(rows, ["Name", "Image", "Command", "Service", "Created", "Status", "Ports"],
           lambda r, c: r["RunningFor"] if c == "Created" else r[c])  # fmt: skip


def _quick_name(g: Globals) -> str:
    """The project name without translating the files when ``-p`` gives it (ps stays fast)."""
    if g.project_name:
        from translators.compose.inputs import normalise_project_name

        return normalise_project_name(g.project_name)
    recalled = _recall(g)
    if recalled is not None:
        return recalled.name
    return _name(g, _load(g))


def _table(rows: list[dict[str, Any]], columns: list[str], cell: Any = None) -> None:
    get = cell or (lambda r, c: r[c])
    data = [[str(get(r, c)) for c in columns] for r in rows]
    heads = [c.upper() for c in columns]
    widths = [max([len(h), *(len(row[i]) for row in data)]) for i, h in enumerate(heads)]
    click.echo("   ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True)).rstrip())
    for row in data:
        click.echo("   ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


@click.command(name="ls")
@click.option("-a", "--all", "show_all", is_flag=True, help="Show stopped projects too.")
@click.option("--format", "fmt", default="table", help="table or json.")
@click.option("-q", "--quiet", is_flag=True, help="Only names.")
@_pass
@handle_errors
def ls(g: Globals, show_all: bool, fmt: str, quiet: bool) -> None:
    """List the compose projects on this host (from the store alone)."""
    from agent.compose.listing import projects

    store, observer = _reader(g)
    rows = projects(observer, store.list(owner_kind="compose"))
    if not show_all:
        rows = [r for r in rows if "running" in r["Status"]]
    if quiet:
        for row in rows:
            click.echo(row["Name"])
    elif fmt == "json":
        click.echo(json.dumps(rows))
    else:
        _table(rows, ["Name", "Status", "ConfigFiles"])


@click.command()
@click.option("--format", "fmt", default="table", help="table or json.")
@click.option("-q", "--quiet", is_flag=True, help="Only image digests.")
@click.argument("services", nargs=-1)
@_pass
@handle_errors
def images(g: Globals, fmt: str, quiet: bool, services: tuple[str, ...]) -> None:
    """The images the project's containers run."""
    engine = _engine(g)
    rows = []
    for d in _deployments(engine, _quick_name(g), services):
        repo, _, tag = d.state.image.rpartition(":")
        if "/" in tag or not repo:
            repo, tag = d.state.image, ""
        rows.append({"ContainerName": d.name, "Repository": repo, "Tag": tag, "ID": d.state.image_digest})
    if quiet:
        for row in rows:
            click.echo(row["ID"])
    elif fmt == "json":
        click.echo(json.dumps(rows))
    else:
        _table(rows, ["ContainerName", "Repository", "Tag", "ID"])


@click.command()
@click.option("--index", type=int, default=1, help="Replica number.")
@click.option("--protocol", default="tcp")
@click.argument("service")
@click.argument("private_port", type=int)
@_pass
@handle_errors
def port(g: Globals, index: int, protocol: str, service: str, private_port: int) -> None:
    """The host address a service's port is published on."""
    engine = _engine(g)
    name = container_name(_quick_name(g), service, index)
    for p in engine.status(name).ports:
        if p.get("container_port") == private_port and p.get("protocol", "tcp") == protocol:
            click.echo(f"{p.get('host_ip') or ANY}:{p.get('host_port')}")
            return
    raise ComposeError(f"no port {private_port}/{protocol} published for {name}")


@click.command()
@click.argument("services", nargs=-1)
@_pass
@handle_errors
def top(g: Globals, services: tuple[str, ...]) -> None:
    """The processes of the project's containers."""
    engine = _engine(g)
    for d in _deployments(engine, _quick_name(g), services):
        status = engine.status(d.name)
        if status.pid is None:
            continue
        click.echo(d.name)
        click.echo("UID    PID    CMD")
        for pid in _pids(engine, d.name):
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
                uid = Path(f"/proc/{pid}/status").read_text().split("Uid:")[1].split()[0]
            except (OSError, IndexError):
                continue
            click.echo(f"{uid:<6} {pid:<6} {cmd}")
        click.echo()


def _pids(engine: Any, name: str) -> list[int]:
    import subprocess

    proc = (
        subprocess.run(
            ["runc", "--root", str(engine.paths.runc_root), "ps", "--format", "json", name],
            capture_output=True,
            text=True,
            check=False,
        )
        if hasattr(engine.paths, "runc_root")
        else None
    )
    if proc is not None and proc.returncode == 0:
        return [int(p) for p in json.loads(proc.stdout or "[]")]
    status = engine.status(name)
    return [status.pid] if status.pid else []


@click.command()
@click.option("--short", is_flag=True)
@click.option("-f", "--format", "fmt", default="pretty")
def version(short: bool, fmt: str) -> None:
    """The docker compose version Berth follows."""
    from agent.compose.labels import COMPOSE_VERSION

    if short:
        click.echo(COMPOSE_VERSION)
    elif fmt == "json":
        click.echo(json.dumps({"version": f"v{COMPOSE_VERSION}"}))
    else:
        click.echo(f"Docker Compose version v{COMPOSE_VERSION} (berth)")


# -- logs ---------------------------------------------------------------------------------------
@click.command()
@click.option("-f", "--follow", is_flag=True)
@click.option("-n", "--tail", default="all", help="Lines from the end of each log (all).")
@click.option("--since", default=None)
@click.option("-t", "--timestamps", is_flag=True)
@click.option("--no-log-prefix", is_flag=True)
@click.option("--no-color", is_flag=True)
@click.argument("services", nargs=-1)
@_pass
@handle_errors
def logs(
    g: Globals,
    follow: bool,
    tail: str,
    since: str | None,
    timestamps: bool,
    no_log_prefix: bool,
    no_color: bool,
    services: tuple[str, ...],
) -> None:
    """The services' output, each line prefixed with its container."""
    from agent.runtime import logs as logfiles

    engine = _engine(g)
    found = _deployments(engine, _quick_name(g), services)
    count = None if tail == "all" else int(tail)
    since_ns = logfiles.parse_time(since) if since else None
    width = max((len(d.name) for d in found), default=0)
    colour = sys.stdout.isatty() and not no_color

    def prefix(i: int, name: str) -> bytes:
        if no_log_prefix:
            return b""
        text = f"{name:<{width}}  | "
        return (f"\x1b[{COLOURS[i % len(COLOURS)]}m{text}\x1b[0m" if colour else text).encode()

    out = sys.stdout.buffer
    if not follow:
        merged = []
        for i, d in enumerate(found):
            path = engine.layout.log_dir(d.name) / "ctr.log"
            merged += [
                (line.time_ns, i, d.name, line) for line in logfiles.read(path, tail=count, since=since_ns)
            ]
        for _, i, name, line in sorted(merged, key=lambda x: (x[0], x[1])):
            out.write(prefix(i, name) + line.render(timestamps=timestamps))
        out.flush()
        return
    pending: queue.Queue[tuple[int, str, Any]] = queue.Queue()

    def pump(i: int, name: str) -> None:
        def done() -> bool:
            return engine.status(name).state not in ("running", "created", "restarting", "paused")

        try:
            for line in logfiles.follow(
                engine.layout.log_dir(name) / "ctr.log", tail=count, since=since_ns, done=done
            ):
                pending.put((i, name, line))
        finally:
            pending.put((i, name, None))

    for i, d in enumerate(found):
        threading.Thread(target=pump, args=(i, d.name), daemon=True).start()
    left = len(found)
    try:
        while left:
            i, name, line = pending.get()
            if line is None:
                left -= 1
                continue
            out.write(prefix(i, name) + line.render(timestamps=timestamps))
            out.flush()
    except KeyboardInterrupt:
        return


# -- exec, run ----------------------------------------------------------------------------------
@click.command(
    name="exec", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False}
)
@click.option("-d", "--detach", is_flag=True, help="Accepted; the command runs attached.")
@click.option("-T", "--no-TTY", "no_tty", is_flag=True, help="No pseudo-terminal.")
@click.option("-e", "--env", multiple=True, help="KEY=VALUE.")
@click.option("-u", "--user", default=None)
@click.option("-w", "--workdir", default=None)
@click.option("--index", type=int, default=1, help="Replica number.")
@click.option("--privileged", is_flag=True, help="Accepted; exec keeps the container's privileges.")
@click.argument("service")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@_pass
@handle_errors
def exec_(
    g: Globals,
    detach: bool,
    no_tty: bool,
    env: tuple[str, ...],
    user: str | None,
    workdir: str | None,
    index: int,
    privileged: bool,
    service: str,
    command: tuple[str, ...],
) -> None:
    """Run COMMAND in a running container of SERVICE; exits with its exit code."""
    from agent.runtime.execing import Exec

    engine = _engine(g)
    name = container_name(_quick_name(g), service, index)
    if engine.container(name) is None or not engine.container(name).alive:
        raise ComposeError(f"service {service!r} is not running")
    tty = not no_tty and sys.stdin.isatty() and sys.stdout.isatty()
    code = Exec(engine.containers).run(
        name, list(command), env=list(env), user=user, cwd=workdir, tty=tty, interactive=tty
    )
    sys.exit(code)


@click.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("--rm", "remove", is_flag=True, help="Remove the container when it exits.")
@click.option("-d", "--detach", is_flag=True)
@click.option("-e", "--env", multiple=True)
@click.option("--name", default=None)
@click.option("--no-deps", is_flag=True)
@click.option("-T", "--no-TTY", "no_tty", is_flag=True)
@click.argument("service")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@_pass
@handle_errors
def run(
    g: Globals,
    remove: bool,
    detach: bool,
    env: tuple[str, ...],
    name: str | None,
    no_deps: bool,
    no_tty: bool,
    service: str,
    command: tuple[str, ...],
) -> None:
    """A one-off container of SERVICE running COMMAND (its dependencies started first)."""
    from agent.compose.upping import UpOptions
    from agent.compose.upping import up as run_up
    from agent.runtime import logs as logfiles

    project = _require(g)
    if service not in project.services:
        raise ComposeError(f"no such service: {service}")
    engine = _engine(g)
    deps = [s for s in project.closure([service]) if s != service]
    if deps and not no_deps:
        say = _say(g)
        result = run_up(engine, project, UpOptions(services=tuple(deps)), say)
        say.close()  # the one-off's output goes below the block
        for failed, why in result.failed.items():
            click.echo(f"error: service {failed}: {why}", err=True)
        if result.failed:
            sys.exit(1)
    svc = project.services[service]
    spec = svc.replica(project.name, 1)
    oneoff = name or f"{project.name}-{service}-run-{os.urandom(6).hex()}"
    config = spec.config.model_copy(
        update={
            "cmd": list(command) if command else spec.config.cmd,
            "env": [*spec.config.env, *env],
            "ports": [],
            "restart": spec.config.restart.model_copy(update={"policy": "no"}),
            "role": "job",
            "healthcheck": None,
        }
    )
    spec = spec.model_copy(update={"name": oneoff, "config": config})
    owner = project.owner(service, 1, oneoff=True)
    engine.deploy(spec, owner=owner, start=False)
    engine.start(oneoff)
    if detach:
        click.echo(oneoff)
        return
    path = engine.layout.log_dir(oneoff) / "ctr.log"

    def done() -> bool:
        return engine.status(oneoff).state not in ("running", "created", "restarting")

    try:
        for line in logfiles.follow(path, done=done):
            target = sys.stdout.buffer if line.stream == "stdout" else sys.stderr.buffer
            target.write(line.render())
            target.flush()
    except KeyboardInterrupt:
        engine.stop(oneoff, timeout=0)
    code = engine.status(oneoff).exit_code
    if remove:
        engine.remove(oneoff)
    sys.exit(code if code is not None else 1)


# -- start, stop, restart, kill, rm, pull ---------------------------------------------------------
def _simple(verb: str, doc: str) -> click.Command:
    # -s is kill's --signal and rm's --stop, as docker compose has them: one per command
    signal_names = ("-s", "--signal") if verb == "kill" else ("--signal",)
    stop_names = ("-s", "--stop") if verb == "rm" else ("--stop",)

    @click.command(name=verb, help=doc)
    @click.option("-t", "--timeout", type=float, default=None, help="Seconds to wait when stopping.")
    @click.option(*signal_names, "sig", default="SIGKILL", help="kill: the signal.", hidden=verb != "kill")
    @click.option("-f", "--force", is_flag=True, help="rm: do not ask.")
    @click.option(
        *stop_names, "stop_first", is_flag=True, help="rm: stop running ones first.", hidden=verb != "rm"
    )
    @click.argument("services", nargs=-1)
    @_pass
    @handle_errors
    def command(
        g: Globals, timeout: float | None, sig: str, force: bool, stop_first: bool, services: tuple[str, ...]
    ) -> None:
        say = _say(g)
        if verb == "pull":  # the images of the file's services, deployed or not
            _pull(g, services, say)
            return
        engine = _engine(g)
        name = _quick_name(g)
        found = _deployments(engine, name, services)
        if verb in ("stop", "kill", "rm"):
            found = list(reversed(found))
        for d in found:
            ctr = engine.container(d.name)
            alive = ctr is not None and ctr.alive
            if verb == "start":
                if not alive:
                    say("Container", d.name, "Starting")
                    engine.start(d.name)
                    say("Container", d.name, "Started")
            elif verb == "stop":
                if alive:
                    say("Container", d.name, "Stopping")
                    engine.stop(d.name, timeout=timeout)
                    say("Container", d.name, "Stopped")
            elif verb == "restart":
                say("Container", d.name, "Restarting")
                if alive:
                    engine.stop(d.name, timeout=timeout)
                engine.start(d.name)
                engine.event("restart", d.name, d)
                say("Container", d.name, "Started")
            elif verb == "kill":
                if alive:
                    say("Container", d.name, "Killing")
                    engine.kill(d.name, sig)
                    say("Container", d.name, "Killed")
            elif verb == "rm":
                if alive and stop_first:
                    say("Container", d.name, "Stopping")
                    engine.stop(d.name, timeout=timeout)
                    say("Container", d.name, "Stopped")
                elif alive:
                    continue  # docker compose rm leaves running containers (without -s)
                say("Container", d.name, "Removing")
                engine.remove(d.name)
                say("Container", d.name, "Removed")

    return command


def _pull(g: Globals, services: tuple[str, ...], say: Any) -> None:
    from agent.compose import pulling

    project = _require(g)
    wanted = project.closure(services) if services else list(project.services)
    failed = pulling.pull(_engine(g).root, project, wanted, say, missing_only=False)
    for image, why in failed.items():
        click.echo(f"error: image {image}: {why}", err=True)
    if failed:
        sys.exit(1)


def _iter_simple() -> Iterator[tuple[str, click.Command]]:
    docs = {
        "start": "Start the project's existing containers.",
        "stop": "Stop the project's running containers (they stay, for start).",
        "restart": "Restart the project's containers.",
        "kill": "Send a signal (SIGKILL) to the project's containers.",
        "rm": "Remove the project's stopped containers.",
        "pull": "Pull the project's images into the store.",
    }
    for verb, doc in docs.items():
        yield verb, _simple(verb, doc)


# -- events -------------------------------------------------------------------------------------
@click.command()
@click.option("--json", "as_json", is_flag=True, help="Output events as a stream of JSON objects.")
@click.option("--since", default=None, help="Show the events logged since this time first.")
@click.option("--until", default=None, help="Stream events until this time.")
@click.argument("services", nargs=-1)
@_pass
@handle_errors
def events(
    g: Globals, as_json: bool, since: str | None, until: str | None, services: tuple[str, ...]
) -> None:
    """Stream the project's container events (from the store's event log) until Ctrl-C."""
    from agent.compose import eventing
    from agent.runtime import eventlog
    from agent.runtime import logs as logfiles

    name = _quick_name(g)
    engine = _engine(g)
    since_t = logfiles.parse_time(since) / 1e9 if since else None
    until_t = logfiles.parse_time(until, option="--until") / 1e9 if until else None

    def done() -> bool:
        return until_t is not None and time.time() >= until_t

    stream = eventlog.follow(engine.events_path, since=since_t, done=done)
    try:
        for record in eventing.of_project(stream, name, services):
            if until_t is not None and float(record.get("time", 0)) > until_t:
                continue
            click.echo(eventing.as_json(record) if as_json else eventing.as_text(record))
    except KeyboardInterrupt:
        sys.exit(130)


COMMANDS: dict[str, click.Command] = {
    "events": events,
    "up": up,
    "down": down,
    "ps": ps,
    "logs": logs,
    "exec": exec_,
    "run": run,
    "images": images,
    "port": port,
    "top": top,
    "ls": ls,
    "version": version,
    **dict(_iter_simple()),
}
_ = time
