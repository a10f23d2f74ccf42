"""Health probes: what one check is, running it once, and judging a series of checks over time.

A spec :class:`~translators.spec.probes.Probe` (compose ``healthcheck``, Kubernetes liveness,
readiness and startup probes) is first resolved into a :class:`ProbePlan`: the action (exec, HTTP
GET, TCP connect) and every timing filled in. A compose healthcheck without an action inherits the
image's HEALTHCHECK field by field, as docker merges them (``daemon/commit.go``); nulls take
docker's defaults (every 30 s, 30 s timeout, 3 retries, 5 s start interval).

:func:`run_check` runs one check. HTTP and TCP checks connect from the host inside the
container's network namespace (:mod:`agent.network.netns`); exec checks call the runtime's exec
function, so this module never starts processes itself.

:class:`ProbeTracker` is docker's state machine (``container/health.go``) with Kubernetes'
success threshold: ``starting`` until the first success, ``unhealthy`` after ``retries``
consecutive failures, failures during the start period not counted, the last five results kept.
It takes the time as an argument, so schedules are tested without sleeping.
"""

from __future__ import annotations

import calendar
import http.client
import socket
import ssl
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from agent.network.netns import NetworkNamespace
from agent.oci.imageconfig import ImageHealthcheck
from translators.errors import BerthError
from translators.spec.probes import SHELL, Probe

Kind = Literal["liveness", "readiness", "startup"]
Status = Literal["starting", "healthy", "unhealthy"]

DEFAULT_INTERVAL = 30.0
DEFAULT_TIMEOUT = 30.0
DEFAULT_START_INTERVAL = 5.0
DEFAULT_RETRIES = 3
KEEP_RESULTS = 5
"""Results kept per probe, as docker keeps five in ``State.Health.Log``."""
MAX_OUTPUT = 4096
"""Bytes of output kept per result (docker's ``maxOutputLen``)."""
MAX_BODY = 10 * 1024
"""Bytes of an HTTP answer read (the kubelet reads 10 KiB)."""
DEFAULT_HOST = "127.0.0.1"
"""Where HTTP and TCP checks connect when the probe names no host: the container's loopback,
reached inside its network namespace (so a server bound to 127.0.0.1 only is reached too)."""

EXIT_HEALTHY = 0
EXIT_UNHEALTHY = 1
EXIT_ERROR = -1
"""Docker's exit code for a check that could not run or exceeded its timeout."""

ExecFunction = Callable[[Sequence[str], float], tuple[int, str]]
"""``exec(argv, timeout) -> (exit code, output)`` inside the container, supplied by the runtime.
It must give up after ``timeout`` seconds by raising :class:`TimeoutError`."""


@dataclass(frozen=True)
class ExecCheck:
    """Run a command in the container; healthy when it exits 0."""

    argv: tuple[str, ...]

    def describe(self) -> str:
        return "exec " + " ".join(self.argv)


@dataclass(frozen=True)
class HttpCheck:
    """GET a URL from inside the container's network namespace; healthy on 200-399."""

    port: int
    path: str = "/"
    host: str = DEFAULT_HOST
    scheme: Literal["http", "https"] = "http"
    headers: tuple[tuple[str, str], ...] = ()

    def describe(self) -> str:
        return f"http-get {self.scheme}://{self.host}:{self.port}{self.path}"


@dataclass(frozen=True)
class TcpCheck:
    """Open a TCP connection from inside the container's network namespace."""

    port: int
    host: str = DEFAULT_HOST

    def describe(self) -> str:
        return f"tcp-socket {self.host}:{self.port}"


Check = ExecCheck | HttpCheck | TcpCheck


class ProbeError(BerthError):
    """A probe cannot be planned (a port that is not a number, a malformed image HEALTHCHECK)."""


