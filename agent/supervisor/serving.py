"""``/metrics`` (Prometheus text) and ``/healthz`` on a local port, in a background thread.

The server binds 127.0.0.1 by default: container metrics name workloads and are not for the
network unless the operator says so. ``/healthz`` answers 200 while the supervisor's scheduler
is alive and looking at its work, 503 otherwise (systemd or a watchdog can restart the agent).
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry

from agent.runtime.errors import RuntimeFailure
from agent.supervisor.supervising import Supervisor

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9464
"""Configurable (``--metrics-port``); 9464 is what the OpenTelemetry Prometheus exporter uses."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    supervisor: Supervisor
    registry: CollectorRegistry


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "berth-agent"

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._answer(200, generate_latest(self.server.registry), CONTENT_TYPE_LATEST)
        elif path == "/healthz":
            if self.server.supervisor.alive():
                self._answer(200, b"ok\n")
            else:
                self._answer(503, b"supervisor loop stalled\n")
        else:
            self._answer(404, b"not found: try /metrics or /healthz\n")

    def _answer(self, code: int, body: bytes, kind: str = "text/plain; charset=utf-8") -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        return  # scrapes every few seconds would drown the journal


class MetricsServer:
    """The HTTP endpoint; ``port`` 0 picks a free one (see :attr:`port`)."""

    def __init__(
        self,
        supervisor: Supervisor,
        registry: CollectorRegistry,
        *,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
    ) -> None:
        try:
            self._server = _Server((host, port), _Handler)
        except OSError as exc:
            raise RuntimeFailure(
                f"cannot serve metrics on {host}:{port}: {exc.strerror or exc} (choose another port)"
            ) from exc
        self._server.supervisor = supervisor
        self._server.registry = registry
        self._thread = threading.Thread(target=self._server.serve_forever, name="berth-metrics", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
