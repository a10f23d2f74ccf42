"""``berth agent`` without a kubeconfig: supervise until SIGTERM or SIGINT.

:func:`run` is what the CLI calls. It tells systemd READY=1 once probes and the metrics endpoint
run (``berth-agent.service`` is ``Type=notify``) and STOPPING=1 on the way out; outside systemd
those are no-ops.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType

from agent.runtime import notifying
from agent.supervisor.exporting import registry_for
from agent.supervisor.serving import DEFAULT_HOST, DEFAULT_PORT, MetricsServer
from agent.supervisor.supervising import DEFAULT_REFRESH, DEFAULT_WORKERS, Supervisor
from agent.supervisor.targets import TargetSource


def run(
    source: TargetSource,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    refresh: float = DEFAULT_REFRESH,
    workers: int = DEFAULT_WORKERS,
    stop: threading.Event | None = None,
    on_ready: Callable[[int], None] | None = None,
) -> int:
    """Supervise the source's containers until SIGTERM/SIGINT (or ``stop`` is set); returns 0.

    ``on_ready`` gets the metrics port once serving (the CLI prints it when ``port`` is 0).
    Must run in the main thread when ``stop`` is None (signal handlers live there).
    """
    stop = stop or threading.Event()
    supervisor = Supervisor(source, refresh=refresh, workers=workers)
    server = MetricsServer(supervisor, registry_for(supervisor), host=host, port=port)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, on_signal)
    try:
        supervisor.start()
        server.start()
        notifying.ready(status=f"supervising; metrics on {host}:{server.port}")
        if on_ready is not None:
            on_ready(server.port)
        stop.wait()
        notifying.stopping()
    finally:
        server.stop()
        supervisor.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0