@dataclass(frozen=True)
class ProbePlan:
    """One probe with everything decided: what to check and on which schedule."""

    kind: Kind
    check: Check
    interval: float = DEFAULT_INTERVAL
    timeout: float = DEFAULT_TIMEOUT
    start_period: float = 0.0
    start_interval: float = DEFAULT_START_INTERVAL
    retries: int = DEFAULT_RETRIES
    """Consecutive failures before unhealthy (Kubernetes failureThreshold)."""
    success_threshold: int = 1
    """Consecutive successes before healthy (Kubernetes successThreshold)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "check": self.check.describe(),
            "interval": self.interval,
            "timeout": self.timeout,
            "start_period": self.start_period,
            "start_interval": self.start_interval,
            "retries": self.retries,
            "success_threshold": self.success_threshold,
        }


def _port(value: int | str, where: str) -> int:
    if isinstance(value, int):
        return value
    if value.isdigit():
        return int(value)
    raise ProbeError(f"{where}: port {value!r} is a name; the translator resolves named ports, give a number")


def _check_of(probe: Probe, where: str) -> Check | None:
    if probe.exec is not None:
        return ExecCheck(tuple(probe.exec))
    if probe.http_get is not None:
        get = probe.http_get
        return HttpCheck(
            port=_port(get.port, where),
            path=get.path if get.path.startswith("/") else "/" + get.path,
            host=get.host or DEFAULT_HOST,
            scheme=get.scheme,
            headers=tuple(get.headers.items()),
        )
    if probe.tcp_socket is not None:
        return TcpCheck(port=_port(probe.tcp_socket.port, where), host=probe.tcp_socket.host or DEFAULT_HOST)
    return None


def image_check(test: Sequence[str]) -> ExecCheck | None:
    """The command of an image HEALTHCHECK: ``CMD`` runs as is, ``CMD-SHELL`` under ``/bin/sh -c``
    (docker uses the image's SHELL, which the stored image config does not keep), ``NONE`` is none."""
    if not test or test[0] == "NONE":
        return None
    head, rest = test[0], list(test[1:])
    if head == "CMD" and rest:
        return ExecCheck(tuple(rest))
    if head == "CMD-SHELL" and rest:
        return ExecCheck((*SHELL, " ".join(rest)))
    raise ProbeError(f"image HEALTHCHECK {list(test)!r}: expected CMD, CMD-SHELL or NONE with a command")


def _first(*values: float | int | None) -> Any:
    """Docker's merge: the first value that is set and not zero (zero means 'inherit')."""
    for value in values:
        if value:
            return value
    return None


def plan(kind: Kind, probe: Probe | None, image: ImageHealthcheck | None = None) -> ProbePlan | None:
    """The probe to run for ``kind``, or None. Only liveness inherits from the image's HEALTHCHECK:
    no spec healthcheck runs the image's as is, one without an action replaces its timings."""
    inherited = image if kind == "liveness" else None
    if probe is not None and probe.disable:
        return None
    check: Check | None = None
    if probe is not None:
        check = _check_of(probe, kind)
    if check is None and inherited is not None:
        check = image_check(inherited.test)
    if check is None:
        return None
    own: dict[str, Any] = probe.model_dump() if probe is not None else {}
    img = inherited or ImageHealthcheck()
    interval = _first(own.get("interval"), img.interval) or DEFAULT_INTERVAL
    timeout = _first(own.get("timeout"), img.timeout) or DEFAULT_TIMEOUT
    return ProbePlan(
        kind=kind,
        check=check,
        interval=float(interval),
        timeout=float(timeout),
        start_period=float(_first(own.get("start_period"), img.start_period) or 0.0),
        start_interval=float(own.get("start_interval") or DEFAULT_START_INTERVAL),
        retries=int(_first(own.get("retries"), img.retries) or DEFAULT_RETRIES),
        success_threshold=int(own.get("success_threshold") or 1),
    )


@dataclass(frozen=True)
class CheckResult:
    """One check: docker's ``State.Health.Log`` entry (times are seconds since the epoch)."""

    start: float
    end: float
    exit_code: int
    output: str

    @property
    def ok(self) -> bool:
        return self.exit_code == EXIT_HEALTHY

    def to_json(self) -> dict[str, Any]:
        return {
            "start": _iso(self.start),
            "end": _iso(self.end),
            "exit_code": self.exit_code,
            "output": self.output,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CheckResult:
        return cls(_epoch(data["start"]), _epoch(data["end"]), int(data["exit_code"]), str(data["output"]))


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch % 1 * 1e6):06d}Z"


def _epoch(text: str) -> float:
    whole, _, frac = text.rstrip("Z").partition(".")
    return calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S")) + (float("0." + frac) if frac else 0.0)


def _clip(text: str) -> str:
    data = text.encode(errors="replace")
    return data[:MAX_OUTPUT].decode(errors="replace") if len(data) > MAX_OUTPUT else text


def _connect(check: HttpCheck | TcpCheck, netns: NetworkNamespace | None, timeout: float) -> socket.socket:
    family, kind, _, _, address = socket.getaddrinfo(check.host, check.port, type=socket.SOCK_STREAM)[0]
    sock = netns.socket(family, kind) if netns is not None else socket.socket(family, kind)
    try:
        sock.settimeout(timeout)
        sock.connect(address)
    except BaseException:
        sock.close()
        raise
    return sock


