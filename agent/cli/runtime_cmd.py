"""``berth container start|stop|restart|kill|run|status|logs|exec|health|metrics|port|install-service``.

Thin: options are parsed here and the work is done by :class:`agent.runtime.engine.Engine`.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import Any

import click

from agent.cli.store_output import emit, handle_errors, root_of, store_options
from agent.runtime.paths import ENV_RUN_ROOT

_run_root_option = click.option(
    "--run-root",
    type=click.Path(file_okay=False, path_type=Path),
    envvar=ENV_RUN_ROOT,
    help="Runtime state directory (default /run/berth[/<store>]; env BERTH_RUN_ROOT).",
)


def _engine(root: Path | None, run_root: Path | None) -> Any:
    from agent.runtime.engine import Engine

    return Engine(root_of(root), run_root)


def _status_row(status: Any) -> dict[str, Any]:
    return status.to_json()  # type: ignore[no-any-return]


@click.command()
@click.argument("names", nargs=-1, required=True)
@_run_root_option
@store_options
@handle_errors
def start(names: tuple[str, ...], run_root: Path | None, root: Path | None, output: str) -> None:
    """Start deployments (their current versions)."""
    engine = _engine(root, run_root)
    emit(output, [_status_row(engine.start(n)) for n in names], ["name", "state", "pid", "version", "image"])


@click.command()
@click.argument("names", nargs=-1, required=True)
@click.option(
    "-t", "--timeout", type=float, help="Seconds before SIGKILL (default: the spec's grace, else 10)."
)
@_run_root_option
@store_options
@handle_errors
def stop(
    names: tuple[str, ...], timeout: float | None, run_root: Path | None, root: Path | None, output: str
) -> None:
    """Stop containers: their stop signal, SIGKILL after the grace period; nothing is left running."""
    engine = _engine(root, run_root)
    emit(
        output, [_status_row(engine.stop(n, timeout=timeout)) for n in names], ["name", "state", "exit_code"]
    )


@click.command()
@click.argument("names", nargs=-1, required=True)
@click.option("-t", "--timeout", type=float, help="Seconds before SIGKILL.")
@_run_root_option
@store_options
@handle_errors
def restart(
    names: tuple[str, ...], timeout: float | None, run_root: Path | None, root: Path | None, output: str
) -> None:
    """Stop, then start again."""
    engine = _engine(root, run_root)
    rows = []
    for name in names:
        engine.stop(name, timeout=timeout)
        rows.append(_status_row(engine.start(name)))
    emit(output, rows, ["name", "state", "pid", "version"])


@click.command()
@click.argument("names", nargs=-1, required=True)
@click.option("-s", "--signal", "sig", default="SIGKILL", show_default=True, help="Signal to send.")
@_run_root_option
@store_options
@handle_errors
def kill(names: tuple[str, ...], sig: str, run_root: Path | None, root: Path | None, output: str) -> None:
    """Send a signal to containers (a killed container is not restarted by its policy)."""
    engine = _engine(root, run_root)
    for name in names:
        engine.kill(name, sig)
    emit(output, {"killed": list(names), "signal": sig})


@click.command()
@click.argument("name")
@_run_root_option
@store_options
@handle_errors
def status(name: str, run_root: Path | None, root: Path | None, output: str) -> None:
    """State, exit code, restarts, health, ports and addresses of NAME."""
    emit(output, _status_row(_engine(root, run_root).status(name)))


@click.command()
@click.argument("name")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines (across restarts and rotation).")
@click.option("-n", "--tail", type=int, help="Only the last N lines.")
@click.option("--since", help="Lines since a time (RFC 3339) or a duration ago (10m).")
@click.option("--until", help="Lines until a time or a duration ago.")
@click.option("-t", "--timestamps", is_flag=True, help="Show each line's time.")
@_run_root_option
@click.option(
    "--root", type=click.Path(file_okay=False, path_type=Path), envvar="BERTH_ROOT", help="Store root."
)
@handle_errors
def logs(
    name: str,
    follow: bool,
    tail: int | None,
    since: str | None,
    until: str | None,
    timestamps: bool,
    run_root: Path | None,
    root: Path | None,
) -> None:
    """What NAME wrote to stdout and stderr (kept in the store, as conmon's k8s-file log)."""
    from agent.runtime import logs as logfiles

    engine = _engine(root, run_root)
    engine.store().get(name)
    path = engine.layout.log_dir(name) / "ctr.log"
    since_ns = logfiles.parse_time(since, option="--since") if since else None
    until_ns = logfiles.parse_time(until, option="--until") if until else None
    out, err = sys.stdout.buffer, sys.stderr.buffer
    if not follow:
        if path.exists():
            logfiles.write(
                logfiles.read(path, tail=tail, since=since_ns, until=until_ns),
                out,
                err,
                timestamps=timestamps,
            )
        return

    def done() -> bool:
        state = engine.status(name).state
        return state not in ("running", "created", "paused", "restarting")

    lines = logfiles.follow(path, tail=tail, since=since_ns, until=until_ns, done=done)
    try:
        for line in lines:
            logfiles.write([line], out, err, timestamps=timestamps)
            out.flush()
            err.flush()
    except KeyboardInterrupt:
        return


@click.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("-i", "--interactive", is_flag=True, help="Keep stdin open.")
@click.option("-t", "--tty", is_flag=True, help="Allocate a terminal.")
@click.option("-e", "--env", multiple=True, help="KEY=VALUE (or KEY: your value).")
@click.option("-u", "--user", help="USER[:GROUP] as names or numbers.")
@click.option("-w", "--workdir", help="Working directory.")
@_run_root_option
@click.option(
    "--root", type=click.Path(file_okay=False, path_type=Path), envvar="BERTH_ROOT", help="Store root."
)
@click.argument("name")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@handle_errors
def exec_(
    interactive: bool,
    tty: bool,
    env: tuple[str, ...],
    user: str | None,
    workdir: str | None,
    run_root: Path | None,
    root: Path | None,
    name: str,
    command: tuple[str, ...],
) -> None:
    """Run COMMAND in the running container NAME; exits with COMMAND's exit code."""
    from agent.runtime.errors import ContainerStateError
    from agent.runtime.execing import Exec

    engine = _engine(root, run_root)
    state = engine.status(name).state
    if state != "running":
        raise ContainerStateError(
            f"container {name} is {state}: exec needs it running (berth container start {name})"
        )
    code = Exec(engine.containers).run(
        name, list(command), env=list(env), user=user, cwd=workdir, tty=tty, interactive=interactive
    )
    sys.exit(code)


@click.command()
@click.argument("name")
@click.option("--run", "run_now", is_flag=True, help="Run the checks once now (without the agent).")
@_run_root_option
@store_options
@handle_errors
def health(name: str, run_now: bool, run_root: Path | None, root: Path | None, output: str) -> None:
    """starting, healthy or unhealthy, with the last check outputs (recorded by `berth agent`)."""
    from agent.network.netns import NetworkNamespace
    from agent.runtime import health as checks

    engine = _engine(root, run_root)
    plans = engine.probe_plans(name)
    if run_now:
        ctr = engine.container(name)
        if ctr is None or not ctr.alive or ctr.pid is None:
            raise click.ClickException(f"container {name} is not running")
        results = checks.run_once(
            plans, netns=NetworkNamespace.of_pid(ctr.pid), exec_fn=engine.exec_function(name)
        )
        data = {kind: result.to_json() for kind, result in results.items()}
        emit(output, {"name": name, "checks": data, "healthy": all(r.ok for r in results.values())})
        if not all(r.ok for r in results.values()):
            sys.exit(1)
        return
    record = checks.read_record(engine.health_path(name))
    if record is None:
        state = "none" if not plans else "unknown (no `berth agent` is running the checks; try --run)"
        emit(output, {"name": name, "status": state})
        return
    if output == "json":
        emit(output, record)
    else:
        click.echo(checks.describe(record))


@click.command()
@click.argument("name")
@click.option(
    "--sample", type=float, default=0.5, show_default=True, help="Seconds to measure CPU usage over."
)
@_run_root_option
@store_options
@handle_errors
def metrics(name: str, sample: float, run_root: Path | None, root: Path | None, output: str) -> None:
    """CPU, memory, pids, block I/O, restarts, uptime and health from the container's cgroup."""
    from agent.runtime import metrics as measuring

    engine = _engine(root, run_root)
    st = engine.status(name)
    ctr = engine.container(name)
    if ctr is None or not ctr.alive or ctr.pid is None:
        raise click.ClickException(f"container {name} is not running")
    group = measuring.Cgroup.at(engine.paths.cgroup_path(name)) or measuring.Cgroup.of_pid(ctr.pid)
    values = measuring.collect(
        name,
        group,
        sample=sample,
        restarts=st.restarts,
        uptime=measuring.process_uptime(ctr.pid),
        health=st.health,
    )
    emit(output, values.to_json())


@click.command()
@click.argument("name")
@_run_root_option
@store_options
@handle_errors
def port(name: str, run_root: Path | None, root: Path | None, output: str) -> None:
    """Published ports of NAME (CONTAINER/PROTO -> HOST_IP:HOST_PORT)."""
    st = _engine(root, run_root).status(name)
    if output == "json":
        emit(output, st.ports)
        return
    for p in st.ports:
        click.echo(f"{p['container_port']}/{p['protocol']} -> {p['host_ip']}:{p['host_port']}")


@click.command()
@click.argument("name")
@_run_root_option
@click.option(
    "--root", type=click.Path(file_okay=False, path_type=Path), envvar="BERTH_ROOT", help="Store root."
)
@handle_errors
def run(name: str, run_root: Path | None, root: Path | None) -> None:
    """Start NAME and stay in the foreground until it exits (for systemd: Type=notify, READY when
    started, stopped on SIGTERM). Exits with the container's exit code."""
    from agent.runtime import notifying

    engine = _engine(root, run_root)
    stopping = threading.Event()

    def on_term(signum: int, frame: Any) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    st = engine.start(name)
    notifying.ready(main_pid=st.pid)
    while not stopping.is_set():
        ctr = engine.container(name)
        if ctr is None:
            break
        if not ctr.alive and engine.status(name).state != "restarting":
            break
        stopping.wait(0.5)
    if stopping.is_set():
        notifying.stopping()
        final = engine.stop(name)
        sys.exit(final.exit_code or 0)
    final = engine.status(name)
    sys.exit(final.exit_code or 0)


@click.command(name="install-service")
@click.argument("name")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("/etc/systemd/system"),
    show_default=True,
)
@click.option("--verify/--no-verify", default=True, help="Check the unit with systemd-analyze verify.")
@click.option(
    "--root", type=click.Path(file_okay=False, path_type=Path), envvar="BERTH_ROOT", help="Store root."
)
@handle_errors
def install_service(name: str, directory: Path, verify: bool, root: Path | None) -> None:
    """Write <NAME>-container.service (Type=notify, ExecStart=berth container run NAME)."""
    import shutil

    from agent.runtime import units
    from agent.store import deploying

    store_root = root_of(root)
    spec = deploying.Store.open(store_root, create=False).get(name).spec
    berth = shutil.which("berth") or str(Path(sys.executable).with_name("berth"))
    unit = units.container_unit(spec, berth=berth, root=store_root)
    path = units.install(unit, directory=directory)
    if verify:
        units.verify([path])
    click.echo(str(path))


@click.command(name="_exited", hidden=True)
@click.argument("name")
@_run_root_option
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), envvar="BERTH_ROOT")
def exited(name: str, run_root: Path | None, root: Path | None) -> None:
    """conmon's exit command: record the exit, apply the restart policy (never fails loudly)."""
    try:
        _engine(root, run_root).on_exit(name)
    except Exception as exc:
        print(f"berth: {name}: exit handling failed: {exc}", file=sys.stderr)


COMMANDS = (
    start,
    stop,
    restart,
    kill,
    status,
    logs,
    exec_,
    health,
    metrics,
    port,
    run,
    install_service,
    exited,
)


def register(group: click.Group) -> None:
    for command in COMMANDS:
        group.add_command(command, name="exec" if command is exec_ else None)
