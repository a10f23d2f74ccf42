"""A fault-injecting HTTP proxy in front of a real registry.

Requests pass through to the registry unchanged unless a ``Fault`` matches their path; a fault
applies to its first ``times`` matching requests, then the request passes again. Kinds:
``status`` (answer with a status and headers, e.g. 500 or 429 + Retry-After), ``truncate`` (send
the real headers, ``after`` bytes of the body, then close the connection), ``drop`` (close without
answering), ``corrupt`` (flip the last byte), ``extend`` (append a byte), ``ignore_range``
(forward without the Range header, so the answer is 200 with the whole body), ``delay`` (wait,
then forward) and ``huge`` (answer with a status, headers and a body of ``after`` spaces, made
up as it is sent; ``huge_sent`` records how many bytes got out before the client hung up, which
shows whether the client read the body whole). Every request is logged with its Range header
and the status sent back.
"""

from __future__ import annotations

import contextlib
import http.client
import http.server
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass
class Fault:
    """Misbehave on requests whose path contains ``path``."""

    path: str
    kind: str
    times: int = 1
    status: int = 500
    headers: dict[str, str] = field(default_factory=dict)
    after: int = 0
    delay: float = 0.0
    """Seconds to wait before answering (kind ``delay``), to observe concurrent requests."""


@dataclass(frozen=True)
class Logged:
    method: str
    path: str
    range: str | None
    status: int
    fault: str


_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection"}


class _Handler(http.server.BaseHTTPRequestHandler):
    proxy: FaultProxy

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def _handle(self) -> None:
        fault = self.proxy.take(self.path)
        kind = fault.kind if fault else ""
        with self.proxy.counting():
            self._answer(fault, kind)

    def _answer(self, fault: Fault | None, kind: str) -> None:
        if fault is not None and kind == "delay":
            time.sleep(fault.delay)
        if fault is not None and kind == "status":
            body = b'{"errors":[{"code":"INJECTED","message":"injected by the test proxy"}]}'
            self._send(fault.status, dict(fault.headers), body, kind)
            return
        if fault is not None and kind == "huge":
            self._send_huge(fault)
            return
        if kind == "drop":
            self.proxy.log.append(Logged(self.command, self.path, self.headers.get("Range"), 0, kind))
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP and k.lower() != "host"}
        if kind == "ignore_range":
            headers.pop("Range", None)
        upstream = http.client.HTTPConnection(self.proxy.upstream, timeout=30)
        try:
            upstream.request(self.command, self.path, headers=headers)
            resp = upstream.getresponse()
            body = resp.read()
            reply = {k: v for k, v in resp.getheaders() if k.lower() not in _HOP}
            status = resp.status
        finally:
            upstream.close()
        if kind == "corrupt" and body:
            body = body[:-1] + bytes([body[-1] ^ 0xFF])
        if kind == "extend":
            body += b"\0"
        if kind == "truncate":
            self.proxy.log.append(Logged(self.command, self.path, self.headers.get("Range"), status, kind))
            self.send_response(status)
            for key, value in reply.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: fault.after if fault else 0])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._send(status, reply, body, kind)

    def _send_huge(self, fault: Fault) -> None:
        self.proxy.log.append(
            Logged(self.command, self.path, self.headers.get("Range"), fault.status, "huge")
        )
        self.send_response(fault.status)
        for key, value in fault.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(fault.after))
        self.end_headers()
        chunk = b" " * (1 << 20)
        sent = 0
        try:
            while sent < fault.after:
                piece = chunk[: fault.after - sent]
                self.wfile.write(piece)
                sent += len(piece)
            self.wfile.flush()
        except OSError:  # the client hung up: what it took is what was sent before
            self.close_connection = True
        self.proxy.huge_sent.append(sent)

    def _send(self, status: int, headers: dict[str, str], body: bytes, kind: str) -> None:
        self.proxy.log.append(Logged(self.command, self.path, self.headers.get("Range"), status, kind))
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class FaultProxy:
    """Listens on 127.0.0.1 (a free port) and forwards to ``upstream`` (``host:port``)."""

    def __init__(self, upstream: str, faults: list[Fault] | None = None) -> None:
        self.upstream = upstream
        self.faults = list(faults or [])
        self.log: list[Logged] = []
        self.huge_sent: list[int] = []
        """Bytes of each ``huge`` body that the client accepted, in order of completion."""
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"proxy": self})
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    @contextlib.contextmanager
    def counting(self) -> Iterator[None]:
        """Track requests in flight; ``max_in_flight`` shows whether a client overlapped them."""
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            yield
        finally:
            with self._lock:
                self.in_flight -= 1

    def take(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.path in path and fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    def requests_for(self, path: str) -> list[Logged]:
        return [entry for entry in self.log if path in entry.path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