class _Connection(http.client.HTTPConnection):
    """An HTTP connection over a socket opened by :func:`_connect` (inside the namespace)."""

    def __init__(self, check: HttpCheck, netns: NetworkNamespace | None, timeout: float) -> None:
        super().__init__(check.host, check.port, timeout=timeout)
        self._check, self._netns = check, netns

    def connect(self) -> None:
        self.sock = _connect(self._check, self._netns, self.timeout or DEFAULT_TIMEOUT)


class _TlsConnection(_Connection):
    def connect(self) -> None:
        super().connect()
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # Kubernetes does not verify probe certificates either
        self.sock = context.wrap_socket(self.sock, server_hostname=self._check.host)


def _http(check: HttpCheck, netns: NetworkNamespace | None, timeout: float) -> tuple[int, str]:
    cls = _TlsConnection if check.scheme == "https" else _Connection
    conn = cls(check, netns, timeout)
    try:
        headers = {"User-Agent": "berth-probe/1", "Accept": "*/*", **dict(check.headers)}
        conn.request("GET", check.path, headers=headers)
        answer = conn.getresponse()
        body = answer.read(MAX_BODY).decode(errors="replace")
    finally:
        conn.close()
    code = EXIT_HEALTHY if 200 <= answer.status < 400 else EXIT_UNHEALTHY
    return code, f"HTTP {answer.status} {answer.reason}\n{body}".rstrip("\n")


def _tcp(check: TcpCheck, netns: NetworkNamespace | None, timeout: float) -> tuple[int, str]:
    _connect(check, netns, timeout).close()
    return EXIT_HEALTHY, f"connected to {check.host}:{check.port}"


def run_check(
    check: Check,
    timeout: float,
    *,
    netns: NetworkNamespace | None = None,
    exec_fn: ExecFunction | None = None,
) -> CheckResult:
    """Run one check and say how it went; never raises for the container's faults.

    ``netns`` None connects from the host's own namespace (``network_mode: host``).
    """
    start = time.time()
    began = time.monotonic()
    try:
        if isinstance(check, ExecCheck):
            if exec_fn is None:
                raise ProbeError("exec checks need the runtime's exec function")
            code, output = exec_fn(list(check.argv), timeout)
        elif isinstance(check, HttpCheck):
            code, output = _http(check, netns, timeout)
        else:
            code, output = _tcp(check, netns, timeout)
        if time.monotonic() - began > timeout:
            raise TimeoutError
    except TimeoutError:
        code, output = EXIT_ERROR, f"Health check exceeded timeout ({timeout:g}s)"
    except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
        reason = (
            exc.strerror if isinstance(exc, OSError) and exc.strerror else (str(exc) or type(exc).__name__)
        )
        code, output = EXIT_UNHEALTHY, f"{check.describe()}: {reason}"
    except BerthError as exc:
        code, output = EXIT_ERROR, str(exc)
    return CheckResult(start, time.time(), code, _clip(output))


@dataclass
class ProbeTracker:
    """The judgement of one probe over time (docker's health monitor, plus success thresholds).

    ``started`` is the container's start on the monotonic clock; every method takes ``now`` on
    the same clock.
    """

    plan: ProbePlan
    started: float
    status: Status = "starting"
    failing_streak: int = 0
    success_streak: int = 0
    checks: int = 0
    log: deque[CheckResult] = field(default_factory=lambda: deque(maxlen=KEEP_RESULTS))
    next_due: float = 0.0

    def __post_init__(self) -> None:
        self.next_due = self.started + self._interval(self.started)

    def in_start_period(self, now: float) -> bool:
        return self.status == "starting" and now < self.started + self.plan.start_period

    def _interval(self, now: float) -> float:
        """Docker probes every ``start_interval`` while in the start period, else every ``interval``."""
        if self.plan.start_period > 0 and self.in_start_period(now):
            return min(self.plan.start_interval, self.plan.interval)
        return self.plan.interval

    @property
    def finished(self) -> bool:
        """A startup probe stops once it has passed (Kubernetes)."""
        return self.plan.kind == "startup" and self.status == "healthy"

    def record(self, result: CheckResult, now: float) -> Status:
        """Take one result; returns the new status and schedules the next check."""
        self.checks += 1
        self.log.append(result)
        if result.ok:
            self.failing_streak = 0
            self.success_streak += 1
            if self.success_streak >= self.plan.success_threshold:
                self.status = "healthy"
        else:
            self.success_streak = 0
            if not self.in_start_period(now):
                self.failing_streak += 1
                if self.failing_streak >= self.plan.retries:
                    self.status = "unhealthy"
        self.next_due = now + self._interval(now)
        return self.status

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "failing_streak": self.failing_streak,
            "checks": self.checks,
            "plan": self.plan.to_json(),
            "log": [r.to_json() for r in self.log],
        }
