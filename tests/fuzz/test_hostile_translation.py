"""Hostile translator input through ``berth translate``: a validation error at its path, never a crash.

We test these aspects, one input per class of the attack report (issue 11):
- a 254-character project name is an error at ``name`` (a pydantic error escaped);
- a wrongly typed top-level key (``services: 1``) and service key (``profiles: 1``) are schema
  errors at their path, and nothing is built from them;
- an integer of 5,000 digits is refused at its line (Python would stop at 4,300 with ValueError);
- durations beyond Go's range and non-finite ones are errors at their path; sizes past 8 EiB too;
- 500 nested ``${A:-...}`` defaults stop at 50 levels with an error;
- YAML: a "billion laughs" is refused in under a second and 100 MB (a subprocess, measured),
  a recursive anchor and a 3,000-deep document are refused at their line;
- an exception that is not Berth's own prints one ``internal error ... please report`` line, exit 1.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from agent.cli.main import cli
from tests.support.fuzzing import laughs

ROOT = Path(__file__).resolve().parents[2]

CASES = {
    "services-int": ("services: 1\n", "input.yaml:1: services: must be a mapping"),
    "profiles-int": (
        "services:\n  web:\n    image: x\n    profiles: 1\n",
        "services.web.profiles: must be an array",
    ),
    "big-int": (
        "services:\n  web:\n    image: x\n    cpu_shares: " + "9" * 5000 + "\n",
        "input.yaml:4: malformed YAML: integer of 5000 digits is out of range (64 bits)",
    ),
    "k8s-big-int": (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: x\n"
        "    ports:\n    - containerPort: " + "9" * 5000 + "\n",
        "input.yaml:9: malformed YAML: integer of 5000 digits is out of range",
    ),
    "duration-range": (
        "services:\n  web:\n    image: x\n    healthcheck:\n      interval: 99999999999999999999h\n",
        "services.web.healthcheck.interval: a duration must be at most 9223372037s (about 292 years)",
    ),
    "duration-infinite": (
        "services:\n  web:\n    image: x\n    stop_grace_period: 1e400s\n",
        "services.web.stop_grace_period: expected seconds as a number, or a duration",
    ),
    "size-range": (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    image: x\n"
        "    resources: {limits: {memory: 99999999999999999999Ei}}\n",
        "resources.limits.memory: a size must be at most 9223372036854775807 bytes (8 EiB)",
    ),
    "interpolation-depth": (
        'services:\n  web:\n    image: "' + "${A:-" * 500 + "x" + "}" * 500 + '"\n',
        "services.web.image: variables nested more than 50 levels deep",
    ),
    "project-name": (
        "name: " + "a" * 254 + "\nservices: {}\n",
        "input.yaml:1: name: string should match pattern '^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$'",
    ),
    "recursive-anchor": (
        "a: &a [*a]\n",
        "input.yaml:1: malformed YAML: an alias refers to a node that contains it",
    ),
    "deep-yaml": (
        "services:\n  web:\n    image: x\n    x-deep: " + "[" * 3000 + "]" * 3000 + "\n",
        "input.yaml:4: malformed YAML:",
    ),
    "laughs": (laughs(9, 9), "malformed YAML: aliases expand the document from"),
}


@pytest.mark.parametrize(("text", "message"), list(CASES.values()), ids=list(CASES))
def test_hostile_input_is_a_validation_error(text: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "input.yaml"
    path.write_text(text)
    result = CliRunner().invoke(cli, ["translate", "-f", str(path)], catch_exceptions=False)
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and result.stderr.count("\n") == 1, result.stderr
    assert message in errors[0], errors[0]
    assert "Traceback" not in result.output


def test_billion_laughs_is_refused_in_under_a_second_and_100_mb(tmp_path: Path) -> None:
    """10^9 leaves from a few hundred bytes: refused before anything is built (a fresh process)."""
    path = tmp_path / "laughs.yaml"
    path.write_text(laughs(10, 9))
    assert len(path.read_bytes()) < 700
    code = (
        "import sys, time\n"
        "from translators import dispatch\n"
        "from translators.errors import InvalidSpec\n"
        "t = time.perf_counter()\n"
        "try:\n"
        "    dispatch.translate([dispatch.InputFile(sys.argv[1])])\n"
        "except InvalidSpec as exc:\n"
        "    print(exc)\n"
        # VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec, so it would count the parent
        "hwm = [x for x in open('/proc/self/status') if x.startswith('VmHWM:')][0].split()[1]\n"
        "print(time.perf_counter() - t, hwm)\n"
    )
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=60,
    )
    wall = time.monotonic() - started
    message, figures = done.stdout.strip().splitlines()
    seconds, peak_kb = figures.split()
    assert "aliases expand the document" in message
    assert float(seconds) < 1.0
    assert int(peak_kb) < 100 * 1024, peak_kb  # the whole process, interpreter and imports included
    assert wall < 10


def test_anything_else_is_one_internal_error_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A bug in a translator (here: one planted in dispatch) is one line asking for a report."""
    from translators import dispatch

    def broken(*args: object, **kwargs: object) -> None:
        raise RecursionError("maximum recursion depth exceeded\nwhile doing something")

    monkeypatch.setattr(dispatch, "translate", broken)
    path = tmp_path / "c.yaml"
    path.write_text("services: {web: {image: x}}\n")
    result = CliRunner().invoke(cli, ["translate", "-f", str(path)], catch_exceptions=False)
    assert result.exit_code == 1
    assert result.stderr == (
        "error: internal error in the translator: RecursionError: maximum recursion depth exceeded "
        "(a bug in Berth: please report it, with the input that caused it)\n"
    )
