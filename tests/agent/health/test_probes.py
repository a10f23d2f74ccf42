"""Probe plans, one check, and the judgement of checks over time.

We test these aspects:
- plans: docker's defaults, docker's field-by-field merge with the image HEALTHCHECK (CMD,
  CMD-SHELL, NONE), ``disable``, readiness/startup never inheriting, Kubernetes timings kept;
- exec checks through a real exec function: exit codes, output clipped to 4096 bytes, timeouts;
- an HTTP server that accepts and never answers counts as a timeout, not a hang;
- HTTPS with a certificate nobody trusts passes (Kubernetes does not verify), headers are sent;
- the state machine: starting until a success, unhealthy after ``retries`` failures in a row,
  failures in the start period not counted but a success there counts, the start interval,
  success thresholds, the last five results kept.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from agent.oci.imageconfig import ImageHealthcheck
from agent.runtime import probes
from agent.runtime.probes import CheckResult, ExecCheck, HttpCheck, ProbePlan, ProbeTracker, TcpCheck
from tests.support import certs
from translators.spec.probes import Probe


def host_exec(argv: Sequence[str], timeout: float) -> tuple[int, str]:
    """An exec function as the runtime supplies one, here running on the host."""
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise TimeoutError from exc
    return done.returncode, done.stdout + done.stderr


# -- plans ---------------------------------------------------------------------------------------


def test_docker_defaults() -> None:
    plan = probes.plan("liveness", Probe.model_validate({"test": ["CMD", "true"]}))
    assert plan == ProbePlan("liveness", ExecCheck(("true",)), 30.0, 30.0, 0.0, 5.0, 3, 1)


def test_image_healthcheck_runs_when_the_spec_has_none() -> None:
    image = ImageHealthcheck(test=("CMD-SHELL", "wget -q -O- localhost || exit 1"), interval=7, retries=4)
    plan = probes.plan("liveness", None, image)
    assert plan is not None
    assert plan.check == ExecCheck(("/bin/sh", "-c", "wget -q -O- localhost || exit 1"))
    assert (plan.interval, plan.timeout, plan.retries) == (7, 30, 4)


def test_spec_timings_override_the_image_field_by_field() -> None:
    image = ImageHealthcheck(test=("CMD", "check"), interval=7, timeout=3, start_period=20, retries=4)
    plan = probes.plan("liveness", Probe.model_validate({"interval": "2s", "retries": 0}), image)
    assert plan is not None
    assert plan.check == ExecCheck(("check",))
    # retries 0 means "inherit" in docker's merge, like every zero timing
    assert (plan.interval, plan.timeout, plan.start_period, plan.retries) == (2, 3, 20, 4)


def test_none_and_disable_turn_checks_off() -> None:
    assert probes.plan("liveness", None, ImageHealthcheck(test=("NONE",))) is None
    assert probes.plan("liveness", None, None) is None
    assert (
        probes.plan("liveness", Probe.model_validate({"test": ["NONE"]}), ImageHealthcheck(("CMD", "x")))
        is None
    )
    assert probes.plan("liveness", Probe(disable=True), ImageHealthcheck(("CMD", "x"))) is None


def test_only_liveness_inherits() -> None:
    image = ImageHealthcheck(test=("CMD", "x"))
    assert probes.plan("readiness", None, image) is None
    assert probes.plan("startup", None, image) is None


def test_kubernetes_probe_keeps_its_timings() -> None:
    probe = Probe.model_validate(
        {
            "http_get": {"port": "8080", "path": "healthz"},
            "interval": 10,
            "timeout": 1,
            "retries": 3,
            "success_threshold": 2,
            "start_period": 15,
        }
    )
    plan = probes.plan("readiness", probe)
    assert plan == ProbePlan("readiness", HttpCheck(8080, "/healthz"), 10, 1, 15, 5, 3, 2)


def test_a_named_port_is_refused_with_its_probe() -> None:
    with pytest.raises(probes.ProbeError, match=r"startup: port 'http' is a name"):
        probes.plan("startup", Probe.model_validate({"tcp_socket": {"port": "http"}}))


def test_malformed_image_healthcheck() -> None:
    with pytest.raises(probes.ProbeError, match=r"image HEALTHCHECK \['CMD'\]"):
        probes.plan("liveness", None, ImageHealthcheck(test=("CMD",)))


# -- one check -----------------------------------------------------------------------------------


def test_exec_check_codes_and_output() -> None:
    ok = probes.run_check(ExecCheck(("sh", "-c", "echo fine")), 5, exec_fn=host_exec)
    assert (ok.exit_code, ok.output.strip()) == (0, "fine")
    bad = probes.run_check(ExecCheck(("sh", "-c", "echo broken >&2; exit 3")), 5, exec_fn=host_exec)
    assert (bad.exit_code, bad.output.strip()) == (3, "broken")
    assert not bad.ok
    big = probes.run_check(
        ExecCheck(("sh", "-c", "head -c 10000 /dev/zero | tr '\\0' x")), 5, exec_fn=host_exec
    )
    assert len(big.output) == probes.MAX_OUTPUT


def test_exec_timeout() -> None:
    began = time.monotonic()
    result = probes.run_check(ExecCheck(("sleep", "5")), 0.3, exec_fn=host_exec)
    assert time.monotonic() - began < 3
    assert result.exit_code == -1
    assert result.output == "Health check exceeded timeout (0.3s)"


def test_exec_without_an_exec_function() -> None:
    result = probes.run_check(ExecCheck(("true",)), 1)
    assert result.exit_code == -1
    assert "exec function" in result.output


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_http_timeout(silent_server: int) -> None:
    began = time.monotonic()
    result = probes.run_check(HttpCheck(port=silent_server), 0.3)
    assert time.monotonic() - began < 3
    assert result.exit_code == -1
    assert "exceeded timeout" in result.output
    assert probes.run_check(TcpCheck(port=silent_server), 1).exit_code == 0


def test_results_round_trip() -> None:
    result = probes.run_check(ExecCheck(("true",)), 1, exec_fn=host_exec)
    assert CheckResult.from_json(result.to_json()).exit_code == 0
    assert abs(CheckResult.from_json(result.to_json()).start - result.start) < 1e-5


# -- the state machine ---------------------------------------------------------------------------

OK = CheckResult(0, 0, 0, "ok")
FAIL = CheckResult(0, 0, 1, "failed")


def test_starting_then_healthy_then_unhealthy_after_retries() -> None:
    t = ProbeTracker(ProbePlan("liveness", ExecCheck(("x",)), interval=10, retries=3), started=100)
    assert t.status == "starting"
    assert t.next_due == 110  # docker's first check comes one interval after the start
    assert t.record(FAIL, 110) == "starting"  # no start period: counted, but below retries
    assert t.record(OK, 120) == "healthy"
    assert t.failing_streak == 0
    assert t.record(FAIL, 130) == "healthy"
    assert t.record(FAIL, 140) == "healthy"
    assert t.record(FAIL, 150) == "unhealthy"
    assert t.failing_streak == 3
    assert t.next_due == 160
    assert t.record(OK, 160) == "healthy"


def test_start_period_does_not_count_failures_but_counts_success() -> None:
    plan = ProbePlan("liveness", ExecCheck(("x",)), interval=30, start_period=20, start_interval=2, retries=1)
    t = ProbeTracker(plan, started=0)
    assert t.next_due == 2  # the start interval applies inside the start period
    for now in (2, 4, 6, 8):
        assert t.record(FAIL, now) == "starting"
        assert t.next_due == now + 2
    assert t.failing_streak == 0
    assert t.record(FAIL, 21) == "unhealthy"  # after the start period one failure (retries=1) counts
    t2 = ProbeTracker(plan, started=0)
    assert t2.record(OK, 2) == "healthy"
    assert t2.next_due == 32  # healthy leaves the start period: back to the interval
    assert t2.record(FAIL, 3) == "unhealthy"  # a success ended the start period: failures count


def test_success_threshold_and_readiness() -> None:
    plan = ProbePlan("readiness", TcpCheck(80), interval=1, retries=2, success_threshold=2)
    t = ProbeTracker(plan, started=0)
    assert t.record(OK, 1) == "starting"
    assert t.record(OK, 2) == "healthy"
    assert t.record(FAIL, 3) == "healthy"
    assert t.record(OK, 4) == "healthy"  # one success resets the failures
    assert t.record(FAIL, 5) == "healthy"
    assert t.record(FAIL, 6) == "unhealthy"
    assert t.record(OK, 7) == "unhealthy"
    assert t.record(OK, 8) == "healthy"


def test_last_five_results_kept() -> None:
    t = ProbeTracker(ProbePlan("liveness", ExecCheck(("x",)), interval=1), started=0)
    for i in range(8):
        t.record(CheckResult(i, i, 0, f"run {i}"), i)
    assert [r.output for r in t.log] == [f"run {i}" for i in range(3, 8)]
    assert t.to_json()["log"][-1]["output"] == "run 7"


@pytest.fixture
def https_server(tmp_path: Path) -> Iterator[int]:
    """An HTTPS server with a certificate from a CA nobody trusts, answering 204 on /ok."""
    _, ca_cert, ca_key = certs.make_ca(tmp_path)
    pair = certs.make_server_cert(tmp_path, ca_cert, ca_key)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            ok = self.path == "/ok" and self.headers.get("X-Probe") == "yes"
            self.send_response(204 if ok else 500)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return

    server = HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pair.cert, pair.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()
    thread.join()


def test_https_without_verification_and_headers(https_server: int) -> None:
    check = HttpCheck(port=https_server, path="/ok", scheme="https", headers=(("X-Probe", "yes"),))
    result = probes.run_check(check, 5)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("HTTP 204")
    assert probes.run_check(HttpCheck(port=https_server, path="/ok", scheme="https"), 5).output.startswith(
        "HTTP 500"
    )
    plain = probes.run_check(HttpCheck(port=https_server, path="/ok"), 5)
    assert plain.exit_code == 1
